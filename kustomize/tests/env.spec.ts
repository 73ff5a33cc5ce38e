import { commonConfigShape, OTEL_VARIABLES, parseServiceConfig, parsePublicKeys, type ConfigShape } from '@shop/kit';
import type { ZodType } from 'zod';
import { gatewayConfigShape } from '../../gateway/src/env';
import { loadGatewayConfig } from '../../gateway/src/gateway';
import { inventoryConfigShape } from '../../subgraphs/inventory/src/env';
import { ordersConfigShape } from '../../subgraphs/orders/src/env';
import { paymentsConfigShape } from '../../subgraphs/payments/src/env';
import { productsConfigShape } from '../../subgraphs/products/src/env';
import { usersConfigShape } from '../../subgraphs/users/src/env';
import { OVERLAYS, allContainers, find, renderOverlay, serviceOfImage, workloads, type K8sObject, type ServiceName } from './render';
import { generatedSecrets } from './secrets';

/**
 * Every variable a service reads at start is provided in every overlay. The list is not kept
 * here: it is the service's own config shape (common kit variables + `<name>ConfigShape`),
 * imported, so a new variable without a manifest entry fails this test. The rule:
 *
 *  1. a variable without a default (required, or optional with no default) must be provided,
 *     by the service's ConfigMap or a Secret — unless it is listed in NOT_IN_KUBERNETES below
 *     with the reason it stays unset there;
 *  2. a variable with a default may be left out (the default applies) or set;
 *  3. whatever is set must be a variable the service reads (no typos, nothing stale), and the
 *     whole environment a container gets (ConfigMap + the Secrets that
 *     scripts/create-secrets.mjs generates) must pass the service's own validation;
 *  4. secret variables (database and Redis URLs, private keys, passwords) come from
 *     secretKeyRef, never from a ConfigMap or a literal value, in every overlay.
 */
const SHAPES: Record<ServiceName, ConfigShape> = {
  gateway: { ...commonConfigShape, ...gatewayConfigShape },
  users: { ...commonConfigShape, ...usersConfigShape },
  products: { ...commonConfigShape, ...productsConfigShape },
  inventory: { ...commonConfigShape, ...inventoryConfigShape },
  orders: { ...commonConfigShape, ...ordersConfigShape },
  payments: { ...commonConfigShape, ...paymentsConfigShape },
};

const NO_SIGNING = 'calls no other service, so it has no signing key';
const NOT_IN_KUBERNETES: Partial<Record<ServiceName, Record<string, string>>> = {
  gateway: {
    DATABASE_URL: 'the gateway keeps nothing durable (Redis only)',
    ...Object.fromEntries(
      ['USERS', 'PRODUCTS', 'INVENTORY', 'PAYMENTS'].map((name) => [`${name}_TIMEOUT_MS`, 'unset, SUBGRAPH_TIMEOUT_MS applies to that subgraph']),
    ),
  },
  users: {
    SERVICE_TOKEN_PRIVATE_KEY: NO_SIGNING,
    SERVICE_TOKEN_KID: NO_SIGNING,
    PASSWORD_HASH_CONCURRENCY: 'unset, users sizes its bcrypt queue by the CPUs it may use',
  },
  products: { SERVICE_TOKEN_PRIVATE_KEY: NO_SIGNING, SERVICE_TOKEN_KID: NO_SIGNING },
  payments: { FAULT_CRASH_AFTER_APPLY: 'fault injection for tests only' },
  orders: { FAULT_CRASH_AFTER: 'fault injection for tests only' },
};

const SECRET = /^(DATABASE_URL|REDIS_URL)$|PRIVATE_KEY|PASSWORD|SECRET/;

function hasDefault(schema: ZodType): boolean {
  const result = schema.safeParse(undefined);
  return result.success && result.data !== undefined;
}

interface ProvidedVariable {
  source: 'configMap' | 'secret' | 'value';
  value?: string;
  secret?: { name: string; key: string };
}

/** What a container's environment is made of, by variable name. */
function environmentOf(objects: K8sObject[], container: { envFrom?: unknown[]; env?: unknown[] }): Map<string, ProvidedVariable> {
  const provided = new Map<string, ProvidedVariable>();
  for (const from of (container.envFrom ?? []) as { configMapRef?: { name: string }; secretRef?: { name: string } }[]) {
    if (from.secretRef) throw new Error(`envFrom secretRef ${from.secretRef.name}: name each secret variable instead, so it can be checked`);
    const data = find(objects, 'ConfigMap', from.configMapRef!.name).data ?? {};
    for (const [name, value] of Object.entries(data)) provided.set(name, { source: 'configMap', value: String(value) });
  }
  for (const entry of (container.env ?? []) as {
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string } };
  }[]) {
    if (entry.valueFrom?.secretKeyRef) provided.set(entry.name, { source: 'secret', secret: entry.valueFrom.secretKeyRef });
    else if (entry.valueFrom?.configMapKeyRef) {
      const ref = entry.valueFrom.configMapKeyRef;
      provided.set(entry.name, { source: 'configMap', value: find(objects, 'ConfigMap', ref.name).data?.[ref.key] });
    } else provided.set(entry.name, { source: 'value', value: entry.value });
  }
  return provided;
}

/** Every container in an overlay that runs a platform service's image. */
function serviceContainers(objects: K8sObject[]) {
  return workloads(objects).flatMap(({ id, template }) =>
    allContainers(template.spec)
      .map(({ container }) => ({ id: `${id}/${container.name}`, container, service: serviceOfImage(container.image) }))
      .filter((c): c is typeof c & { service: ServiceName } => c.service !== undefined && c.container.args?.[1]?.startsWith('dist/')),
  );
}

describe('the rule itself', () => {
  it('reads required and optional-without-default variables from the shapes', () => {
    expect(hasDefault(SHAPES.users.ACCESS_TOKEN_PRIVATE_KEY)).toBe(false);
    expect(hasDefault(SHAPES.users.DATABASE_URL)).toBe(false);
    expect(hasDefault(SHAPES.users.BCRYPT_COST)).toBe(true);
    expect(hasDefault(SHAPES.gateway.PLAYGROUND_ENABLED)).toBe(false);
  });

  it('lists exemptions only for variables the services really read', () => {
    for (const [service, exempt] of Object.entries(NOT_IN_KUBERNETES))
      for (const name of Object.keys(exempt)) expect(`${service}.${name} ${name in SHAPES[service as ServiceName]}`).toBe(`${service}.${name} true`);
  });
});

describe.each(OVERLAYS)('overlay %s: service environments', (overlay) => {
  const objects = () => renderOverlay(overlay);
  const secrets = generatedSecrets(`shop-${overlay}`);

  it('covers every container that runs a service (deployments, migrations, seed)', () => {
    const ids = serviceContainers(objects()).map((c) => c.id);
    expect(ids).toEqual(expect.arrayContaining(['Deployment/gateway/gateway', 'Deployment/users/migrate', 'Deployment/users/users']));
    expect(ids.length).toBeGreaterThanOrEqual(11);
  });

  it('provides every variable without a default, and sets only variables the service reads', () => {
    const problems: string[] = [];
    for (const { id, container, service } of serviceContainers(objects())) {
      const shape = SHAPES[service];
      const provided = environmentOf(objects(), container);
      for (const [name, schema] of Object.entries(shape))
        if (!hasDefault(schema) && !provided.has(name) && !NOT_IN_KUBERNETES[service]?.[name])
          problems.push(`${id}: ${name} is read by ${service}, has no default, and is not provided`);
      // OTEL_* go to the OpenTelemetry SDK (kit/src/tracing.ts) and NODE_OPTIONS to node itself
      // (the heap bound, policy.spec.ts), not to the config shape.
      const runtime = new Set<string>([...OTEL_VARIABLES, 'NODE_OPTIONS']);
      for (const name of provided.keys())
        if (!(name in shape) && !runtime.has(name)) problems.push(`${id}: sets ${name}, which ${service} does not read`);
      for (const name of Object.keys(NOT_IN_KUBERNETES[service] ?? {}))
        if (provided.has(name)) problems.push(`${id}: ${name} is listed as not set in Kubernetes, yet set`);
    }
    expect(problems).toEqual([]);
  });

  it('takes secret variables from Secrets only', () => {
    const problems: string[] = [];
    for (const { id, container } of serviceContainers(objects()))
      for (const [name, variable] of environmentOf(objects(), container))
        if (SECRET.test(name) && variable.source !== 'secret') problems.push(`${id}: ${name} comes from a ${variable.source}`);
    expect(problems).toEqual([]);
  });

  it('references only Secrets (and keys) that scripts/create-secrets.mjs creates', () => {
    const problems: string[] = [];
    for (const { id, template } of workloads(objects()))
      for (const { container } of allContainers(template.spec))
        for (const entry of container.env ?? []) {
          const ref = entry.valueFrom?.secretKeyRef;
          if (ref && secrets.get(ref.name)?.[ref.key] === undefined) problems.push(`${id}: ${entry.name} <- ${ref.name}/${ref.key}`);
        }
    expect(problems).toEqual([]);
  });

  it('gives each container an environment its service accepts at start', () => {
    for (const { id, container, service } of serviceContainers(objects())) {
      const env: NodeJS.ProcessEnv = {};
      for (const [name, variable] of environmentOf(objects(), container))
        env[name] = variable.source === 'secret' ? secrets.get(variable.secret!.name)![variable.secret!.key] : variable.value;
      const parse = () => (service === 'gateway' ? loadGatewayConfig(env) : parseServiceConfig(service, SHAPES[service], env));
      expect({ id, error: (() => { try { parse(); return undefined; } catch (e) { return String(e); } })() }).toEqual({ id, error: undefined });
      const config = parse() as Record<string, unknown>;
      expect(config.NODE_ENV).toBe('production');
      expect(config.PORT).toBe(container.ports?.[0]?.containerPort ?? config.PORT);
      parsePublicKeys(String(config.SERVICE_TOKEN_PUBLIC_KEYS), 'SERVICE_TOKEN_PUBLIC_KEYS');
    }
  });

  it('points the gateway, orders, payments and inventory at the in-cluster Services of the others', () => {
    const config = (service: string) =>
      find(objects(), 'ConfigMap', find(objects(), 'Deployment', service).spec.template.spec.containers[0].envFrom[0].configMapRef.name).data;
    const services = new Map(
      objects()
        .filter((o) => o.kind === 'Service')
        .map((s) => [s.metadata.name, s.spec.ports[0].port]),
    );
    for (const [service, variables] of [
      ['gateway', ['USERS_URL', 'PRODUCTS_URL', 'INVENTORY_URL', 'ORDERS_URL', 'PAYMENTS_URL']],
      ['orders', ['PRODUCTS_URL', 'INVENTORY_URL', 'PAYMENTS_URL']],
      // The authorization sweeper asks orders which holds it will still capture.
      ['payments', ['ORDERS_URL']],
      // setStock asks the catalog whether the product exists.
      ['inventory', ['PRODUCTS_URL']],
    ] as const)
      for (const variable of variables) {
        const url = new URL(config(service)[variable]);
        const target = variable.replace('_URL', '').toLowerCase();
        expect([url.hostname, Number(url.port)]).toEqual([target, services.get(target)]);
      }
  });

  it('gives every subgraph that calls another its own signing key, whose kid the others trust', () => {
    const trusted = parsePublicKeys(secrets.get('shop-platform-keys')!['service-token-public-keys'], 'SERVICE_TOKEN_PUBLIC_KEYS');
    const problems: string[] = [];
    for (const { id, container, service } of serviceContainers(objects())) {
      if (service === 'gateway') continue;
      const provided = environmentOf(objects(), container);
      const calls = [...provided.keys()].filter((name) => /^(USERS|PRODUCTS|INVENTORY|ORDERS|PAYMENTS)_URL$/.test(name));
      if (calls.length === 0) continue;
      const key = provided.get('SERVICE_TOKEN_PRIVATE_KEY')?.secret;
      const kid = provided.get('SERVICE_TOKEN_KID')?.secret;
      if (key?.name !== `shop-${service}-signing-key` || kid?.name !== key.name)
        problems.push(`${id}: calls ${calls.join(', ')} without its own signing key (${key?.name ?? 'none'})`);
      else if (!trusted.has(secrets.get(kid.name)![kid.key])) problems.push(`${id}: its kid is not in shop-platform-keys`);
    }
    expect(problems).toEqual([]);
  });
});
