import { AppError, ErrorCode, InternalError, ServiceUnavailableError } from './errors';
import { createHttpFetcher, type FetcherResponse } from './http-fetcher';
import { currentRequestId, REQUEST_ID_HEADER } from './request-context';
import { injectTraceContext, SpanKind, withSpan } from './telemetry';
import { ANONYMOUS, ServiceTokenMinter, type Identity, type TokenSigner } from './tokens';

export interface ServiceClientOptions {
  caller: string;
  target: string;
  baseUrl: string;
  signer: TokenSigner;
  tokenTtlSeconds: number;
  timeoutMs: number;
}

/**
 * Calls another service's internal API (`POST <baseUrl>/internal/<path>`) with a service
 * token bound to that service. Errors the callee raised on purpose come back as the same
 * AppError (code and extensions kept); transport failures, timeouts and gateway answers (502-504)
 * as ServiceUnavailableError (SERVICE_UNAVAILABLE: the call may or may not have been applied).
 * Each call is a client span whose W3C traceparent goes with the request, so the callee's
 * work joins the caller's trace. A checkout makes five of these calls, so each is kept cheap:
 * the token is reused per identity for the first half of its life (ServiceTokenMinter: one
 * signature here, and one verification at the callee, per token rather than per call), and
 * the request goes over node:http with a keep-alive agent and one deadline timer covering
 * connect, headers and body (http-fetcher.ts) rather than the global fetch.
 */
export class ServiceClient {
  private readonly tokens: ServiceTokenMinter;
  private readonly fetch: ReturnType<typeof createHttpFetcher>;

  constructor(private readonly options: ServiceClientOptions) {
    this.tokens = new ServiceTokenMinter(options.signer, options.caller, options.target, options.tokenTtlSeconds);
    this.fetch = createHttpFetcher({ timeoutMs: options.timeoutMs });
  }

  get target() {
    return this.options.target;
  }

  call<T>(path: string, body: unknown, identity: Identity = ANONYMOUS): Promise<T> {
    const { target } = this.options;
    return withSpan(
      `${target} ${path}`,
      { kind: SpanKind.CLIENT, attributes: { 'peer.service': target, 'rpc.service': target, 'rpc.method': path } },
      () => this.send<T>(path, body, identity),
    );
  }

  private async send<T>(path: string, body: unknown, identity: Identity): Promise<T> {
    const { target, baseUrl, timeoutMs } = this.options;
    const token = this.tokens.tokenFor(identity);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
      [REQUEST_ID_HEADER]: currentRequestId() ?? '',
    };
    injectTraceContext(headers);
    let response: FetcherResponse;
    let text: string;
    try {
      // The deadline covers the body too: a callee that sends headers and then stalls is no answer either.
      response = await this.fetch(`${baseUrl}/internal/${path}`, { method: 'POST', headers, body: JSON.stringify(body ?? {}) });
      text = await response.text();
    } catch (error) {
      const reason =
        error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')
          ? `no answer within ${timeoutMs} ms`
          : error instanceof Error
            ? ((error.cause as Error | undefined)?.message ?? error.message)
            : String(error);
      throw new ServiceUnavailableError(target, reason);
    }
    let payload: { data?: T; error?: { code?: string; message?: string; extensions?: Record<string, unknown> } };
    try {
      payload = JSON.parse(text);
    } catch {
      throw new ServiceUnavailableError(target, `HTTP ${response.status} with a non-JSON body`);
    }
    if (response.ok) return payload.data as T;
    const code = payload.error?.code as ErrorCode | undefined;
    if (code && code !== ErrorCode.INTERNAL_SERVER_ERROR && (Object.values(ErrorCode) as string[]).includes(code))
      throw new AppError(code, payload.error?.message ?? `${target} refused the call`, payload.error?.extensions ?? {});
    // The callee answered but failed: a defect there, not an outage (its own words stay in its logs).
    if (response.status === 500) throw new InternalError(`The ${target} service failed to complete the call`);
    throw new ServiceUnavailableError(target, payload.error?.message ?? `HTTP ${response.status}`);
  }
}
