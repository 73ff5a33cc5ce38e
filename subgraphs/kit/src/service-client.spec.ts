import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppError, ErrorCode } from './errors';
import { generateKeyPair, parsePublicKeys, publicKeysJson } from './keys';
import { ServiceClient } from './service-client';
import { ServiceTokenVerifier, TokenSigner, TokenVerifier } from './tokens';

/** A callee that records the bearer token of every call and answers as `answer` says. */
async function callee(answer: (req: http.IncomingMessage, res: http.ServerResponse) => void) {
  const tokens: string[] = [];
  const server = http.createServer((req, res) => {
    tokens.push(/^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '');
    req.resume();
    req.on('end', () => answer(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    tokens,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const ordersKey = generateKeyPair('orders.test1');
const client = (baseUrl: string, timeoutMs = 2_000) =>
  new ServiceClient({
    caller: 'orders',
    target: 'inventory',
    baseUrl,
    signer: new TokenSigner(ordersKey.privateKey, ordersKey.kid),
    tokenTtlSeconds: 30,
    timeoutMs,
  });

describe('ServiceClient (the internal API calls of a checkout)', () => {
  it('sends one token per identity for many calls, so the callee checks its signature once', async () => {
    const server = await callee((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":{"ok":true}}'));
    try {
      const inventory = client(server.url);
      for (let i = 0; i < 5; i++) expect(await inventory.call('reservations/get', { orderId: `o-${i}` })).toEqual({ ok: true });
      expect(new Set(server.tokens).size).toBe(1);
      // The callee's verifier: one signature check for the five calls, each answered as the caller and audience.
      const verifier = new TokenVerifier(parsePublicKeys(publicKeysJson([ordersKey]), 'SERVICE_TOKEN_PUBLIC_KEYS'));
      const signatureChecks = jest.spyOn(verifier, 'verify');
      const remembered = new ServiceTokenVerifier(verifier, 'inventory');
      for (const token of server.tokens) expect(remembered.verify(token).caller).toBe('orders');
      expect(signatureChecks).toHaveBeenCalledTimes(1);
      // Bound to its audience: another service refuses it.
      expect(() => new ServiceTokenVerifier(verifier, 'payments').verify(server.tokens[0])).toThrow('Invalid token');
    } finally {
      await server.close();
    }
  });

  it('keeps the callee’s refusal (code and extensions) and turns a stall after the headers into SERVICE_UNAVAILABLE', async () => {
    const refusing = await callee((_req, res) =>
      res
        .writeHead(422, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { code: 'BAD_USER_INPUT', message: 'expired', extensions: { status: 'EXPIRED' } } })),
    );
    const stalling = await callee((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"data":');
    });
    try {
      const refused = await client(refusing.url)
        .call('reservations/commit', { orderId: 'o-1' })
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(AppError);
      expect(refused).toMatchObject({ code: ErrorCode.BAD_USER_INPUT, extensions: { status: 'EXPIRED' } });
      const started = Date.now();
      const stalled = await client(stalling.url, 300)
        .call('reservations/commit', { orderId: 'o-1' })
        .catch((e: unknown) => e);
      expect(stalled).toMatchObject({ code: ErrorCode.SERVICE_UNAVAILABLE });
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await refusing.close();
      await stalling.close();
    }
  });
});
