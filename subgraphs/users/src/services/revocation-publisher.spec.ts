/**
 * Issue 11: work done later on behalf of a request starts its own trace, linked to the
 * original. A logout whose REVOKED mark could not reach the store leaves it to the revocation
 * publisher; the publisher's pass is a trace of its own and links to the logout request
 * (whose traceparent is stored in sessions.revocation_trace_parent).
 */
import { issueServiceToken, MemoryStore, SESSION_STATE, sessionStateKey, StoreUnavailableError, TokenSigner } from '@shop/kit';
import { postGraphQL, startTestTracing, waitFor, type TestTracing } from '@shop/kit/testing';
import { LOGOUT, register, startHarness, type UsersHarness } from '../testing/harness';

const SERVER = 2;
const LOGOUT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const GATEWAY_SPAN = '00f067aa0ba902b7';

/** The in-process store, refusing writes while told to: the logout's own REVOKED mark fails and is left to the publisher. */
class WriteRefusingStore extends MemoryStore {
  refusingWrites = false;

  override async set(key: string, value: string, ttlMs?: number): Promise<void> {
    if (this.refusingWrites) throw new StoreUnavailableError();
    return super.set(key, value, ttlMs);
  }
}

let tracing: TestTracing;
let store: WriteRefusingStore;
let h: UsersHarness;

beforeAll(async () => {
  // Before the service: the API's tracers keep the first provider they delegate to.
  tracing = startTestTracing('users');
  store = new WriteRefusingStore();
  h = await startHarness('users_revtrace', { REVOCATION_PUBLISH_INTERVAL_MS: '100' }, { store });
});

afterAll(async () => {
  await h?.stop();
  await store?.close();
  await tracing?.stop();
});

it('publishes a revocation the logout could not, in a trace of its own linked to the logout request', async () => {
  const account = await register(h);
  const gateway = h.keys.services.gateway;

  // The gateway forwards the logout with its traceparent; the store refuses the mark meanwhile.
  store.refusingWrites = true;
  const logout = await postGraphQL(`${h.service.url}/graphql`, LOGOUT, {}, {
    authorization: `Bearer ${issueServiceToken(new TokenSigner(gateway.privateKey, gateway.kid), 'gateway', 'users', account.identity, 30)}`,
    traceparent: `00-${LOGOUT_TRACE}-${GATEWAY_SPAN}-01`,
  });
  expect(logout.data).toEqual({ logout: true });
  const [row] = await h.service.runtime.db.dataSource.query('SELECT revocation_published FROM sessions WHERE id = $1', [account.sessionId]);
  expect(row.revocation_published).toBe(false);

  store.refusingWrites = false;
  await waitFor(async () => (await store.get(sessionStateKey(account.sessionId))) === SESSION_STATE.REVOKED, 'the publisher to write the mark');

  // The span the logout revoked in: users' server span of the request, child of the gateway's.
  const logoutRequest = tracing.spans().find((s) => s.kind === SERVER && s.traceId === LOGOUT_TRACE);
  expect(logoutRequest).toMatchObject({ name: 'mutation Logout', parentSpanId: GATEWAY_SPAN });
  // Every pass that handled the pending revocation (the one that published it, and any that
  // ran while the store still refused) is a trace of its own, linked to the logout.
  // The mark is written: the pass that wrote it ends within moments.
  await waitFor(() => passesActingFor().length > 0, 'a publisher pass linked to the logout');
  for (const pass of passesActingFor()) {
    expect(pass.parentSpanId).toBeUndefined();
    expect(pass.traceId).not.toBe(LOGOUT_TRACE);
    expect(pass.links).toEqual([{ traceId: LOGOUT_TRACE, spanId: logoutRequest!.spanId }]);
  }
});

/** Publisher passes that linked to anything (an idle pass has nothing to act for). */
const passesActingFor = () => tracing.spans().filter((s) => s.name === 'revocation publisher' && s.links.length > 0);
