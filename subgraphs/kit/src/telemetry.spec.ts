import { createLogger } from './logger';
import { currentTraceparent, linkActiveSpanTo, linkTo, withSpan } from './telemetry';
import { startTimerLoop } from './timer-loop';
import { startTestTracing, type TestTracing } from './testing';

const logger = createLogger('kit-test', 'silent');

/**
 * Work done later on behalf of a request: the request's traceparent is stored with the work,
 * and the later span (a background pass or one of its items) starts its own trace linked to it.
 */
describe('links from later work to the requests it acts for', () => {
  let tracing: TestTracing;
  beforeAll(async () => {
    tracing = startTestTracing('kit');
  });
  afterAll(async () => {
    await tracing?.stop();
  });

  /** A "request" span; returns the traceparent its work would store. */
  const request = (name: string) => withSpan(name, { root: true }, async () => currentTraceparent()!);
  const spanNamed = (name: string) => tracing.spans().find((s) => s.name === name)!;

  it('gives a span of its own trace a link to each stored traceparent (missing or malformed ones skipped)', async () => {
    const first = await request('request one');
    const second = await request('request two');
    expect(first).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    await withSpan('item', { root: true, links: linkTo(first, null, 'not-a-traceparent', second, first) }, async () => undefined);
    const [one, two, item] = ['request one', 'request two', 'item'].map(spanNamed);
    expect(item.traceId).not.toBe(one.traceId);
    expect(item.parentSpanId).toBeUndefined();
    expect(item.links).toEqual([
      { traceId: one.traceId, spanId: one.spanId },
      { traceId: two.traceId, spanId: two.spanId },
    ]);
  });

  it("links a timer loop's pass to the requests whose rows it handles, never to its own trace", async () => {
    const stored = [await request('revoking request'), null];
    const loop = startTimerLoop(
      async () => {
        stored.push(currentTraceparent()!); // a row the pass itself wrote
        linkActiveSpanTo(stored);
      },
      { name: 'publisher pass', intervalMs: 60_000, logger },
    );
    await loop.runNow();
    await loop.stop();
    const [revoking, pass] = ['revoking request', 'publisher pass'].map(spanNamed);
    expect(pass.parentSpanId).toBeUndefined();
    expect(pass.attributes['background.loop']).toBe('publisher pass');
    expect(pass.links).toEqual([{ traceId: revoking.traceId, spanId: revoking.spanId }]);
  });

  it('stores nothing and links nothing when not tracing', async () => {
    await tracing.stop();
    expect(currentTraceparent()).toBeUndefined();
    await withSpan('untraced', {}, async () => expect(currentTraceparent()).toBeUndefined());
    expect(linkTo(undefined, null)).toEqual([]);
    tracing = startTestTracing('kit');
  });
});
