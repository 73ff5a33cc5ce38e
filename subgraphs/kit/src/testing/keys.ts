import { generateKeyPair, publicKeysJson, type KeyPairPem } from '../keys';

/** A full keyring for a test run, and the env each service needs from it. */
export interface TestKeys {
  access: KeyPairPem;
  services: Record<string, KeyPairPem>;
  envFor(service: string): Record<string, string>;
}

/**
 * By default every service that calls another: the gateway, orders (the saga), payments (its
 * sweeper asks orders), inventory (setStock asks products whether the product exists).
 */
export function createTestKeys(signingServices: string[] = ['gateway', 'orders', 'payments', 'inventory']): TestKeys {
  const access = generateKeyPair('access.test1');
  const services = Object.fromEntries(signingServices.map((name) => [name, generateKeyPair(`${name}.test1`)]));
  return {
    access,
    services,
    envFor(service: string) {
      const env: Record<string, string> = {
        ACCESS_TOKEN_PUBLIC_KEYS: publicKeysJson([access]),
        SERVICE_TOKEN_PUBLIC_KEYS: publicKeysJson(Object.values(services)),
      };
      if (service === 'users') {
        env.ACCESS_TOKEN_PRIVATE_KEY = access.privateKey;
        env.ACCESS_TOKEN_KID = access.kid;
      }
      if (services[service]) {
        env.SERVICE_TOKEN_PRIVATE_KEY = services[service].privateKey;
        env.SERVICE_TOKEN_KID = services[service].kid;
      }
      return env;
    },
  };
}
