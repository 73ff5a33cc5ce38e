import { generateKeyPairSync, createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface KeyPairPem {
  kid: string;
  privateKey: string;
  publicKey: string;
}

/** A fresh EC P-256 key pair for ES256 tokens. */
export function generateKeyPair(kid: string): KeyPairPem {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    kid,
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** PEM from an env var: real newlines, or "\n" escapes as one-line env files carry them. */
export function pemFromEnv(value: string): string {
  return value.includes('\\n') ? value.replace(/\\n/g, '\n') : value;
}

/** Parses a {kid: PEM} JSON map of public keys, as the *_PUBLIC_KEYS variables hold. */
export function parsePublicKeys(json: string, variable: string): Map<string, KeyObject> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new Error(`config error: ${variable} must be a JSON object of {kid: PEM public key}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new Error(`config error: ${variable} must be a JSON object of {kid: PEM public key}`);
  const keys = new Map<string, KeyObject>();
  for (const [kid, pem] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof pem !== 'string') throw new Error(`config error: ${variable} key "${kid}" is not a PEM string`);
    try {
      keys.set(kid, createPublicKey(pemFromEnv(pem)));
    } catch {
      throw new Error(`config error: ${variable} key "${kid}" is not a valid PEM public key`);
    }
  }
  if (keys.size === 0) throw new Error(`config error: ${variable} holds no keys`);
  return keys;
}

export function publicKeysJson(pairs: KeyPairPem[]): string {
  return JSON.stringify(Object.fromEntries(pairs.map((p) => [p.kid, p.publicKey])));
}

/**
 * Every key the platform needs, for development only: generated once into DATA_DIR so that
 * services started as separate processes from one checkout agree on them. Production sets
 * the variables from Secrets instead (see README, "Configuration").
 */
export interface DevKeyring {
  access: KeyPairPem;
  services: Record<string, KeyPairPem>;
}

/**
 * Services that call others and so sign service tokens (payments asks orders which holds to
 * void; inventory asks products whether a product exists before it keeps stock for it).
 */
export const SIGNING_SERVICES = ['gateway', 'orders', 'payments', 'inventory'] as const;

export function loadDevKeyring(dataDir: string): DevKeyring {
  const file = path.resolve(dataDir, 'dev-keys.json');
  const existing = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as DevKeyring) : undefined;
  // A keyring written before a service started signing gains that service's key; the others stay.
  if (existing && SIGNING_SERVICES.every((name) => existing.services[name])) return existing;
  const keyring: DevKeyring = {
    access: existing?.access ?? generateKeyPair('access.dev'),
    services: Object.fromEntries(
      SIGNING_SERVICES.map((name) => [name, existing?.services[name] ?? generateKeyPair(`${name}.dev`)]),
    ),
  };
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(keyring, null, 2), { mode: 0o600 });
  renameSync(temporary, file);
  return JSON.parse(readFileSync(file, 'utf8')) as DevKeyring;
}

/** The environment variables a dev keyring stands for, to merge under the real environment. */
export function devKeyEnv(keyring: DevKeyring, service: string): Record<string, string> {
  const env: Record<string, string> = {
    ACCESS_TOKEN_PUBLIC_KEYS: publicKeysJson([keyring.access]),
    SERVICE_TOKEN_PUBLIC_KEYS: publicKeysJson(Object.values(keyring.services)),
  };
  if (service === 'users') {
    env.ACCESS_TOKEN_PRIVATE_KEY = keyring.access.privateKey;
    env.ACCESS_TOKEN_KID = keyring.access.kid;
  }
  const own = keyring.services[service];
  if (own) {
    env.SERVICE_TOKEN_PRIVATE_KEY = own.privateKey;
    env.SERVICE_TOKEN_KID = own.kid;
  }
  return env;
}
