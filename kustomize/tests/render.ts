import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

/** Helpers shared by the manifest tests: render an overlay once, then look things up in it. */
export const KUSTOMIZE_ROOT = path.resolve(__dirname, '..');
export const REPO_ROOT = path.resolve(KUSTOMIZE_ROOT, '..');
export const OVERLAYS = ['dev', 'staging', 'production'] as const;
export type Overlay = (typeof OVERLAYS)[number];

export const SERVICES = ['gateway', 'users', 'products', 'inventory', 'orders', 'payments'] as const;
export type ServiceName = (typeof SERVICES)[number];
export const SUBGRAPHS = SERVICES.filter((s) => s !== 'gateway');
export const SERVICE_PORTS: Record<ServiceName, number> = {
  gateway: 4000,
  users: 4001,
  products: 4002,
  inventory: 4003,
  orders: 4004,
  payments: 4005,
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; [key: string]: any };

const cache = new Map<string, K8sObject[]>();

/** `kubectl kustomize <dir>` (KUSTOMIZE_CMD may name another binary, e.g. `kustomize build`). */
export function renderDir(dir: string): K8sObject[] {
  const absolute = path.resolve(KUSTOMIZE_ROOT, dir);
  const cached = cache.get(absolute);
  if (cached) return cached;
  const supergraph = path.join(KUSTOMIZE_ROOT, 'base/gateway/supergraph.graphql');
  if (!existsSync(supergraph))
    throw new Error(`${supergraph} is missing: run \`npm run compose\` (it writes the copy the base reads)`);
  const [command, ...args] = (process.env.KUSTOMIZE_CMD ?? 'kubectl kustomize').split(' ');
  const output = execFileSync(command, [...args, absolute], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const objects = parseAllDocuments(output)
    .map((document) => {
      if (document.errors.length > 0) throw new Error(`rendered YAML of ${dir} does not parse: ${document.errors[0].message}`);
      return document.toJSON() as K8sObject;
    })
    .filter((object) => object !== null);
  cache.set(absolute, objects);
  return objects;
}

/** What the deployer applies: `kubectl apply -k overlays/<overlay>`. */
export const renderOverlay = (overlay: Overlay) => renderDir(`overlays/${overlay}`);
/** What a cluster admin applies once: the namespace, its guard rails and RBAC (overlays/<overlay>/admin). */
export const renderAdmin = (overlay: Overlay) => renderDir(`overlays/${overlay}/admin`);
/** The whole environment, as it stands in the cluster. */
export const renderEnvironment = (overlay: Overlay) => [...renderAdmin(overlay), ...renderOverlay(overlay)];

/** Kinds a cluster admin owns (overlays/<env>/admin); the deployer may not change them. */
export const ADMIN_KINDS = ['Namespace', 'ResourceQuota', 'LimitRange', 'Role', 'RoleBinding'];

export function readYamlFile(file: string): unknown[] {
  return parseAllDocuments(readFileSync(path.resolve(KUSTOMIZE_ROOT, file), 'utf8')).map((d) => d.toJSON());
}

export const ofKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind}/${name} in the rendered output`);
  return found;
}

/** Every workload that runs pods, with its pod template. */
export interface Workload {
  object: K8sObject;
  id: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  template: { metadata?: { labels?: Record<string, string> }; spec: any };
}
export function workloads(objects: K8sObject[]): Workload[] {
  const result: Workload[] = [];
  for (const object of objects) {
    const id = `${object.kind}/${object.metadata.name}`;
    if (['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'].includes(object.kind))
      result.push({ object, id, template: object.spec.template });
    else if (object.kind === 'CronJob') result.push({ object, id, template: object.spec.jobTemplate.spec.template });
    else if (object.kind === 'Pod') result.push({ object, id, template: { metadata: object.metadata, spec: object.spec } });
  }
  return result;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function allContainers(spec: any): { container: any; init: boolean }[] {
  return [
    ...(spec.initContainers ?? []).map((container: unknown) => ({ container, init: true })),
    ...(spec.containers ?? []).map((container: unknown) => ({ container, init: false })),
  ];
}

/** The platform service whose image a container runs (registry.example.com/shop/users:1.2 -> users). */
export function serviceOfImage(image: string): ServiceName | undefined {
  const match = /(?:^|\/)shop[/-](gateway|users|products|inventory|orders|payments)(?::|@|$)/.exec(image);
  return match?.[1] as ServiceName | undefined;
}
