import { readFileSync } from 'node:fs';
import path from 'node:path';
import type Redis from 'ioredis';
import type { GuardedConnection } from '@shop/kit';

/**
 * One command (request-state.lua) for what the gateway reads from Redis before a request
 * runs: count it in its client's rate-limit window, read its session's state and, when asked,
 * a response-cache entry and the Redis clock.
 */
const REQUEST_STATE_SCRIPT = readFileSync(path.join(__dirname, 'request-state.lua'), 'utf8');
type RequestStateClient = Redis & {
  gatewayRequestState(
    rateKey: string,
    sessionKey: string,
    entryKey: string,
    windowMs: number,
    readSession: '1' | '0',
    readEntry: '1' | '0',
  ): Promise<[number, number, string, string, string, string]>;
};

/** What one round trip tells about a request. */
export interface RequestState {
  /** The session's state in the store (null: not known there, or no session asked about). */
  session: string | null;
  /** The client's rate-limit window after counting this request. */
  rate: { count: number; resetMs: number };
  /** The stored cache entry ('' when absent or not asked for) and the Redis clock then (µs). */
  entry: string;
  redisNow: number;
}

/**
 * Reads a request's state in one round trip on a connection of its own, auto-pipelined
 * (concurrent requests share writes), behind the store's circuit (RedisStore.connection).
 * Failures reject (the caller leaves the request to the pipeline, which reads the same state
 * command by command).
 */
export class RequestStateReader {
  private readonly client: RequestStateClient;

  constructor(private readonly connection: GuardedConnection) {
    this.client = connection.client as RequestStateClient;
    this.client.defineCommand('gatewayRequestState', { numberOfKeys: 3, lua: REQUEST_STATE_SCRIPT });
  }

  async read(
    request: { rateKey: string; sessionKey: string | null; windowMs: number },
    entryKey: string | null,
  ): Promise<RequestState> {
    const [count, ttl, session, entry, seconds, micros] = await this.connection.run(() =>
      this.client.gatewayRequestState(
        request.rateKey,
        request.sessionKey ?? request.rateKey,
        entryKey ?? request.rateKey,
        request.windowMs,
        request.sessionKey ? '1' : '0',
        entryKey ? '1' : '0',
      ),
    );
    return {
      session: request.sessionKey && session !== '' ? session : null,
      rate: { count: Number(count), resetMs: Number(ttl) > 0 ? Number(ttl) : request.windowMs },
      entry,
      redisNow: entryKey ? Number(seconds) * 1_000_000 + Number(micros) : 0,
    };
  }

  close() {
    this.connection.close();
  }
}
