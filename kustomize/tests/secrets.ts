import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { KUSTOMIZE_ROOT } from './render';

export interface GeneratedSecret {
  metadata: { name: string; namespace: string };
  stringData: Record<string, string>;
}

/** The Secrets scripts/create-secrets.mjs generates for a namespace (what operators apply). */
export function generatedSecrets(namespace: string, extra: string[] = []): Map<string, Record<string, string>> {
  const output = execFileSync(process.execPath, [path.join(KUSTOMIZE_ROOT, 'scripts/create-secrets.mjs'), '--namespace', namespace, ...extra], {
    encoding: 'utf8',
  });
  const list = JSON.parse(output) as { kind: string; items: GeneratedSecret[] };
  if (list.kind !== 'List') throw new Error('create-secrets.mjs did not print a List');
  return new Map(list.items.map((s) => [s.metadata.name, s.stringData]));
}
