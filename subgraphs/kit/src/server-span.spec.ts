import { trace } from '@opentelemetry/api';
import { closeServer, createHttpBase, listen, sendGraphQLError, sendJson } from './http';
import { createLogger } from './logger';
import { createMetrics } from './metrics';
import { withSpan } from './telemetry';
import { startTestTracing, type TestTracing } from './testing';

const SERVER = 2;
const ERROR = 2;
const CALLER_TRACE = '0af7651916cd43dd8448eb211c80319c';
const CALLER_SPAN = 'b7ad6b7169203331';

// One provider for the file: the API's tracers keep the provider they first delegated to.
let tracing: TestTracing;
beforeAll(() => {
  tracing = startTestTracing('edge');
});
afterAll(async () => {
  await tracing?.stop();
});

/**
 * Every process's server spans come from the kit's HTTP edge (not from OpenTelemetry's http
 * instrumentation): one per request, a child of the caller's traceparent, the parent of what
 * the request does, with method, path, status and request id and nothing from the query string.
 */
describe("the HTTP edge's server span", () => {
  let url: string;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    const base = createHttpBase({
      logger: createLogger('edge-test', 'silent'),
      metrics: createMetrics('edge-test'),
      readiness: {},
    });
    base.direct('POST', '/graphql', (_req, res) => {
      // Work inside the request: it must hang under the server span, across an await.
      void withSpan('resolver work', {}, async () => {
        await new Promise((resolve) => setImmediate(resolve));
        sendJson(res, 200, { data: { ok: true } });
      });
    });
    base.app.get('/refused', (_req, res) =>
      sendGraphQLError(res, 503, 'SERVICE_UNAVAILABLE', 'products is unavailable'),
    );
    base.app.get('/broken', (_req, res) => {
      res.status(500).end();
    });
    const { server, port } = await listen(base.handler, 0, '127.0.0.1');
    url = `http://127.0.0.1:${port}`;
    stop = () => closeServer(server, 1_000);
  });

  afterAll(async () => {
    await stop?.();
  });

  const serverSpans = (requestId: string) =>
    tracing.spans().filter((s) => s.kind === SERVER && s.attributes['request.id'] === requestId);

  it("continues the caller's trace, and the request's own spans hang under it", async () => {
    const response = await fetch(`${url}/graphql?query=secret-variables`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-request-id': 'edge-1',
        traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01`,
      },
      body: '{}',
    });
    expect(response.status).toBe(200);
    const [span] = serverSpans('edge-1');
    expect(span).toMatchObject({
      traceId: CALLER_TRACE,
      parentSpanId: CALLER_SPAN,
      name: 'POST /graphql',
      attributes: {
        'http.request.method': 'POST',
        'url.path': '/graphql',
        'http.response.status_code': 200,
        'request.id': 'edge-1',
      },
    });
    expect(JSON.stringify(span.attributes)).not.toContain('secret-variables');
    const work = tracing.spans().find((s) => s.name === 'resolver work' && s.traceId === CALLER_TRACE);
    expect(work?.parentSpanId).toBe(span.spanId);
  });

  it('starts a trace of its own for a request without traceparent', async () => {
    await fetch(`${url}/graphql`, { method: 'POST', headers: { 'x-request-id': 'edge-2' }, body: '{}' });
    const [span] = serverSpans('edge-2');
    expect(span.parentSpanId).toBeUndefined();
    expect(span.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(span.traceId).not.toBe(CALLER_TRACE);
  });

  it("keeps the contract's error code on a refused request and marks a bare 5xx failed", async () => {
    await fetch(`${url}/refused`, { headers: { 'x-request-id': 'edge-3' } });
    await fetch(`${url}/broken`, { headers: { 'x-request-id': 'edge-4' } });
    const [refused] = serverSpans('edge-3');
    expect(refused.attributes).toMatchObject({
      'error.code': 'SERVICE_UNAVAILABLE',
      'http.response.status_code': 503,
    });
    expect(refused.status).toEqual({ code: ERROR, message: 'SERVICE_UNAVAILABLE' });
    const [broken] = serverSpans('edge-4');
    expect(broken.status).toEqual({ code: ERROR, message: '500' });
  });

  it('traces no probe or scrape', async () => {
    const before = tracing.spans().length;
    for (const path of ['/health', '/ready', '/metrics'])
      await fetch(`${url}${path}`, { headers: { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` } });
    expect(tracing.spans().length).toBe(before);
  });
});

/**
 * Apollo Gateway makes a span per phase (gateway.request, .validate, .plan, .execute,
 * .postprocessing) and one per subgraph fetch; the platform keeps the fetches only, each
 * directly under the span that was active (the gateway's server span).
 */
describe("Apollo Gateway's spans", () => {
  it('keeps gateway.fetch and drops the phase spans, running their work unchanged', async () => {
    const apollo = trace.getTracer('apollo/gateway-js', '2.14.4');
    const answer = await withSpan('the server span', { root: true }, () =>
      apollo.startActiveSpan('gateway.request', async (request) => {
        request.setAttribute('graphql.operation.name', 'ProductList');
        const planned = apollo.startActiveSpan('gateway.plan', { attributes: { x: 1 } }, (plan) => {
          plan.end();
          return 'plan';
        });
        const fetched = await apollo.startActiveSpan('gateway.execute', (execute) =>
          apollo.startActiveSpan('gateway.fetch', { attributes: { service: 'products' } }, async (fetch) => {
            await new Promise((resolve) => setImmediate(resolve));
            fetch.end();
            execute.end();
            return 'rows';
          }),
        );
        request.end();
        return `${planned}+${fetched}`;
      }),
    );
    expect(answer).toBe('plan+rows');
    const server = tracing.spans().find((s) => s.name === 'the server span')!;
    const spans = tracing.spans().filter((s) => s.traceId === server.traceId);
    expect(spans.map((s) => s.name).sort()).toEqual(['gateway.fetch', 'the server span']);
    expect(spans.find((s) => s.name === 'gateway.fetch')).toMatchObject({
      traceId: server.traceId,
      parentSpanId: server.spanId,
      attributes: { service: 'products' },
    });
  });
});
