import { OVERLAYS, find, renderAdmin, renderDir, renderOverlay, type K8sObject } from './render';

/**
 * The roles can do what docs/deploying.md tells their holders to do, and no more: the deployer
 * applies every object its overlay renders (and the optional components' objects), and runs
 * the rollout, Job and log commands of the runbook; developers read everything but Secrets,
 * Events included. What only a cluster admin may change (namespace, quota, limits, RBAC) is in
 * overlays/<env>/admin, which the deployer role cannot apply.
 */

interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** The API resource of each kind the manifests use (what RBAC rules name). */
const RESOURCES: Record<string, { group: string; resource: string }> = {
  ConfigMap: { group: '', resource: 'configmaps' },
  Service: { group: '', resource: 'services' },
  ServiceAccount: { group: '', resource: 'serviceaccounts' },
  PersistentVolumeClaim: { group: '', resource: 'persistentvolumeclaims' },
  Secret: { group: '', resource: 'secrets' },
  Namespace: { group: '', resource: 'namespaces' },
  ResourceQuota: { group: '', resource: 'resourcequotas' },
  LimitRange: { group: '', resource: 'limitranges' },
  Deployment: { group: 'apps', resource: 'deployments' },
  StatefulSet: { group: 'apps', resource: 'statefulsets' },
  Job: { group: 'batch', resource: 'jobs' },
  CronJob: { group: 'batch', resource: 'cronjobs' },
  Ingress: { group: 'networking.k8s.io', resource: 'ingresses' },
  NetworkPolicy: { group: 'networking.k8s.io', resource: 'networkpolicies' },
  HorizontalPodAutoscaler: { group: 'autoscaling', resource: 'horizontalpodautoscalers' },
  PodDisruptionBudget: { group: 'policy', resource: 'poddisruptionbudgets' },
  VerticalPodAutoscaler: { group: 'autoscaling.k8s.io', resource: 'verticalpodautoscalers' },
  ServiceMonitor: { group: 'monitoring.coreos.com', resource: 'servicemonitors' },
  PrometheusRule: { group: 'monitoring.coreos.com', resource: 'prometheusrules' },
  ExternalSecret: { group: 'external-secrets.io', resource: 'externalsecrets' },
  Role: { group: 'rbac.authorization.k8s.io', resource: 'roles' },
  RoleBinding: { group: 'rbac.authorization.k8s.io', resource: 'rolebindings' },
};

/** `kubectl apply` reads the live object, then creates or patches it. */
const APPLY = ['get', 'create', 'patch'];

/** What each runbook command of docs/deploying.md needs, as kubectl calls the API. */
const RUNBOOK: Record<string, [group: string, resource: string, verb: string][]> = {
  'kubectl rollout status deploy/<service>': [['apps', 'deployments', 'get'], ['apps', 'deployments', 'watch'], ['apps', 'replicasets', 'list']],
  'kubectl rollout undo deploy/<service>': [['apps', 'deployments', 'get'], ['apps', 'deployments', 'patch'], ['apps', 'replicasets', 'list']],
  'kubectl rollout undo statefulset/postgres': [['apps', 'statefulsets', 'get'], ['apps', 'statefulsets', 'patch'], ['apps', 'controllerrevisions', 'list']],
  'kubectl rollout restart deploy/<service>': [['apps', 'deployments', 'get'], ['apps', 'deployments', 'patch']],
  'kubectl create job --from=cronjob/smoke-test|e2e': [['batch', 'cronjobs', 'get'], ['batch', 'jobs', 'create']],
  'kubectl delete job products-seed inventory-seed': [['batch', 'jobs', 'delete']],
  'kubectl logs -f job/<job>': [['batch', 'jobs', 'get'], ['', 'pods', 'list'], ['', 'pods/log', 'get']],
  'kubectl get events / describe': [['', 'events', 'list'], ['events.k8s.io', 'events', 'list'], ['', 'pods', 'get']],
};

function grants(rules: PolicyRule[], group: string, resource: string, verb: string): boolean {
  return rules.some(
    (r) =>
      (r.apiGroups.includes(group) || r.apiGroups.includes('*')) &&
      (r.resources.includes(resource) || r.resources.includes('*')) &&
      (r.verbs.includes(verb) || r.verbs.includes('*')),
  );
}

const FIXTURES = ['tests/fixtures/production-managed', 'tests/fixtures/production-vpa', 'tests/fixtures/production-external-secrets'];

describe.each(OVERLAYS)('overlay %s: RBAC', (overlay) => {
  const role = (name: string) => find(renderAdmin(overlay), 'Role', name).rules as PolicyRule[];

  it('lets the deployer apply every object the overlay renders (and the optional components)', () => {
    const objects: K8sObject[] = [...renderOverlay(overlay), ...FIXTURES.flatMap((f) => renderDir(f))];
    const missing = new Set<string>();
    for (const object of objects) {
      const api = RESOURCES[object.kind];
      if (!api) throw new Error(`tests/rbac.spec.ts: add the API resource of ${object.kind}`);
      for (const verb of APPLY) if (!grants(role('shop-deployer'), api.group, api.resource, verb)) missing.add(`${verb} ${api.group}/${api.resource} (${object.kind})`);
    }
    expect([...missing]).toEqual([]);
  });

  it('lets the deployer run every runbook command of docs/deploying.md', () => {
    const missing = Object.entries(RUNBOOK).flatMap(([command, needs]) =>
      needs.filter(([group, resource, verb]) => !grants(role('shop-deployer'), group, resource, verb)).map((n) => `${command}: ${n[2]} ${n[0]}/${n[1]}`),
    );
    expect(missing).toEqual([]);
  });

  it('keeps the admin part out of the deployer role: no namespace, quota, limits, RBAC, Secrets, escalation', () => {
    for (const name of ['shop-deployer', 'shop-developer']) {
      const granted = [];
      for (const kind of ['Namespace', 'ResourceQuota', 'LimitRange', 'Role', 'RoleBinding', 'Secret'])
        for (const verb of ['get', 'list', 'create', 'patch', 'update', 'delete'])
          if (grants(role(name), RESOURCES[kind].group, RESOURCES[kind].resource, verb)) granted.push(`${name}: ${verb} ${kind}`);
      for (const verb of ['escalate', 'bind', 'impersonate'])
        if (role(name).some((r) => r.verbs.includes(verb) || r.verbs.includes('*'))) granted.push(`${name}: ${verb}`);
      expect(granted).toEqual([]);
    }
    // ...which is why the admin kustomization exists: the deployer could not apply it.
    const adminKinds = new Set(renderAdmin(overlay).map((o) => o.kind));
    for (const kind of adminKinds) expect([kind, grants(role('shop-deployer'), RESOURCES[kind].group, RESOURCES[kind].resource, 'create')]).toEqual([kind, false]);
  });

  it('lets developers read what they debug with (Events, logs, every kind the overlay renders) and change nothing', () => {
    const developer = role('shop-developer');
    for (const verb of developer.flatMap((r) => r.verbs)) expect(['get', 'list', 'watch']).toContain(verb);
    const missing: string[] = [];
    for (const [group, resource] of [['', 'events'], ['events.k8s.io', 'events'], ['', 'pods/log'], ['', 'pods'], ['apps', 'replicasets']])
      if (!grants(developer, group, resource, 'list') && !grants(developer, group, resource, 'get')) missing.push(`${group}/${resource}`);
    for (const object of renderOverlay(overlay)) {
      const api = RESOURCES[object.kind];
      if (!grants(developer, api.group, api.resource, 'get')) missing.push(`${api.group}/${api.resource}`);
    }
    expect([...new Set(missing)]).toEqual([]);
  });
});
