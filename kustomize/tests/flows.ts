/**
 * The network flows the platform uses, as data: tests/policy.spec.ts computes, from the
 * rendered NetworkPolicies, every connection they admit between the pods an overlay runs and
 * the peers below, and expects exactly these (the ones whose both ends exist in the overlay).
 * A new flow is a line here plus the policy that admits it; a policy that admits more, or
 * breaks one of these, fails the test. Names are `app.kubernetes.io/name` labels.
 */
export interface Flow {
  from: string;
  to: string;
  port: number;
  why: string;
}

/** Pods outside the namespace that take part, as NetworkPolicy peers see them. */
export interface Peer {
  namespace: string;
  labels: Record<string, string>;
  /** Ports probed when the peer is a destination. */
  ports: number[];
}

export const PEERS: Record<string, Peer> = {
  'ingress-nginx': { namespace: 'ingress-nginx', labels: { 'app.kubernetes.io/name': 'ingress-nginx' }, ports: [80, 443] },
  prometheus: { namespace: 'monitoring', labels: { 'app.kubernetes.io/name': 'prometheus' }, ports: [9090] },
  'otel-collector': { namespace: 'observability', labels: { 'app.kubernetes.io/name': 'opentelemetry-collector' }, ports: [4317, 4318] },
  // Anything else in the cluster: reaches nothing, is reached by nothing.
  stranger: { namespace: 'default', labels: { app: 'something' }, ports: [80, 443, 4317, 4318, 5432, 6379] },
};

const SUBGRAPHS = ['users', 'products', 'inventory', 'orders', 'payments'];
const SERVICES: Record<string, number> = { gateway: 4000, users: 4001, products: 4002, inventory: 4003, orders: 4004, payments: 4005 };
const SEEDS = ['products-seed', 'inventory-seed'];

export const FLOWS: Flow[] = [
  { from: 'ingress-nginx', to: 'gateway', port: 4000, why: 'the public entry' },
  ...SUBGRAPHS.map((s) => ({ from: 'gateway', to: s, port: SERVICES[s], why: 'query planning' })),
  ...['products', 'inventory', 'payments'].map((s) => ({ from: 'orders', to: s, port: SERVICES[s], why: 'the checkout saga (internal APIs)' })),
  { from: 'payments', to: 'orders', port: SERVICES.orders, why: "the authorization sweeper asks which holds orders will still capture" },
  { from: 'inventory', to: 'products', port: SERVICES.products, why: 'setStock asks whether the product exists' },
  ...[...SUBGRAPHS, 'postgres-backup', ...SEEDS].map((s) => ({ from: s, to: 'postgres', port: 5432, why: 'its database (and migrations)' })),
  ...['gateway', ...SUBGRAPHS, ...SEEDS].map((s) => ({ from: s, to: 'redis', port: 6379, why: 'caches, rate limits, session marks' })),
  ...Object.entries(SERVICES).map(([s, port]) => ({ from: 'prometheus', to: s, port, why: 'metrics scrape' })),
  ...Object.keys(SERVICES).map((s) => ({ from: s, to: 'otel-collector', port: 4318, why: 'trace export (OTLP/HTTP)' })),
  { from: 'smoke-test', to: 'gateway', port: 4000, why: 'the on-demand smoke test' },
  { from: 'e2e', to: 'gateway', port: 4000, why: 'the on-demand storefront journey' },
];
