import type { Identity } from '@shop/kit';
import type { Lookup } from './caching/cache-entry';

/** What every resolver and plugin of the gateway knows about the request it serves. */
export interface GatewayContext {
  requestId: string;
  identity: Identity;
  clientKey: string;
  clientIp: string;
  /** The response-cache lookup the fast path already made for this request (cached-fast-path.ts). */
  prefetched?: { key: string; lookup: Lookup };
}

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by identify (http/identify.ts), or by the fast path when it identified the caller. */
    gatewayContext?: GatewayContext;
    /** Set when the fast path already counted this request: the limiter's answer (seconds to wait, or null). */
    rateLimitRetryAfter?: number | null;
    /** The cache lookup the fast path already made (handed to the response-cache plugin). */
    prefetchedLookup?: { key: string; lookup: Lookup };
  }
}
