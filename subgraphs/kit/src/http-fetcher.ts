import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';

/** The part of a fetch Response that Apollo's RemoteGraphQLDataSource reads. */
export interface FetcherResponse {
  ok: boolean;
  status: number;
  statusText: string;
  url: string;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
  json(): Promise<unknown>;
}

export interface FetcherInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

export class FetchTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`The operation was aborted due to timeout (${timeoutMs} ms)`);
    this.name = 'TimeoutError';
  }
}

/**
 * A minimal fetch for subgraph calls over node:http with a keep-alive agent, and one
 * deadline timer per request covering connect, headers and body (the whole fetch):
 * measured at less than half the CPU per call of the global fetch (undici) with
 * `AbortSignal.timeout`. No redirects and no compression (subgraphs do neither).
 */
export function createHttpFetcher(options: { timeoutMs: number }) {
  const agents = {
    'http:': new http.Agent({ keepAlive: true, scheduling: 'lifo' }),
    'https:': new https.Agent({ keepAlive: true, scheduling: 'lifo' }),
  };
  const urls = new Map<string, URL>();
  const parse = (url: string) => {
    let parsed = urls.get(url);
    if (!parsed) {
      parsed = new URL(url);
      if (urls.size < 100) urls.set(url, parsed);
    }
    return parsed;
  };

  return (url: string, init: FetcherInit = {}): Promise<FetcherResponse> =>
    new Promise((resolve, reject) => {
      const target = parse(url);
      const protocol = target.protocol === 'https:' ? 'https:' : 'http:';
      const body = init.body ?? '';
      let settled = false;
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(error);
      };
      const request = (protocol === 'https:' ? https : http).request(
        target,
        {
          method: init.method ?? 'GET',
          headers: { ...init.headers, 'content-length': String(Buffer.byteLength(body)) },
          agent: agents[protocol],
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', fail);
          response.on('aborted', () => fail(new Error('subgraph response aborted')));
          response.on('end', () => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            resolve(toResponse(url, response.statusCode ?? 0, response.statusMessage ?? '', response.headers, chunks));
          });
        },
      );
      const timer = setTimeout(() => {
        const error = new FetchTimeoutError(options.timeoutMs);
        fail(error);
        request.destroy(error);
      }, options.timeoutMs);
      request.on('error', fail);
      request.end(body);
    });
}

function toResponse(
  url: string,
  status: number,
  statusText: string,
  headers: IncomingHttpHeaders,
  chunks: Buffer[],
): FetcherResponse {
  const text = Buffer.concat(chunks).toString('utf8');
  return {
    ok: status >= 200 && status < 300,
    status,
    statusText,
    url,
    headers: {
      get(name: string) {
        const value = headers[name.toLowerCase()];
        if (value === undefined) return null;
        return Array.isArray(value) ? value.join(', ') : value;
      },
    },
    text: async () => text,
    json: async () => JSON.parse(text) as unknown,
  };
}
