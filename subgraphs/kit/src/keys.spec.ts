import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { devKeyEnv, generateKeyPair, loadDevKeyring, SIGNING_SERVICES } from './keys';

describe('the development keyring (npm start)', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'dev-keys-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('gives every service that calls another a signing key, payments included', () => {
    const keyring = loadDevKeyring(dataDir);
    expect(Object.keys(keyring.services).sort()).toEqual([...SIGNING_SERVICES].sort());
    expect(devKeyEnv(keyring, 'payments').SERVICE_TOKEN_PRIVATE_KEY).toBe(keyring.services.payments.privateKey);
    // Every process started from the same checkout reads the same keys.
    expect(loadDevKeyring(dataDir)).toEqual(keyring);
  });

  it('adds a missing service key to a keyring written by an earlier version, keeping the others', () => {
    const old = { access: generateKeyPair('access.dev'), services: { gateway: generateKeyPair('gateway.dev'), orders: generateKeyPair('orders.dev') } };
    writeFileSync(path.join(dataDir, 'dev-keys.json'), JSON.stringify(old));
    const keyring = loadDevKeyring(dataDir);
    expect(keyring.access).toEqual(old.access);
    expect(keyring.services.gateway).toEqual(old.services.gateway);
    expect(keyring.services.orders).toEqual(old.services.orders);
    expect(keyring.services.payments.kid).toBe('payments.dev');
    expect(JSON.parse(readFileSync(path.join(dataDir, 'dev-keys.json'), 'utf8'))).toEqual(keyring);
  });
});
