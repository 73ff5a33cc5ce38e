import { createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';
import { acceptRequestId, currentRequestId, RequestScopeContextManager, runInRequestScope } from './request-context';

describe('request ids', () => {
  it('keeps a sane client id', () => {
    expect(acceptRequestId('abc-123_x.y:z')).toBe('abc-123_x.y:z');
    expect(acceptRequestId('a'.repeat(128))).toBe('a'.repeat(128));
  });

  it.each([['', 'empty'], ['a'.repeat(129), 'too long'], ['has space', 'space'], ['<script>', 'markup'], ['ünï', 'non-ascii']])(
    'replaces an insane one (%s: %s) with a generated uuid',
    (candidate) => {
      const id = acceptRequestId(candidate);
      expect(id).not.toBe(candidate);
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
    },
  );

  it('generates one when none is sent', () => {
    expect(acceptRequestId(undefined)).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("OpenTelemetry's active context, kept in the request scope's store", () => {
  const manager = new RequestScopeContextManager();
  const key = createContextKey('probe');
  const traced = ROOT_CONTEXT.setValue(key, 'span of the request');

  it('carries the request id and the trace context together across awaits, and each stays when the other changes', async () => {
    await runInRequestScope(
      { requestId: 'req-1' },
      async () => {
        await Promise.resolve();
        expect(manager.active().getValue(key)).toBe('span of the request');
        await manager.with(ROOT_CONTEXT.setValue(key, 'child span'), async () => {
          await new Promise((resolve) => setImmediate(resolve));
          expect(manager.active().getValue(key)).toBe('child span');
          expect(currentRequestId()).toBe('req-1');
        });
        expect(manager.active().getValue(key)).toBe('span of the request');
      },
      traced,
    );
  });

  it('runs a bound function in the context it was bound to, in the request it is called from', () => {
    const bound = manager.bind(traced, () => [manager.active().getValue(key), currentRequestId()]);
    expect(runInRequestScope({ requestId: 'req-2' }, bound)).toEqual(['span of the request', 'req-2']);
  });

  it('is the root context outside any request or span', () => {
    expect(manager.active()).toBe(ROOT_CONTEXT);
  });
});
