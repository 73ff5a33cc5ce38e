/**
 * Keeps the repository's copy of the storefront contract (`contract/`) equal to its master
 * copy, `../shared/contract` beside the repository (or SHARED_CONTRACT_DIR), when that exists.
 * A clone on its own has no master beside it and simply uses its copy.
 *
 *   npm run sync-contract            copy the master into contract/ (files it lacks are removed)
 *   npm run sync-contract -- --check exit 1 naming every file that differs
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CONTRACT_DIR } from '../subgraphs/kit/src/testing/contract';

export const ROOT = path.resolve(__dirname, '..');
export const MASTER_CONTRACT_DIR = process.env.SHARED_CONTRACT_DIR ?? path.resolve(ROOT, '..', 'shared', 'contract');

const filesOf = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => !f.startsWith('.')).sort() : []);

/** Files that differ between the master and the copy (missing on either side, or other bytes); null without a master. */
export function contractDrift(master = MASTER_CONTRACT_DIR, copy = CONTRACT_DIR): string[] | null {
  if (!existsSync(master)) return null;
  const names = [...new Set([...filesOf(master), ...filesOf(copy)])].sort();
  return names.filter((name) => {
    const a = path.join(master, name);
    const b = path.join(copy, name);
    return !existsSync(a) || !existsSync(b) || !readFileSync(a).equals(readFileSync(b));
  });
}

function main() {
  const drift = contractDrift();
  if (drift === null) {
    console.log(`no master contract at ${MASTER_CONTRACT_DIR}; contract/ stands as it is`);
    return;
  }
  if (process.argv.includes('--check')) {
    if (drift.length > 0) {
      console.error(`contract/ differs from ${MASTER_CONTRACT_DIR}: ${drift.join(', ')} — run npm run sync-contract`);
      process.exit(1);
    }
    console.log('contract/ matches the master copy');
    return;
  }
  for (const name of drift) {
    const source = path.join(MASTER_CONTRACT_DIR, name);
    const target = path.join(CONTRACT_DIR, name);
    if (existsSync(source)) writeFileSync(target, readFileSync(source));
    else rmSync(target);
    console.log(`${existsSync(source) ? 'updated' : 'removed'} contract/${name}`);
  }
  if (drift.length === 0) console.log('contract/ already matches the master copy');
  else console.log('now run npm run compose: the playground examples and the trusted-documents manifest follow the contract');
}

if (require.main === module) main();
