/** Regenerates gateway/src/cache-hints.generated.ts from the subgraphs' SDL: `npx tsx gateway/scripts/cache-hints.ts`. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { subgraphSdls } from '../../scripts/compose';
import { cacheHintsSource, extractCacheHints } from '../src/cache-policy';

writeFileSync(
  path.join(__dirname, '..', 'src', 'cache-hints.generated.ts'),
  cacheHintsSource(extractCacheHints(subgraphSdls().map((s) => s.typeDefs))),
);
