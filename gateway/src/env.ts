import path from 'node:path';
import { z } from 'zod';
import { port, positiveInt, url } from '@shop/kit';
import { TRUSTED_DOCUMENTS_MODES } from './trusted-documents/trusted-documents';

export const SUBGRAPH_NAMES = ['users', 'products', 'inventory', 'orders', 'payments'] as const;
export type SubgraphName = (typeof SUBGRAPH_NAMES)[number];

/** true/false when set; undefined leaves the choice to NODE_ENV. */
const optionalFlag = () =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .optional()
    .transform((v) => (v === undefined ? undefined : ['true', '1', 'yes'].includes(v)));

/** Unset: the routing URL the supergraph gives that subgraph is used, as composed. */
const subgraphUrl = () => url(['http', 'https']).optional();
const optionalTimeout = () => z.coerce.number().int().positive().optional();

/** Every variable the gateway reads, on top of the kit's common ones. */
export const gatewayConfigShape = {
  PORT: port(4000),
  /** JSON {kid: PEM} of the keys access tokens may be signed with (current and previous). */
  ACCESS_TOKEN_PUBLIC_KEYS: z.string(),
  /**
   * Base URL of the users subgraph (/graphql is appended; its internal API is under it too).
   * Unset: the supergraph's routing URL for users. Likewise PRODUCTS_URL, INVENTORY_URL,
   * ORDERS_URL and PAYMENTS_URL: each overrides the supergraph only when set.
   */
  USERS_URL: subgraphUrl(),
  /** Gateway: as USERS_URL, for products (overrides the supergraph's routing URL only when set). */
  PRODUCTS_URL: subgraphUrl(),
  /** Gateway: as USERS_URL, for inventory (overrides the supergraph's routing URL only when set). */
  INVENTORY_URL: subgraphUrl(),
  /** Gateway: as USERS_URL, for orders (overrides the supergraph's routing URL only when set). */
  ORDERS_URL: subgraphUrl(),
  /** Gateway: as USERS_URL, for payments (overrides the supergraph's routing URL only when set). */
  PAYMENTS_URL: subgraphUrl(),
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
  /** Deadline of one subgraph fetch (connect to last byte) for a subgraph without its own <NAME>_TIMEOUT_MS. */
  SUBGRAPH_TIMEOUT_MS: positiveInt(5_000),
  /** users' deadline, also for the session check; unset: SUBGRAPH_TIMEOUT_MS. Likewise PRODUCTS_, INVENTORY_ and PAYMENTS_TIMEOUT_MS. */
  USERS_TIMEOUT_MS: optionalTimeout(),
  /** products' deadline; unset: SUBGRAPH_TIMEOUT_MS. */
  PRODUCTS_TIMEOUT_MS: optionalTimeout(),
  /** inventory's deadline; unset: SUBGRAPH_TIMEOUT_MS. */
  INVENTORY_TIMEOUT_MS: optionalTimeout(),
  /** payments' deadline; unset: SUBGRAPH_TIMEOUT_MS. */
  PAYMENTS_TIMEOUT_MS: optionalTimeout(),
  /**
   * orders' deadline: longer than the longest checkout orders' own timeouts allow
   * (subgraphs/orders/src/checkout-budget.ts), or the client is told a checkout failed while
   * it goes on to succeed, and the timeout counts toward opening the orders circuit.
   */
  ORDERS_TIMEOUT_MS: positiveInt(30_000),
  /** Public responses cached in Redis per the subgraphs' cache hints (docs/caching.md). Default: on. */
  RESPONSE_CACHE_ENABLED: optionalFlag(),
  /** Upper bound on a cached response's life whatever the hints say. */
  RESPONSE_CACHE_MAX_TTL_SECONDS: positiveInt(300),
  /** Consecutive failed fetches (network error, timeout, HTTP 5xx) that open a subgraph's circuit. */
  CIRCUIT_BREAKER_FAILURE_THRESHOLD: positiveInt(5),
  /**
   * While a circuit is open, how often the subgraph's /ready is asked; its first 200 lets
   * fetches through again (half-open). At most 1000, so a restarted subgraph is back within 2 s.
   */
  CIRCUIT_BREAKER_PROBE_INTERVAL_MS: z.coerce.number().int().min(50).max(1_000).default(500),
  /** For a subgraph without /ready (404) only: how long an open circuit fails fast before fetches are tried again. */
  CIRCUIT_BREAKER_OPEN_MS: positiveInt(10_000),
};
