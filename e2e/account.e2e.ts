import { contractOperation as operation } from '@shop/kit/testing';
import { startPlatform, type Platform } from './support/platform';

describe('account journey through the gateway (gateway and users as separate processes)', () => {
  let platform: Platform;
  beforeAll(async () => {
    platform = await startPlatform({ subgraphs: ['users'] });
  }, 120_000);
  afterAll(() => platform?.stop());

  const email = `Journey.${process.pid}@Example.com`;
  const password = 'a long enough password';

  it('registers, signs in, refreshes, edits the profile, changes the password and logs out', async () => {
    const registered = await platform.query<{ register: { accessToken: string; refreshToken: string; expiresAt: string; user: { email: string; role: string } } }>(
      operation('Register'),
      { input: { email: `  ${email} `, password, firstName: 'Ada', lastName: 'Lovelace' } },
    );
    expect(registered.errors).toBeUndefined();
    const { accessToken, user, expiresAt } = registered.data!.register;
    expect(user).toMatchObject({ email: email.toLowerCase(), role: 'CUSTOMER' });
    expect(new Date(expiresAt).getTime()).toBeGreaterThan(Date.now());

    const me = await platform.query<{ me: { email: string; firstName: string } }>(operation('Me'), {}, { token: accessToken });
    expect(me.data?.me).toMatchObject({ email: email.toLowerCase(), firstName: 'Ada' });

    // Registering again with the same password is a retry (its first answer may have been lost):
    // it signs in. Another password is CONFLICT (docs/users.md).
    const retry = await platform.query<{ register: { user: { email: string } } }>(operation('Register'), {
      input: { email: email.toUpperCase(), password },
    });
    expect(retry.errors).toBeUndefined();
    expect(retry.data?.register.user.email).toBe(email.toLowerCase());
    const duplicate = await platform.query(operation('Register'), { input: { email: email.toUpperCase(), password: 'someone else entirely' } });
    expect(duplicate.errors?.[0].extensions?.code).toBe('CONFLICT');

    const wrong = await platform.query(operation('Login'), { input: { email, password: 'not the password' } });
    const unknown = await platform.query(operation('Login'), { input: { email: 'nobody@example.com', password } });
    expect(wrong.errors?.[0]).toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
    expect(unknown.errors?.[0].message).toBe(wrong.errors?.[0].message);

    const login = await platform.query<{ login: { accessToken: string; refreshToken: string } }>(operation('Login'), {
      input: { email, password },
    });
    const second = login.data!.login;

    const refreshed = await platform.query<{ refreshSession: { accessToken: string; refreshToken: string } }>(
      operation('RefreshSession'),
      { refreshToken: second.refreshToken },
    );
    expect(refreshed.errors).toBeUndefined();
    const reused = await platform.query(operation('RefreshSession'), { refreshToken: second.refreshToken });
    expect(reused.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    // reuse ended that whole session: its newest tokens stop working too
    const afterReuse = await platform.query(operation('Me'), {}, { token: refreshed.data!.refreshSession.accessToken });
    expect(afterReuse.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');

    const updated = await platform.query<{ updateProfile: { firstName: string; lastName: string } }>(
      operation('UpdateProfile'),
      { input: { firstName: 'Augusta' } },
      { token: accessToken },
    );
    expect(updated.data?.updateProfile).toMatchObject({ firstName: 'Augusta', lastName: 'Lovelace' });

    const third = (await platform.query<{ login: { accessToken: string } }>(operation('Login'), { input: { email, password } })).data!.login;
    const changed = await platform.query(operation('ChangePassword'), { input: { currentPassword: password, newPassword: 'an even longer password' } }, { token: accessToken });
    expect(changed.data).toEqual({ changePassword: true });
    expect((await platform.query(operation('Me'), {}, { token: third.accessToken })).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect((await platform.query(operation('Me'), {}, { token: accessToken })).data?.me).not.toBeNull();

    expect((await platform.query(operation('Logout'), {}, { token: accessToken })).data).toEqual({ logout: true });
    expect((await platform.query(operation('Me'), {}, { token: accessToken })).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses a request sent straight to the users subgraph, forged identity header or not', async () => {
    const users = platform.services.users!;
    const attempts: Record<string, string>[] = [{}, { 'x-user-id': 'someone', 'x-user-role': 'ADMIN' }, { authorization: 'Bearer not-a-token' }];
    for (const headers of attempts) {
      const response = await fetch(`${users.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query: '{ _service { sdl } }' }),
      });
      expect(response.status).toBe(401);
      expect(((await response.json()) as { errors: { extensions: { code: string } }[] }).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    }
    expect((await fetch(`${users.url}/health`)).status).toBe(200);
  });

  it('carries the request id to every service and every log line of the request', async () => {
    const requestId = `e2e-trace-${process.pid}`;
    const result = await platform.query(operation('Login'), { input: { email, password: 'wrong' } }, { headers: { 'x-request-id': requestId } });
    expect(result.headers.get('x-request-id')).toBe(requestId);
    await new Promise((r) => setTimeout(r, 200));
    for (const service of [platform.gateway, platform.services.users!]) {
      const lines = service.output().split('\n').filter((line) => line.includes(requestId));
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) expect(JSON.parse(line).requestId).toBe(requestId);
    }
  });
});
