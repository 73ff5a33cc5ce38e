import path from 'node:path';
import { z } from 'zod';
import { port, positiveInt, url } from '@shop/kit';
import { TRUSTED_DOCUMENTS_MODES } from './trusted-documents/trusted-documents';

export const SUBGRAPH_NAMES = ['users', 'products', 'inventory', 'orders', 'payments'] as const;
export type SubgraphName = (typeof SUBGRAPH_NAMES)[number];
export const DEFAULT_SUBGRAPH_PORTS: Record<SubgraphName, number> = {
  users: 4001,
  products: 4002,
  inventory: 4003,
  orders: 4004,
  payments: 4005,
};

/** true/false when set; undefined leaves the choice to NODE_ENV. */
const optionalFlag = () =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .optional()
    .transform((v) => (v === undefined ? undefined : ['true', '1', 'yes'].includes(v)));

const subgraphUrl = (name: SubgraphName) =>
  url(['http', 'https']).default(`http://127.0.0.1:${DEFAULT_SUBGRAPH_PORTS[name]}`);

/** Every variable the gateway reads, on top of the kit's common ones. */
export const gatewayConfigShape = {
  PORT: port(4000),
  /** JSON {kid: PEM} of the keys access tokens may be signed with (current and previous). */
  ACCESS_TOKEN_PUBLIC_KEYS: z.string(),
  USERS_URL: subgraphUrl('users'),
  PRODUCTS_URL: subgraphUrl('products'),
  INVENTORY_URL: subgraphUrl('inventory'),
  ORDERS_URL: subgraphUrl('orders'),
  PAYMENTS_URL: subgraphUrl('payments'),
  /** The composed supergraph to serve; defaults to the committed one (npm run compose). */
  SUPERGRAPH_PATH: z.string().default(path.resolve(__dirname, '..', 'supergraph.graphql')),
  /**
   * Which operations run (docs/trusted-documents.md): off (anything), log (anything; operations
   * not in the manifest counted and logged), enforce (only the manifest's). Default: enforce in
   * production, else off.
   */
  TRUSTED_DOCUMENTS_MODE: z.enum(TRUSTED_DOCUMENTS_MODES).optional(),
  /** The trusted-documents manifest; defaults to the committed one (npm run compose). */
  TRUSTED_DOCUMENTS_PATH: z.string().default(path.resolve(__dirname, '..', 'trusted-documents.json')),
  /** Default: on except in production. */
  PLAYGROUND_ENABLED: optionalFlag(),
  INTROSPECTION_ENABLED: optionalFlag(),
  /** Comma-separated addresses/CIDRs of proxies whose X-Forwarded-For is believed (express "trust proxy"). */
  TRUSTED_PROXIES: z.string().optional(),
  BODY_LIMIT_BYTES: positiveInt(1_000_000),
  MAX_DEPTH: positiveInt(15),
  MAX_ALIASES: positiveInt(50),
  MAX_ROOT_FIELDS: positiveInt(10),
  MAX_TOKENS: positiveInt(5_000),
  MAX_COST: positiveInt(25_000),
  RATE_LIMIT_WINDOW_SECONDS: positiveInt(60),
  /** Requests per client (user id, else IP) per window. */
  RATE_LIMIT_MAX: positiveInt(600),
  /** login/register/refreshSession attempts per client IP per window (credential stuffing). */
  AUTH_RATE_LIMIT_MAX: positiveInt(20),
  SUBGRAPH_TIMEOUT_MS: positiveInt(5_000),
  /** Public responses cached in Redis per the subgraphs' cache hints (docs/caching.md). Default: on. */
  RESPONSE_CACHE_ENABLED: optionalFlag(),
  /** Upper bound on a cached response's life whatever the hints say. */
  RESPONSE_CACHE_MAX_TTL_SECONDS: positiveInt(300),
  /** Consecutive failed fetches (network error, timeout, HTTP 5xx) that open a subgraph's circuit. */
  CIRCUIT_BREAKER_FAILURE_THRESHOLD: positiveInt(5),
  /** How long an open circuit fails fast before one probe fetch is let through (half-open). */
  CIRCUIT_BREAKER_OPEN_MS: positiveInt(10_000),
};
