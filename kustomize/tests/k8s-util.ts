import type { K8sObject } from './render';

/** Kubernetes quantity ("250m", "512Mi", "2") as a number of base units. */
export function quantity(value: string | number): number {
  if (typeof value === 'number') return value;
  const match = /^([0-9.]+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(value);
  if (!match) throw new Error(`not a quantity: ${value}`);
  const factor: Record<string, number> = {
    '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4,
  };
  return Number(match[1]) * factor[match[2] ?? ''];
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** Does a label selector select these labels? An empty selector selects everything. */
export function selects(selector: LabelSelector | undefined, labels: Record<string, string> = {}): boolean {
  if (!selector) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const expression of selector.matchExpressions ?? []) {
    const value = labels[expression.key];
    const values = expression.values ?? [];
    if (expression.operator === 'In' && !(value !== undefined && values.includes(value))) return false;
    if (expression.operator === 'NotIn' && value !== undefined && values.includes(value)) return false;
    if (expression.operator === 'Exists' && value === undefined) return false;
    if (expression.operator === 'DoesNotExist' && value !== undefined) return false;
  }
  return true;
}

/** A pod as NetworkPolicy evaluation sees it. */
export interface PodRef {
  namespace: string;
  namespaceLabels: Record<string, string>;
  labels: Record<string, string>;
  /** Named container ports, to resolve `port: http`. */
  ports?: Record<string, number>;
}

interface PolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string };
}
interface PolicyRule {
  from?: PolicyPeer[];
  to?: PolicyPeer[];
  ports?: { protocol?: string; port?: number | string }[];
}

function peerMatches(peer: PolicyPeer, policyNamespace: string, pod: PodRef): boolean {
  if (peer.ipBlock) return false; // pods are addressed by selectors in these checks
  if (peer.namespaceSelector) {
    if (!selects(peer.namespaceSelector, pod.namespaceLabels)) return false;
  } else if (pod.namespace !== policyNamespace) return false;
  return selects(peer.podSelector, pod.labels);
}

function portMatches(rule: PolicyRule, port: number, destination: PodRef, protocol = 'TCP'): boolean {
  if (!rule.ports || rule.ports.length === 0) return true;
  return rule.ports.some((p) => {
    if ((p.protocol ?? 'TCP') !== protocol) return false;
    if (p.port === undefined) return true;
    if (typeof p.port === 'number') return p.port === port;
    return destination.ports?.[p.port] === port;
  });
}

/**
 * Whether NetworkPolicies admit a TCP connection from `source` to `destination`:port — egress
 * on the source's side and ingress on the destination's side, each allowed when no policy
 * selects the pod for that direction or some selecting policy has a matching rule.
 */
export function allowed(policies: K8sObject[], source: PodRef, destination: PodRef, port: number, protocol = 'TCP'): boolean {
  const direction = (pod: PodRef, type: 'Ingress' | 'Egress', peer: PodRef) => {
    const applicable = policies.filter(
      (p) =>
        (p.metadata.namespace ?? '') === pod.namespace &&
        selects(p.spec.podSelector, pod.labels) &&
        (p.spec.policyTypes ?? ['Ingress']).includes(type),
    );
    if (applicable.length === 0) return true;
    return applicable.some((p) =>
      ((type === 'Ingress' ? p.spec.ingress : p.spec.egress) ?? []).some((rule: PolicyRule) => {
        const peers = type === 'Ingress' ? rule.from : rule.to;
        const peerOk = !peers || peers.length === 0 || peers.some((x) => peerMatches(x, pod.namespace, peer));
        return peerOk && portMatches(rule, port, destination, protocol);
      }),
    );
  };
  return direction(source, 'Egress', destination) && direction(destination, 'Ingress', source);
}

/**
 * An Ingress's routes with the Kubernetes path matching rules: `Exact` matches the path
 * itself; `Prefix` matches element by element on `/` (a trailing slash is ignored, so
 * `/playground/` matches `/playground` and `/playground/x`, never `/playgroundx`).
 */
export function routes(ingress: K8sObject): { path: string; service: string; matches(path: string): boolean }[] {
  const elements = (p: string) => p.split('/').filter(Boolean);
  return (ingress.spec.rules ?? []).flatMap((rule: { http?: { paths: { path: string; pathType: string; backend: { service: { name: string } } }[] } }) =>
    (rule.http?.paths ?? []).map((route) => ({
      path: route.path,
      service: route.backend.service.name,
      matches: (requested: string) => {
        const wanted = requested.split('?')[0];
        if (route.pathType === 'Exact') return wanted === route.path;
        const prefix = elements(route.path);
        const parts = elements(wanted);
        return prefix.every((element, index) => parts[index] === element);
      },
    })),
  );
}
