import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { playgroundHtml } from '../../gateway/src/http/playground';
import { FLOWS, PEERS } from './flows';
import { allowed, routes, selects, type PodRef } from './k8s-util';
import { IMMUTABLE_TAG, RULES } from './rules';
import {
  ADMIN_KINDS,
  KUSTOMIZE_ROOT,
  REPO_ROOT,
  OVERLAYS,
  SERVICES,
  SERVICE_PORTS,
  SUBGRAPHS,
  allContainers,
  find,
  ofKind,
  renderAdmin,
  renderDir,
  renderEnvironment,
  renderOverlay,
  serviceOfImage,
  workloads,
  type K8sObject,
  type Overlay,
} from './render';

/** Replicas the overlay sets where no HorizontalPodAutoscaler owns the scale. */
const REPLICAS: Record<Overlay, number | 'hpa'> = { dev: 1, staging: 2, production: 'hpa' };
/** Overlays that use the network-policies and high-availability components. */
const HARDENED: Overlay[] = ['staging', 'production'];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    if (entry === 'node_modules') return [];
    return statSync(full).isDirectory() ? files(full) : [full];
  });
}

describe('kustomization files', () => {
  const kustomizations = files(KUSTOMIZE_ROOT).filter((f) => path.basename(f) === 'kustomization.yaml');

  it('use labels, patches and images, never the deprecated fields', () => {
    expect(kustomizations.length).toBeGreaterThanOrEqual(8);
    const deprecated = ['commonLabels', 'patchesStrategicMerge', 'patchesJson6902', 'bases', 'vars', 'imageTags'];
    const found = kustomizations.flatMap((file) => {
      const document = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      return deprecated.filter((field) => field in document).map((field) => `${path.relative(KUSTOMIZE_ROOT, file)}: ${field}`);
    });
    expect(found).toEqual([]);
  });

  it('keep no private key or plaintext Secret in the repository', () => {
    const offenders = files(KUSTOMIZE_ROOT)
      .filter((f) => !f.includes(`${path.sep}tests${path.sep}`))
      .filter((f) => /PRIVATE KEY-----|^kind:\s*Secret\b/m.test(readFileSync(f, 'utf8')));
    expect(offenders.map((f) => path.relative(KUSTOMIZE_ROOT, f))).toEqual([]);
  });
});

describe.each(OVERLAYS)('overlay %s', (overlay) => {
  const objects = () => renderEnvironment(overlay);
  const namespace = `shop-${overlay}`;

  it('has its own namespace, enforcing the restricted Pod Security Standard', () => {
    const namespaces = ofKind(objects(), 'Namespace');
    expect(namespaces.map((n) => n.metadata.name)).toEqual([namespace]);
    expect(namespaces[0].metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/enforce-version': 'latest',
    });
    const elsewhere = objects().filter((o) => o.kind !== 'Namespace' && o.metadata.namespace !== namespace);
    expect(elsewhere.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
    // The namespace, its guard rails and RBAC are the cluster admin's (overlays/<env>/admin), the rest the deployer's.
    expect([...new Set(renderAdmin(overlay).map((o) => o.kind))].sort()).toEqual([...ADMIN_KINDS].sort());
    expect(renderOverlay(overlay).filter((o) => ADMIN_KINDS.includes(o.kind))).toEqual([]);
  });

  it.each(RULES.map((rule) => [rule.id, rule] as const))('passes the policy rule %s', (_id, rule) => {
    expect(rule.check(objects())).toEqual([]);
  });

  it.each(RULES.map((rule) => [rule.id, rule] as const))('reports a manifest that breaks rule %s', (_id, rule) => {
    const broken = structuredClone(objects());
    rule.breaks(broken);
    expect(rule.check(broken).length).toBeGreaterThan(0);
  });

  it('probes each service on its own port: /health for startup and liveness, /ready for readiness', () => {
    for (const service of SERVICES) {
      const container = find(objects(), 'Deployment', service).spec.template.spec.containers[0];
      const port = container.ports.find((p: { name: string }) => p.name === 'http').containerPort;
      expect(port).toBe(SERVICE_PORTS[service]);
      expect(container.startupProbe.httpGet).toEqual({ path: '/health', port: 'http' });
      expect(container.livenessProbe.httpGet).toEqual({ path: '/health', port: 'http' });
      expect(container.readinessProbe.httpGet).toEqual({ path: '/ready', port: 'http' });
      expect(container.args).toEqual(['node', 'dist/index.js']);
    }
  });

  it('migrates each subgraph database in an init container running its own migration command', () => {
    for (const service of SUBGRAPHS) {
      const spec = find(objects(), 'Deployment', service).spec.template.spec;
      expect(spec.initContainers).toHaveLength(1);
      const [migrate] = spec.initContainers;
      expect(migrate.args).toEqual(['node', 'dist/migrate.js']);
      expect(migrate.image).toBe(spec.containers[0].image);
      // The same configuration; only the heap bound differs, each sized for its own memory limit (rule node-heap-bound).
      const withoutHeap = (env: { name: string }[]) => env.filter((e) => e.name !== 'NODE_OPTIONS');
      expect(withoutHeap(migrate.env)).toEqual(withoutHeap(spec.containers[0].env));
      expect(migrate.envFrom).toEqual(spec.containers[0].envFrom);
    }
    expect(find(objects(), 'Deployment', 'gateway').spec.template.spec.initContainers).toBeUndefined();
  });

  it('labels every object with this instance, and every object a release ships with the version its images run', () => {
    const version = find(objects(), 'Deployment', 'users').spec.template.spec.containers[0].image.split(':').pop();
    for (const object of renderAdmin(overlay))
      expect([`${object.kind}/${object.metadata.name}`, object.metadata.labels?.['app.kubernetes.io/instance']]).toEqual([`${object.kind}/${object.metadata.name}`, `shop-${overlay}`]);
    for (const object of renderOverlay(overlay))
      expect([`${object.kind}/${object.metadata.name}`, object.metadata.labels?.['app.kubernetes.io/instance'], object.metadata.labels?.['app.kubernetes.io/version']]).toEqual([
        `${object.kind}/${object.metadata.name}`,
        `shop-${overlay}`,
        version,
      ]);
  });

  it('has each Service select exactly one workload, on a port that workload declares', () => {
    const templates = workloads(objects()).filter((w) => ['Deployment', 'StatefulSet'].includes(w.object.kind));
    for (const service of ofKind(objects(), 'Service')) {
      const matching = templates.filter((w) => selects({ matchLabels: service.spec.selector }, w.template.metadata?.labels));
      expect({ service: service.metadata.name, matching: matching.map((m) => m.id) }).toEqual({
        service: service.metadata.name,
        matching: [expect.any(String)],
      });
      const names = matching[0].template.spec.containers.flatMap((c: { ports?: { name: string }[] }) => (c.ports ?? []).map((p) => p.name));
      for (const port of service.spec.ports) expect(names).toContain(port.targetPort);
    }
  });

  it('sets replicas where no HorizontalPodAutoscaler owns the scale, and leaves them out where one does', () => {
    for (const service of SERVICES) {
      const replicas = find(objects(), 'Deployment', service).spec.replicas;
      const hpa = ofKind(objects(), 'HorizontalPodAutoscaler').find((h) => h.spec.scaleTargetRef.name === service);
      expect({ service, replicas, hpa: Boolean(hpa) }).toEqual({ service, replicas: REPLICAS[overlay] === 'hpa' ? undefined : REPLICAS[overlay], hpa: REPLICAS[overlay] === 'hpa' });
    }
  });

  it('sets every service image through the images transformer: the registry, one immutable tag for all', () => {
    const images = workloads(objects()).flatMap(({ template }) => allContainers(template.spec).map(({ container }) => container.image as string));
    for (const image of images.filter((i) => serviceOfImage(i))) expect(image).toMatch(/^registry\.example\.com\/shop\/[a-z]+:/);
    const tags = new Set(images.filter((i) => serviceOfImage(i)).map((i) => i.split(':').pop()));
    expect(tags.size).toBe(1);
    expect(`:${[...tags][0]}`).toMatch(IMMUTABLE_TAG);
    const kustomization = parse(readFileSync(path.join(KUSTOMIZE_ROOT, `overlays/${overlay}/kustomization.yaml`), 'utf8')) as { images: { name: string }[] };
    expect(kustomization.images.map((i) => i.name).filter((n) => n.startsWith('shop/')).sort()).toEqual(SERVICES.map((s) => `shop/${s}`).sort());
  });

  it('exposes only the gateway, through an Ingress with its own host and TLS secret', () => {
    const ingresses = ofKind(objects(), 'Ingress');
    expect(ingresses).toHaveLength(1);
    const [ingress] = ingresses;
    const host = ingress.spec.rules[0].host;
    expect(host).toBe(overlay === 'production' ? 'shop.example.com' : `shop.${overlay}.example.com`);
    expect(ingress.spec.tls).toEqual([{ hosts: [host], secretName: `shop-${overlay}-tls` }]);
    const backends = ingress.spec.rules.flatMap((r: { http: { paths: { backend: { service: { name: string } } }[] } }) =>
      r.http.paths.map((p) => p.backend.service.name),
    );
    expect(new Set(backends)).toEqual(new Set(['gateway']));
    // What the browser asks for: the API, and with the playground on, the page and every asset it loads.
    const gatewayConfig = find(objects(), 'ConfigMap', find(objects(), 'Deployment', 'gateway').spec.template.spec.containers[0].envFrom[0].configMapRef.name).data;
    const page = playgroundHtml('/graphql');
    const assets = [...page.matchAll(/(?:src|href)="(\/[^"]+)"/g)].map((m) => m[1]);
    expect(assets.length).toBeGreaterThan(3);
    const paths = ['/graphql', ...assets, '/playground/schema.json'];
    const routed = (p: string) => routes(ingress).some((route) => route.matches(p));
    if (gatewayConfig.PLAYGROUND_ENABLED === 'true') expect(paths.filter((p) => !routed(p))).toEqual([]);
    else expect(paths.filter((p) => routed(p))).toEqual(['/graphql']);
    expect(ofKind(objects(), 'Service').every((s) => (s.spec.type ?? 'ClusterIP') === 'ClusterIP')).toBe(true);
  });

  it('has guard rails (a ResourceQuota and a LimitRange; their fit: capacity.spec.ts) and RBAC roles bound to the overlay groups', () => {
    expect(find(objects(), 'ResourceQuota', 'shop-quota').spec.hard['limits.cpu']).toBeDefined();
    expect(find(objects(), 'LimitRange', 'shop-limits').spec.limits.length).toBeGreaterThan(0);
    const developer = find(objects(), 'Role', 'shop-developer');
    const granted = developer.rules.flatMap((r: { resources: string[]; verbs: string[] }) => r.resources.map((res) => [res, r.verbs] as const));
    for (const resource of ['pods', 'pods/log', 'services', 'configmaps', 'deployments'])
      expect(granted.find(([r]: readonly [string, string[]]) => r === resource)?.[1]).toEqual(['get', 'list', 'watch']);
    for (const [, verbs] of granted) expect(verbs.every((v: string) => ['get', 'list', 'watch'].includes(v))).toBe(true);
    const deployer = find(objects(), 'Role', 'shop-deployer');
    const deployerVerbs = deployer.rules.find((r: { resources: string[] }) => r.resources.includes('deployments')).verbs;
    expect(deployerVerbs).toEqual(expect.arrayContaining(['create', 'update', 'patch']));
    for (const [binding, role, group] of [
      ['shop-developers', 'shop-developer', `shop-${overlay}-developers`],
      ['shop-deployers', 'shop-deployer', `shop-${overlay}-deployers`],
    ]) {
      const rb = find(objects(), 'RoleBinding', binding);
      expect(rb.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role });
      expect(rb.subjects).toEqual([{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: group }]);
    }
  });

  it('has the e2e storefront journey as an on-demand Job (suspended CronJob) against the gateway, as the test account', () => {
    const e2e = find(objects(), 'CronJob', 'e2e');
    expect(e2e.spec.suspend).toBe(true);
    const pod = e2e.spec.jobTemplate.spec.template.spec;
    expect(e2e.spec.jobTemplate.spec.backoffLimit).toBe(0);
    expect(pod.containers[0].args).toEqual(['node', '/e2e/storefront-journey.mjs']);
    // Its heap bound (NODE_OPTIONS) is the node-heap-bound rule's concern.
    const env = Object.fromEntries(
      pod.containers[0].env.filter((e: { name: string }) => e.name !== 'NODE_OPTIONS').map((e: { name: string; value?: string; valueFrom?: unknown }) => [e.name, e.value ?? e.valueFrom]),
    );
    expect(env).toEqual({
      GATEWAY_URL: `http://gateway:${SERVICE_PORTS.gateway}`,
      E2E_EMAIL: { secretKeyRef: { name: 'shop-e2e-account', key: 'email' } },
      E2E_PASSWORD: { secretKeyRef: { name: 'shop-e2e-account', key: 'password' } },
    });
    const script = find(objects(), 'ConfigMap', pod.volumes.find((v: { name: string }) => v.name === 'e2e').configMap.name);
    expect(script.data['storefront-journey.mjs']).toBe(readFileSync(path.join(KUSTOMIZE_ROOT, 'components/e2e/storefront-journey.mjs'), 'utf8'));
     expectTrustedDocumentsMounted(objects(), pod);
  });

  it('renders no VerticalPodAutoscaler (an optional component: a cluster without its CRDs would reject the apply)', () => {
    expect(ofKind(objects(), 'VerticalPodAutoscaler')).toEqual([]);
  });

  it('delivers the supergraph to the gateway as a generated ConfigMap at SUPERGRAPH_PATH', () => {
    const gateway = find(objects(), 'Deployment', 'gateway').spec.template.spec;
    const volume = gateway.volumes.find((v: { name: string }) => v.name === 'supergraph');
    const configMap = find(objects(), 'ConfigMap', volume.configMap.name);
    expect(configMap.metadata.name).toMatch(/^gateway-supergraph-[a-z0-9]{10}$/);
    const mount = gateway.containers[0].volumeMounts.find((m: { name: string }) => m.name === 'supergraph');
    const config = find(objects(), 'ConfigMap', gateway.containers[0].envFrom[0].configMapRef.name).data;
    expect(config.SUPERGRAPH_PATH).toBe(`${mount.mountPath}/supergraph.graphql`);
    expect(Object.keys(configMap.data)).toEqual(['supergraph.graphql']);
    expect(configMap.data['supergraph.graphql']).toBe(
      readFileSync(path.join(KUSTOMIZE_ROOT, 'base/gateway/supergraph.graphql'), 'utf8'),
    );
  });

  it('delivers the trusted-documents manifest as a generated ConfigMap at TRUSTED_DOCUMENTS_PATH, in the mode of the environment', () => {
    const gateway = find(objects(), 'Deployment', 'gateway').spec.template.spec;
    const volume = gateway.volumes.find((v: { name: string }) => v.name === 'trusted-documents');
    const configMap = find(objects(), 'ConfigMap', volume.configMap.name);
    // Hash-suffixed: a new manifest is a new name in the pod template, so the gateway rolls.
    expect(configMap.metadata.name).toMatch(/^gateway-trusted-documents-[a-z0-9]{10}$/);
    const mount = gateway.containers[0].volumeMounts.find((m: { name: string }) => m.name === 'trusted-documents');
    const config = find(objects(), 'ConfigMap', gateway.containers[0].envFrom[0].configMapRef.name).data;
    expect(config.TRUSTED_DOCUMENTS_PATH).toBe(`${mount.mountPath}/trusted-documents.json`);
    expect(Object.keys(configMap.data)).toEqual(['trusted-documents.json']);
    expect(configMap.data['trusted-documents.json']).toBe(readFileSync(path.join(REPO_ROOT, 'gateway/trusted-documents.json'), 'utf8'));
    expect(config.TRUSTED_DOCUMENTS_MODE).toBe({ dev: 'off', staging: 'log', production: 'enforce' }[overlay]);
  });

  it('names hashed ConfigMaps in every pod that reads them, so a config change rolls the pods', () => {
    const configMaps = new Set(ofKind(objects(), 'ConfigMap').map((c) => c.metadata.name));
    for (const { id, template } of workloads(objects())) {
      const names = [
        ...(template.spec.volumes ?? []).filter((v: { configMap?: unknown }) => v.configMap).map((v: { configMap: { name: string } }) => v.configMap.name),
        ...allContainers(template.spec).flatMap(({ container }) =>
          (container.envFrom ?? []).filter((e: { configMapRef?: unknown }) => e.configMapRef).map((e: { configMapRef: { name: string } }) => e.configMapRef.name),
        ),
      ];
      for (const name of names) {
        expect({ id, name, exists: configMaps.has(name) }).toEqual({ id, name, exists: true });
        expect(name).toMatch(/-[a-z0-9]{10}$/);
      }
    }
  });

  it('turns the playground and introspection on outside production only, and debug logs on in dev', () => {
    const config = (service: string) => {
      const deployment = find(objects(), 'Deployment', service);
      return find(objects(), 'ConfigMap', deployment.spec.template.spec.containers[0].envFrom[0].configMapRef.name).data;
    };
    const gateway = config('gateway');
    const on = overlay === 'production' ? 'false' : 'true';
    expect([gateway.PLAYGROUND_ENABLED, gateway.INTROSPECTION_ENABLED]).toEqual([on, on]);
    for (const service of SERVICES) {
      expect(config(service).LOG_LEVEL).toBe(overlay === 'dev' ? 'debug' : 'info');
      expect(config(service).NODE_ENV).toBe('production');
    }
  });
});

describe('production', () => {
  const objects = () => renderOverlay('production');

  it('autoscales every service on CPU from 3 replicas, with scale-up and scale-down behaviour', () => {
    for (const service of SERVICES) {
      const hpa = find(objects(), 'HorizontalPodAutoscaler', service);
      expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: service });
      expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(3);
      expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
      // Not memory: a Node heap rarely shrinks after load, so a memory target would keep the
      // replicas up long after the load has gone (docs/deploying.md, "Autoscaling").
      expect(hpa.spec.metrics.map((m: { resource: { name: string } }) => m.resource.name)).toEqual(['cpu']);
      expect(hpa.spec.behavior.scaleUp.policies.length).toBeGreaterThan(0);
      expect(hpa.spec.behavior.scaleDown.stabilizationWindowSeconds).toBeGreaterThan(0);
      const container = find(objects(), 'Deployment', service).spec.template.spec.containers[0];
      expect(container.resources.requests.cpu).toBeDefined(); // utilisation needs requests
    }
  });

  it('ships no Secret and no secret value: secret variables come from Secrets the cluster provides', () => {
    expect(ofKind(objects(), 'Secret')).toEqual([]);
    const problems: string[] = [];
    for (const configMap of ofKind(objects(), 'ConfigMap'))
      for (const [key, value] of Object.entries(configMap.data ?? {}))
        if (/PASSWORD|PRIVATE_KEY|DATABASE_URL|REDIS_URL|SECRET/i.test(key) || /PRIVATE KEY-----|:\/\/[^/\s:]*:[^@\s]+@/.test(String(value)))
          problems.push(`ConfigMap ${configMap.metadata.name}: ${key}`);
    expect(problems).toEqual([]);
  });
  it('monitors with a ServiceMonitor that selects every service, PrometheusRule alerts and the Grafana dashboard', () => {
    const monitor = find(objects(), 'ServiceMonitor', 'shop');
    const services = ofKind(objects(), 'Service').filter((s) => selects(monitor.spec.selector, s.metadata.labels));
    expect(services.map((s) => s.metadata.name).sort()).toEqual([...SERVICES].sort());
    for (const service of services) expect(service.spec.ports.map((p: { name: string }) => p.name)).toContain(monitor.spec.endpoints[0].port);
    const alerts = find(objects(), 'PrometheusRule', 'shop-alerts').spec.groups.flatMap((g: { rules: { alert: string }[] }) => g.rules.map((r) => r.alert));
    expect(alerts).toEqual(expect.arrayContaining(['ShopHighErrorRate', 'ShopHighLatency', 'ShopPodsNotReady', 'ShopPaymentFailuresSpiking']));
    const dashboard = find(objects(), 'ConfigMap', 'shop-grafana-dashboard');
    expect(dashboard.metadata.labels?.grafana_dashboard).toBe('1');
    expect(JSON.parse(dashboard.data['shop-overview.json']).uid).toBe('shop-overview');
  });

  it('backs up every service database nightly to a PersistentVolumeClaim, and has an on-demand smoke test', () => {
    const backup = find(objects(), 'CronJob', 'postgres-backup');
    const pod = backup.spec.jobTemplate.spec.template.spec;
    const claim = pod.volumes.find((v: { persistentVolumeClaim?: unknown }) => v.persistentVolumeClaim).persistentVolumeClaim.claimName;
    expect(find(objects(), 'PersistentVolumeClaim', claim).spec.resources.requests.storage).toBeDefined();
    const urls = pod.containers[0].env.filter((e: { name: string }) => e.name.endsWith('_DATABASE_URL'));
    expect(urls.map((e: { valueFrom: { secretKeyRef: { name: string } } }) => e.valueFrom.secretKeyRef.name).sort()).toEqual(
      SUBGRAPHS.map((s) => `shop-${s}-database`).sort(),
    );
    expect(backup.spec.concurrencyPolicy).toBe('Forbid');
    const smoke = find(objects(), 'CronJob', 'smoke-test');
    expect(smoke.spec.suspend).toBe(true);
    const env = smoke.spec.jobTemplate.spec.template.spec.containers[0].env.filter((e: { name: string }) => e.name !== 'NODE_OPTIONS');
    expect(env).toEqual([{ name: 'GATEWAY_URL', value: 'http://gateway:4000' }]);
     expectTrustedDocumentsMounted(objects(), smoke.spec.jobTemplate.spec.template.spec);
  });

});

describe.each(HARDENED)('overlay %s: the safety nets of production, exercised in staging too', (overlay) => {
  const objects = () => renderOverlay(overlay);
  const namespace = `shop-${overlay}`;

  it('keeps a disruption budget over each service and spreads its pods across zones and nodes', () => {
    for (const service of SERVICES) {
      const pdb = find(objects(), 'PodDisruptionBudget', service);
      const template = find(objects(), 'Deployment', service).spec.template;
      expect(selects(pdb.spec.selector, template.metadata.labels)).toBe(true);
      const others = SERVICES.filter((s) => s !== service).map((s) => find(objects(), 'Deployment', s).spec.template.metadata.labels);
      expect(others.some((labels) => selects(pdb.spec.selector, labels))).toBe(false);
      // maxUnavailable (not minAvailable) so that a drain of a one-replica service still proceeds.
      expect(pdb.spec.maxUnavailable).toBe(1);
      const spread = template.spec.topologySpreadConstraints;
      expect(spread.map((c: { topologyKey: string }) => c.topologyKey).sort()).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
      for (const constraint of spread) {
        expect(selects(constraint.labelSelector, template.metadata.labels)).toBe(true);
        expect(constraint.matchLabelKeys).toContain('app.kubernetes.io/name');
      }
    }
  });

  describe('NetworkPolicies', () => {
    const nsLabels = (name: string) => ({ 'kubernetes.io/metadata.name': name });
    const pods = (): Record<string, PodRef> => {
      const result: Record<string, PodRef> = {};
      for (const workload of workloads(objects())) {
        const name = workload.template.metadata!.labels!['app.kubernetes.io/name'];
        const ports: Record<string, number> = {};
        for (const { container } of allContainers(workload.template.spec))
          for (const p of container.ports ?? []) if (p.name) ports[p.name] = p.containerPort;
        result[name] = { namespace, namespaceLabels: nsLabels(namespace), labels: workload.template.metadata!.labels!, ports };
      }
      return result;
    };
    const external = (ns: string, labels: Record<string, string> = {}, ports: number[] = []): PodRef & { probe: number[] } => ({
      namespace: ns,
      namespaceLabels: nsLabels(ns),
      labels,
      probe: ports,
    });
    const peers = () => Object.fromEntries(Object.entries(PEERS).map(([name, p]) => [name, external(p.namespace, p.labels, p.ports)]));
    const policies = () => ofKind(objects(), 'NetworkPolicy');

    it('deny by default', () => {
      const deny = policies().find((p) => Object.keys(p.spec.podSelector).length === 0 && !p.spec.ingress && !p.spec.egress);
      expect(deny?.spec.policyTypes.sort()).toEqual(['Egress', 'Ingress']);
    });

    it('admit exactly the flows in tests/flows.ts between the pods this overlay runs and its peers, and nothing else', () => {
      const inside = pods();
      const everyone: Record<string, PodRef> = { ...inside, ...peers() };
      const portsOf = (name: string) =>
        name in inside ? [...new Set(Object.values(inside[name].ports ?? {}))] : (peers()[name]?.probe ?? []);
      const actual: string[] = [];
      for (const [from, source] of Object.entries(everyone))
        for (const [to, destination] of Object.entries(everyone))
          for (const port of portsOf(to))
            if (from !== to && (from in inside || to in inside) && allowed(policies(), source, destination, port))
              actual.push(`${from} -> ${to}:${port}`);
      const expected = FLOWS.filter((f) => f.from in everyone && f.to in everyone).map((f) => `${f.from} -> ${f.to}:${f.port}`);
      expect(actual.sort()).toEqual([...new Set(expected)].sort());
      // The table names only pods that run in some overlay, or peers (a typo would make an entry vacuous).
      const known = new Set([...Object.keys(PEERS), ...OVERLAYS.flatMap((o) => workloads(renderOverlay(o)).map((w) => w.template.metadata!.labels!['app.kubernetes.io/name']))]);
      expect(FLOWS.flatMap((f) => [f.from, f.to]).filter((name) => !known.has(name))).toEqual([]);
    });

    it('admit DNS (kube-dns, UDP and TCP 53) from every pod', () => {
      const dns = external('kube-system', { 'k8s-app': 'kube-dns' });
      for (const [name, pod] of Object.entries(pods()))
        expect([name, allowed(policies(), pod, dns, 53, 'UDP'), allowed(policies(), pod, dns, 53, 'TCP')]).toEqual([name, true, true]);
    });
  });
});

describe('dev and staging', () => {
  it.each(['dev', 'staging'] as const)('%s seeds the demo catalog and its stock, the same products in both', (overlay) => {
    const objects: K8sObject[] = renderOverlay(overlay);
    for (const service of ['products', 'inventory']) {
      const seed = find(objects, 'Job', `${service}-seed`).spec.template.spec;
      expect(seed.containers[0].image).toBe(find(objects, 'Deployment', service).spec.template.spec.containers[0].image);
      expect(seed.containers[0].args).toEqual(['node', 'dist/seed.js', '--products', '300']);
      expect(seed.initContainers[0].args).toEqual(['node', 'dist/migrate.js']);
    }
    for (const kind of ['HorizontalPodAutoscaler', 'ServiceMonitor']) expect(ofKind(objects, kind)).toEqual([]);
    expect(objects.filter((o) => o.metadata.name === 'postgres-backup')).toEqual([]);
  });

  it('dev runs without NetworkPolicies and service disruption budgets (one replica each)', () => {
    expect(ofKind(renderOverlay('dev'), 'NetworkPolicy')).toEqual([]);
    expect(ofKind(renderOverlay('dev'), 'PodDisruptionBudget').map((p) => p.metadata.name).sort()).toEqual(['postgres', 'redis']);
  });

  it('production does not seed the catalog', () => {
    expect(ofKind(renderOverlay('production'), 'Job')).toEqual([]);
  });
});

describe('the in-cluster datastores', () => {
  it.each(OVERLAYS)('%s: Postgres and Redis have disruption budgets that make a drain wait for an operator', (overlay) => {
    for (const name of ['postgres', 'redis']) {
      const pdb = find(renderOverlay(overlay), 'PodDisruptionBudget', name);
      const workload = workloads(renderOverlay(overlay)).filter((w) => selects(pdb.spec.selector, w.template.metadata?.labels));
      expect(workload.map((w) => w.id)).toEqual([name === 'postgres' ? 'StatefulSet/postgres' : 'Deployment/redis']);
      expect(pdb.spec.maxUnavailable).toBe(0);
    }
  });

  it('are removed with their budgets by the managed-services component', () => {
    const objects = renderDir('tests/fixtures/production-managed');
    expect(objects.filter((o) => ['postgres', 'redis'].includes(o.metadata.labels?.['app.kubernetes.io/name'] ?? '')).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
  });
});

describe('the optional VPA component', () => {
  it('adds a recommendation-only VerticalPodAutoscaler for products', () => {
    const vpa = find(renderDir('tests/fixtures/production-vpa'), 'VerticalPodAutoscaler', 'products');
    expect(vpa.spec.targetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'products' });
    expect(vpa.spec.updatePolicy.updateMode).toBe('Off');
  });
});

/**
 * The e2e and smoke-test Jobs send operations by their ids in the gateway's trusted-documents
 * manifest, read from the scripts' default TRUSTED_DOCUMENTS_FILE: the very ConfigMap the gateway mounts.
 */
function expectTrustedDocumentsMounted(objects: K8sObject[], pod: { volumes: Volume[]; containers: { volumeMounts: unknown[] }[] }) {
  const gatewayVolume = (find(objects, 'Deployment', 'gateway').spec.template.spec.volumes as Volume[]).find((v) => v.name === 'trusted-documents');
  const volume = pod.volumes.find((v) => v.name === 'trusted-documents');
  expect(volume?.configMap?.name).toBe(gatewayVolume?.configMap?.name);
  expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'trusted-documents', mountPath: '/etc/shop/trusted-documents', readOnly: true });
  expect(find(objects, 'ConfigMap', volume!.configMap!.name).data['trusted-documents.json']).toBeDefined();
}

type Volume = { name: string; configMap?: { name: string } };
