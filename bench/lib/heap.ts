import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

/**
 * The NODE_OPTIONS a service's container runs with in Kubernetes (the heap bound sized for its
 * memory limit; kustomize/base/<service>.yaml, rule node-heap-bound in kustomize/tests/rules.ts),
 * read from the base of the tree `root`, so the bench's production stack runs each process as
 * its container does. Null when that tree sets none (a baseline from before the bound).
 */
export function containerNodeOptions(root: string, service: string): string | null {
  const file = path.join(root, 'kustomize', 'base', `${service}.yaml`);
  if (!existsSync(file)) return null;
  for (const document of parseAllDocuments(readFileSync(file, 'utf8'))) {
    const object = document.toJSON() as { kind?: string; spec?: { template?: { spec?: { containers?: ContainerSpec[] } } } } | null;
    if (object?.kind !== 'Deployment') continue;
    const container = object.spec?.template?.spec?.containers?.find((c) => c.name === service);
    const value = container?.env?.find((e) => e.name === 'NODE_OPTIONS')?.value;
    if (value) return value;
  }
  return null;
}

/**
 * The glibc malloc tuning the image sets for every process (`ENV MALLOC_ARENA_MAX` in the
 * Dockerfile's runtime stage), so the bench's processes allocate native memory as the
 * containers do. Empty when that tree's image sets none (a baseline from before it).
 */
export function imageMallocEnv(root: string): Record<string, string> {
  const file = path.join(root, 'Dockerfile');
  if (!existsSync(file)) return {};
  const match = /\bMALLOC_ARENA_MAX=(\d+)/.exec(readFileSync(file, 'utf8'));
  return match ? { MALLOC_ARENA_MAX: match[1] } : {};
}

interface ContainerSpec {
  name: string;
  env?: { name: string; value?: string }[];
}
