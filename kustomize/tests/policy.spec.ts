import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { allowed, quantity, selects, type PodRef } from './k8s-util';
import {
  KUSTOMIZE_ROOT,
  OVERLAYS,
  SERVICES,
  SERVICE_PORTS,
  SUBGRAPHS,
  allContainers,
  find,
  ofKind,
  renderOverlay,
  serviceOfImage,
  workloads,
  type K8sObject,
  type Overlay,
} from './render';

const RECOMMENDED = [
  'app.kubernetes.io/name',
  'app.kubernetes.io/instance',
  'app.kubernetes.io/version',
  'app.kubernetes.io/component',
  'app.kubernetes.io/part-of',
  'app.kubernetes.io/managed-by',
];
/** Labels that never change for the life of a Deployment; only these may be in selectors. */
const STABLE = ['app.kubernetes.io/name', 'app.kubernetes.io/component', 'app.kubernetes.io/part-of'];
const REPLICAS: Record<Overlay, (n: number) => boolean> = {
  dev: (n) => n === 1,
  staging: (n) => n === 2,
  production: (n) => n >= 3,
};

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
  const objects = () => renderOverlay(overlay);
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
  });

  it('runs every pod under the restricted Pod Security Standard', () => {
    const problems: string[] = [];
    for (const { id, template } of workloads(objects())) {
      const pod = template.spec;
      const podSecurity = pod.securityContext ?? {};
      if (pod.hostNetwork || pod.hostPID || pod.hostIPC) problems.push(`${id}: host namespaces`);
      for (const volume of pod.volumes ?? []) {
        const allowedTypes = ['configMap', 'emptyDir', 'secret', 'persistentVolumeClaim', 'projected', 'downwardAPI', 'ephemeral'];
        const type = Object.keys(volume).find((k) => k !== 'name')!;
        if (!allowedTypes.includes(type)) problems.push(`${id}: volume ${volume.name} of type ${type}`);
      }
      if (pod.automountServiceAccountToken !== false) problems.push(`${id}: service account token automounted`);
      for (const { container } of allContainers(pod)) {
        const where = `${id} container ${container.name}`;
        const sc = container.securityContext ?? {};
        const runAsNonRoot = sc.runAsNonRoot ?? podSecurity.runAsNonRoot;
        const runAsUser = sc.runAsUser ?? podSecurity.runAsUser;
        const seccomp = (sc.seccompProfile ?? podSecurity.seccompProfile)?.type;
        if (runAsNonRoot !== true) problems.push(`${where}: runAsNonRoot not true`);
        if (!Number.isInteger(runAsUser) || runAsUser === 0) problems.push(`${where}: runAsUser ${runAsUser} is not a numeric non-root uid`);
        if (!['RuntimeDefault', 'Localhost'].includes(seccomp)) problems.push(`${where}: seccompProfile ${seccomp}`);
        if (sc.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation not false`);
        if (sc.privileged) problems.push(`${where}: privileged`);
        if (!(sc.capabilities?.drop ?? []).includes('ALL')) problems.push(`${where}: capabilities do not drop ALL`);
        for (const added of sc.capabilities?.add ?? [])
          if (added !== 'NET_BIND_SERVICE') problems.push(`${where}: adds capability ${added}`);
        if (sc.readOnlyRootFilesystem !== true) problems.push(`${where}: root filesystem writable`);
        const tmp = (container.volumeMounts ?? []).find((m: { mountPath: string }) => m.mountPath === '/tmp');
        const tmpVolume = tmp && (pod.volumes ?? []).find((v: { name: string }) => v.name === tmp.name);
        if (!tmpVolume?.emptyDir) problems.push(`${where}: no emptyDir mounted at /tmp`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('gives every container resource requests and limits, and every long-running one probes', () => {
    const problems: string[] = [];
    for (const { object, id, template } of workloads(objects())) {
      const longRunning = ['Deployment', 'StatefulSet'].includes(object.kind);
      for (const { container, init } of allContainers(template.spec)) {
        const where = `${id} container ${container.name}`;
        for (const kind of ['requests', 'limits'])
          for (const resource of ['cpu', 'memory'])
            if (!container.resources?.[kind]?.[resource]) problems.push(`${where}: no ${kind}.${resource}`);
        if (longRunning && !init)
          for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe'])
            if (!container[probe]) problems.push(`${where}: no ${probe}`);
      }
    }
    expect(problems).toEqual([]);
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
      expect(migrate.env).toEqual(spec.containers[0].env);
      expect(migrate.envFrom).toEqual(spec.containers[0].envFrom);
    }
    expect(find(objects(), 'Deployment', 'gateway').spec.template.spec.initContainers).toBeUndefined();
  });

  it('carries the recommended labels, with only stable labels in selectors', () => {
    const problems: string[] = [];
    const labelled = objects().filter((o) => ['Deployment', 'StatefulSet', 'Service', 'CronJob', 'Job', 'ServiceAccount'].includes(o.kind));
    for (const object of labelled)
      for (const label of RECOMMENDED)
        if (!object.metadata.labels?.[label]) problems.push(`${object.kind}/${object.metadata.name}: no ${label}`);
    for (const { id, template } of workloads(objects()))
      for (const label of RECOMMENDED) if (!template.metadata?.labels?.[label]) problems.push(`${id} pod template: no ${label}`);
    for (const object of objects()) {
      const selector =
        object.kind === 'Service' ? object.spec.selector : ['Deployment', 'StatefulSet'].includes(object.kind) ? object.spec.selector.matchLabels : undefined;
      for (const key of Object.keys(selector ?? {}))
        if (!STABLE.includes(key)) problems.push(`${object.kind}/${object.metadata.name}: unstable label ${key} in selector`);
    }
    expect(problems).toEqual([]);
    for (const object of labelled) expect(object.metadata.labels?.['app.kubernetes.io/instance']).toBe(`shop-${overlay}`);
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

  it('runs the expected number of replicas', () => {
    for (const service of SERVICES) {
      const replicas = find(objects(), 'Deployment', service).spec.replicas;
      expect({ service, ok: REPLICAS[overlay](replicas) }).toEqual({ service, ok: true });
    }
  });

  it('sets every image through the images transformer: a registry and a pinned tag', () => {
    for (const { id, template } of workloads(objects()))
      for (const { container } of allContainers(template.spec)) {
        const image: string = container.image;
        expect({ id, image, tagged: /:[\w.-]+$/.test(image) && !image.endsWith(':latest') }).toEqual({ id, image, tagged: true });
        if (serviceOfImage(image)) expect(image.startsWith('registry.example.com/shop/')).toBe(true);
      }
    const tags = new Set(
      SERVICES.map((s) => find(objects(), 'Deployment', s).spec.template.spec.containers[0].image.split(':').pop()),
    );
    expect(tags.size).toBe(1);
    expect(find(objects(), 'Deployment', 'users').metadata.labels?.['app.kubernetes.io/version']).toBe([...tags][0]);
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
    expect(backends).toEqual(['gateway']);
    expect(ofKind(objects(), 'Service').every((s) => (s.spec.type ?? 'ClusterIP') === 'ClusterIP')).toBe(true);
  });

  it('has guard rails: a ResourceQuota that fits the workloads, a LimitRange, RBAC roles bound to the overlay groups', () => {
    const quota = find(objects(), 'ResourceQuota', 'shop-quota').spec.hard;
    expect(find(objects(), 'LimitRange', 'shop-limits').spec.limits.length).toBeGreaterThan(0);
    let cpu = 0;
    let memory = 0;
    for (const { object, template } of workloads(objects())) {
      if (!['Deployment', 'StatefulSet'].includes(object.kind)) continue;
      const hpa = ofKind(objects(), 'HorizontalPodAutoscaler').find((h) => h.spec.scaleTargetRef.name === object.metadata.name);
      const replicas = hpa ? hpa.spec.maxReplicas : object.spec.replicas;
      // A rolling update runs one extra pod per workload (maxSurge) at most at a time.
      for (const { container } of allContainers(template.spec).filter((c) => !c.init)) {
        cpu += quantity(container.resources.requests.cpu) * (replicas + 1);
        memory += quantity(container.resources.requests.memory) * (replicas + 1);
      }
    }
    expect(cpu).toBeLessThanOrEqual(quantity(quota['requests.cpu']));
    expect(memory).toBeLessThanOrEqual(quantity(quota['requests.memory']));

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

  it('asks for resource recommendations for products (VPA in recommendation mode)', () => {
    const vpa = find(objects(), 'VerticalPodAutoscaler', 'products');
    expect(vpa.spec.targetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'products' });
    expect(vpa.spec.updatePolicy.updateMode).toBe('Off');
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
  const namespace = 'shop-production';

  it('autoscales every service on CPU and memory from 3 replicas, with scale-up and scale-down behaviour', () => {
    for (const service of SERVICES) {
      const hpa = find(objects(), 'HorizontalPodAutoscaler', service);
      expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: service });
      expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(3);
      expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
      expect(hpa.spec.metrics.map((m: { resource: { name: string } }) => m.resource.name).sort()).toEqual(['cpu', 'memory']);
      expect(hpa.spec.behavior.scaleUp.policies.length).toBeGreaterThan(0);
      expect(hpa.spec.behavior.scaleDown.stabilizationWindowSeconds).toBeGreaterThan(0);
      const container = find(objects(), 'Deployment', service).spec.template.spec.containers[0];
      expect(container.resources.requests.cpu).toBeDefined(); // utilisation needs requests
    }
  });

  it('keeps a disruption budget over each service and spreads its pods across zones and nodes', () => {
    for (const service of SERVICES) {
      const pdb = find(objects(), 'PodDisruptionBudget', service);
      const template = find(objects(), 'Deployment', service).spec.template;
      expect(selects(pdb.spec.selector, template.metadata.labels)).toBe(true);
      const others = SERVICES.filter((s) => s !== service).map((s) => find(objects(), 'Deployment', s).spec.template.metadata.labels);
      expect(others.some((labels) => selects(pdb.spec.selector, labels))).toBe(false);
      expect(pdb.spec.maxUnavailable ?? 0).toBeLessThan(3);
      const spread = template.spec.topologySpreadConstraints;
      expect(spread.map((c: { topologyKey: string }) => c.topologyKey).sort()).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
      for (const constraint of spread) {
        expect(selects(constraint.labelSelector, template.metadata.labels)).toBe(true);
        expect(constraint.matchLabelKeys).toContain('app.kubernetes.io/name');
      }
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
    const env = smoke.spec.jobTemplate.spec.template.spec.containers[0].env;
    expect(env).toEqual([{ name: 'GATEWAY_URL', value: 'http://gateway:4000' }]);
  });

  describe('NetworkPolicies', () => {
    const nsLabels = (name: string) => ({ 'kubernetes.io/metadata.name': name });
    const pod = (name: string): PodRef => {
      const workload = workloads(objects()).find((w) => w.template.metadata?.labels?.['app.kubernetes.io/name'] === name);
      if (!workload) throw new Error(`no pod named ${name}`);
      const ports: Record<string, number> = {};
      for (const { container } of allContainers(workload.template.spec))
        for (const p of container.ports ?? []) if (p.name) ports[p.name] = p.containerPort;
      return { namespace, namespaceLabels: nsLabels(namespace), labels: workload.template.metadata!.labels!, ports };
    };
    const external = (ns: string, labels: Record<string, string> = {}): PodRef => ({ namespace: ns, namespaceLabels: nsLabels(ns), labels });
    const policies = () => ofKind(objects(), 'NetworkPolicy');
    const can = (from: PodRef, to: PodRef, port: number) => allowed(policies(), from, to, port);

    it('deny by default', () => {
      const deny = policies().find((p) => Object.keys(p.spec.podSelector).length === 0 && !p.spec.ingress && !p.spec.egress);
      expect(deny?.spec.policyTypes.sort()).toEqual(['Egress', 'Ingress']);
    });

    it('admit gateway -> subgraphs, orders -> products/inventory/payments, and nothing else between services', () => {
      const expected: string[] = [
        ...SUBGRAPHS.map((s) => `gateway->${s}`),
        'orders->products',
        'orders->inventory',
        'orders->payments',
      ];
      const actual: string[] = [];
      for (const from of SERVICES)
        for (const to of SERVICES) if (from !== to && can(pod(from), pod(to), SERVICE_PORTS[to])) actual.push(`${from}->${to}`);
      expect(actual.sort()).toEqual(expected.sort());
    });

    it('admit services to their datastores only', () => {
      const postgres = pod('postgres');
      const redis = pod('redis');
      for (const service of SUBGRAPHS) expect(can(pod(service), postgres, 5432)).toBe(true);
      expect(can(pod('gateway'), postgres, 5432)).toBe(false);
      for (const service of SERVICES) expect(can(pod(service), redis, 6379)).toBe(true);
      expect(can(pod('postgres-backup'), postgres, 5432)).toBe(true);
      expect(can(pod('smoke-test'), postgres, 5432)).toBe(false);
      expect(can(pod('users'), postgres, 6379)).toBe(false);
    });

    it('admit DNS, the ingress controller to the gateway, Prometheus scrapes, and the smoke test', () => {
      const dns = external('kube-system', { 'k8s-app': 'kube-dns' });
      for (const name of [...SERVICES, 'postgres', 'redis', 'postgres-backup', 'smoke-test'])
        expect(allowed(policies(), pod(name), dns, 53, 'UDP')).toBe(true);
      const ingress = external('ingress-nginx', { 'app.kubernetes.io/name': 'ingress-nginx' });
      expect(can(ingress, pod('gateway'), 4000)).toBe(true);
      expect(can(ingress, pod('users'), 4001)).toBe(false);
      const prometheus = external('monitoring', { 'app.kubernetes.io/name': 'prometheus' });
      for (const service of SERVICES) expect(can(prometheus, pod(service), SERVICE_PORTS[service])).toBe(true);
      expect(can(prometheus, pod('postgres'), 5432)).toBe(false);
      expect(can(pod('smoke-test'), pod('gateway'), 4000)).toBe(true);
      expect(can(pod('smoke-test'), pod('orders'), 4004)).toBe(false);
      const stranger = external('default', { app: 'something' });
      for (const service of SERVICES) expect(can(stranger, pod(service), SERVICE_PORTS[service])).toBe(false);
    });
  });
});

describe('dev and staging', () => {
  it.each(['dev', 'staging'] as const)('%s seeds the demo catalog and runs no production-only objects', (overlay) => {
    const objects: K8sObject[] = renderOverlay(overlay);
    const seed = find(objects, 'Job', 'products-seed').spec.template.spec;
    expect(seed.containers[0].args).toEqual(['node', 'dist/seed.js']);
    expect(seed.initContainers[0].args).toEqual(['node', 'dist/migrate.js']);
    for (const kind of ['HorizontalPodAutoscaler', 'NetworkPolicy', 'CronJob']) expect(ofKind(objects, kind)).toEqual([]);
  });

  it('production does not seed the catalog', () => {
    expect(ofKind(renderOverlay('production'), 'Job')).toEqual([]);
  });
});
