import { generateKeyPair, parsePublicKeys, publicKeysJson } from './keys';
import { ANONYMOUS, issueServiceToken, ServiceTokenMinter, ServiceTokenVerifier, TokenSigner, TokenVerifier, type Identity } from './tokens';

/** A keyring with the gateway's key, and a verifier that counts signature checks. */
function setup() {
  const gatewayKey = generateKeyPair('gateway.test1');
  const signer = new TokenSigner(gatewayKey.privateKey, gatewayKey.kid);
  const verifier = new TokenVerifier(parsePublicKeys(publicKeysJson([gatewayKey]), 'SERVICE_TOKEN_PUBLIC_KEYS'));
  let checks = 0;
  const verify = verifier.verify.bind(verifier);
  verifier.verify = (...args) => {
    checks++;
    return verify(...args);
  };
  const mint = (audience: string, ttlSeconds = 60, identity: Identity = { userId: 'u-1', role: 'CUSTOMER', sessionId: 's-1' }) =>
    issueServiceToken(signer, 'gateway', audience, identity, ttlSeconds);
  return { verifier, mint, checks: () => checks };
}

describe('ServiceTokenVerifier (verified service tokens remembered until they expire)', () => {
  it('checks the signature of a token once and answers the same call from memory afterwards', () => {
    const { verifier, mint, checks } = setup();
    const tokens = new ServiceTokenVerifier(verifier, 'products');
    const token = mint('products');
    const first = tokens.verify(token);
    const again = tokens.verify(token);
    expect(first).toEqual({ caller: 'gateway', identity: { userId: 'u-1', role: 'CUSTOMER', sessionId: 's-1' } });
    expect(again).toEqual(first);
    expect(checks()).toBe(1);
    // Another identity is another token: verified on its own, never answered with the first's call.
    const anonymous = tokens.verify(mint('products', 60, ANONYMOUS));
    expect(anonymous.identity).toEqual(ANONYMOUS);
    expect(checks()).toBe(2);
  });

  it('refuses a remembered token from the instant it expires', () => {
    const { verifier, mint } = setup();
    let now = Date.now();
    const tokens = new ServiceTokenVerifier(verifier, 'products', { now: () => now });
    const token = mint('products', 30);
    const { exp } = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as { exp: number };
    expect(tokens.verify(token).caller).toBe('gateway');
    now = exp * 1000 - 1;
    expect(tokens.verify(token).caller).toBe('gateway');
    now = exp * 1000;
    expect(() => tokens.verify(token)).toThrow('Token expired');
  });

  it('never remembers a token that failed: another audience or a tampered signature fails every time', () => {
    const { verifier, mint, checks } = setup();
    const tokens = new ServiceTokenVerifier(verifier, 'products');
    const forInventory = mint('inventory');
    expect(() => tokens.verify(forInventory)).toThrow('Invalid token');
    expect(() => tokens.verify(forInventory)).toThrow('Invalid token');
    const good = mint('products');
    const [header, payload, signature] = good.split('.');
    const tampered = `${header}.${payload}.${signature.slice(0, -4)}${signature.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    expect(() => tokens.verify(tampered)).toThrow('Invalid token');
    expect(() => tokens.verify(tampered)).toThrow('Invalid token');
    expect(checks()).toBe(4);
    expect(tokens.size).toBe(0);
  });

  it('forgets the tokens that have expired when it remembers a new one', () => {
    const { verifier, mint } = setup();
    let now = Date.now();
    const tokens = new ServiceTokenVerifier(verifier, 'products', { now: () => now });
    for (const userId of ['u-a', 'u-b', 'u-c']) tokens.verify(mint('products', 30, { userId, role: 'CUSTOMER', sessionId: `s-${userId}` }));
    expect(tokens.size).toBe(3);
    now += 31_000;
    tokens.verify(mint('products', 60, { userId: 'u-d', role: 'CUSTOMER', sessionId: 's-u-d' }));
    expect(tokens.size).toBe(1);
  });

  it('is bounded: when full, the oldest token goes and is verified again on its next use', () => {
    const { verifier, mint, checks } = setup();
    const tokens = new ServiceTokenVerifier(verifier, 'products', { maxRemembered: 2 });
    const [a, b, c] = ['u-a', 'u-b', 'u-c'].map((userId) => mint('products', 60, { userId, role: 'CUSTOMER', sessionId: `s-${userId}` }));
    for (const token of [a, b, c]) tokens.verify(token);
    expect(tokens.size).toBe(2);
    expect(checks()).toBe(3);
    tokens.verify(c);
    expect(checks()).toBe(3);
    expect(tokens.verify(a).identity.userId).toBe('u-a');
    expect(checks()).toBe(4);
    expect(tokens.size).toBe(2);
  });
});

describe('ServiceTokenMinter (a token per identity, reused for half its life)', () => {
  afterEach(() => jest.useRealTimers());

  it('reuses the token of an identity, and forgets identities whose token is no longer reusable', () => {
    jest.useFakeTimers({ now: new Date('2026-12-06T12:00:00Z') });
    const key = generateKeyPair('gateway.test1');
    const minter = new ServiceTokenMinter(new TokenSigner(key.privateKey, key.kid), 'gateway', 'products', 30);
    const identity = (n: number): Identity => ({ userId: `u-${n}`, role: 'CUSTOMER', sessionId: `s-${n}` });
    const first = minter.tokenFor(identity(1));
    expect(minter.tokenFor(identity(1))).toBe(first);
    minter.tokenFor(identity(2));
    minter.tokenFor(identity(3));
    expect(minter.size).toBe(3);
    // Half of 30 s later the sessions of identities 1-3 have ended: only the new one is remembered.
    jest.setSystemTime(Date.now() + 15_000);
    minter.tokenFor(identity(4));
    expect(minter.size).toBe(1);
  });
});
