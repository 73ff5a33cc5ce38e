import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { KUSTOMIZE_ROOT } from './render';

export interface GeneratedSecret {
  metadata: { name: string; namespace: string };
  stringData: Record<string, string>;
}

/**
 * The Secrets scripts/create-secrets.mjs generates for a namespace (what operators apply), given
 * the names of those the namespace already has (as `kubectl get secrets -o json` lists them).
 */
export function generatedSecrets(namespace: string, extra: string[] = [], existing: string[] = []): Map<string, Record<string, string>> {
  const output = execFileSync(process.execPath, [path.join(KUSTOMIZE_ROOT, 'scripts/create-secrets.mjs'), '--namespace', namespace, '--existing', '-', ...extra], {
    encoding: 'utf8',
    input: JSON.stringify({ kind: 'List', items: existing.map((name) => ({ kind: 'Secret', metadata: { name } })) }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const list = JSON.parse(output) as { kind: string; items: GeneratedSecret[] };
  if (list.kind !== 'List') throw new Error('create-secrets.mjs did not print a List');
  return new Map(list.items.map((s) => [s.metadata.name, s.stringData]));
}
