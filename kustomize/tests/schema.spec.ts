import { OVERLAYS, renderDir, renderEnvironment, renderOverlay, type K8sObject } from './render';

/**
 * Every rendered object validates against its Kubernetes schema (kubernetes-models for the
 * built-in kinds; the prometheus-operator, autoscaler and external-secrets model packages for
 * ServiceMonitor, PrometheusRule, VerticalPodAutoscaler and ExternalSecret), and carries no field that the schema does not
 * know. The validators ignore unknown fields, so each field is probed: replaced by a value of
 * no JSON type, a field the schema knows makes validation fail at exactly that path; one it
 * does not know passes silently, and is reported.
 */

interface ValidationError {
  instancePath: string;
  message?: string;
}
type Validate = (object: unknown) => ValidationError[];

const MODULES: Record<string, string> = {
  'monitoring.coreos.com/v1': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1',
  'autoscaling.k8s.io/v1': '@kubernetes-models/autoscaler/autoscaling.k8s.io/v1',
  'external-secrets.io/v1beta1': '@kubernetes-models/external-secrets/external-secrets.io/v1beta1',
};

function validatorFor(apiVersion: string, kind: string): Validate {
  const module = MODULES[apiVersion] ?? `kubernetes-models/${apiVersion}`;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Model = (require(module) as Record<string, new (data: unknown) => { validate(): void }>)[kind];
  if (!Model) throw new Error(`no schema for ${apiVersion} ${kind} (module ${module})`);
  return (object) => {
    try {
      new Model(object).validate();
      return [];
    } catch (error) {
      const errors = (error as { errors?: ValidationError[] }).errors;
      if (!errors) throw error;
      return errors;
    }
  };
}

const PROBE = Symbol('probe');

/** JSON-pointer paths of every field in `object` that `validate` does not know. */
function unknownFields(object: Record<string, unknown>, validate: Validate): string[] {
  const unknown: string[] = [];
  const visit = (node: unknown, pointer: string) => {
    if (Array.isArray(node)) {
      node.forEach((item, index) => visit(item, `${pointer}/${index}`));
      return;
    }
    if (!node || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const path = `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      const original = record[key];
      record[key] = PROBE;
      const errors = validate(object);
      record[key] = original;
      const known = errors.some((e) => e.instancePath === path || e.instancePath.startsWith(`${path}/`));
      if (!known) unknown.push(path);
      else visit(original, path);
    }
  };
  visit(object, '');
  return unknown;
}

function check(objects: K8sObject[]) {
  const problems: string[] = [];
  for (const object of objects) {
    const id = `${object.kind}/${object.metadata?.name}`;
    const validate = validatorFor(object.apiVersion, object.kind);
    const copy = structuredClone(object);
    const errors = validate(copy);
    for (const error of errors) problems.push(`${id}: ${error.instancePath || '/'} ${error.message}`);
    if (errors.length === 0)
      for (const path of unknownFields(copy, validate)) problems.push(`${id}: unknown field ${path}`);
  }
  return problems;
}

describe.each(OVERLAYS)('overlay %s: every object matches its schema', (overlay) => {
  it('validates, with no unknown fields (the admin part too)', () => {
    const objects = renderEnvironment(overlay);
    expect(objects.length).toBeGreaterThan(20);
    expect(check(objects)).toEqual([]);
  });
});

describe.each(['production-managed', 'production-vpa', 'production-external-secrets'])('the optional component in fixture %s', (fixture) => {
  it('renders with production and validates', () => {
    expect(check(renderDir(`tests/fixtures/${fixture}`))).toEqual([]);
  });
});

describe('the unknown-field probe', () => {
  it('finds a misspelt or misplaced field, and a wrong type', () => {
    const deployment = structuredClone(renderOverlay('dev').find((o) => o.kind === 'Deployment' && o.metadata.name === 'users')!);
    const validate = validatorFor('apps/v1', 'Deployment');
    expect(unknownFields(structuredClone(deployment), validate)).toEqual([]);
    deployment.spec.template.spec.containers[0].readinessprobe = { httpGet: { path: '/ready', port: 'http' } };
    deployment.spec.template.spec.securityContext.capabilities = { drop: ['ALL'] };
    expect(unknownFields(deployment, validate).sort()).toEqual([
      '/spec/template/spec/containers/0/readinessprobe',
      '/spec/template/spec/securityContext/capabilities',
    ]);
    deployment.spec.replicas = 'three';
    expect(validate(deployment).map((e) => e.instancePath)).toContain('/spec/replicas');
  });

  it('knows the fields of add-on kinds (ExternalSecret)', () => {
    const external = structuredClone(renderDir('tests/fixtures/production-external-secrets').find((o) => o.kind === 'ExternalSecret')!);
    const validate = validatorFor(external.apiVersion, external.kind);
    expect(unknownFields(structuredClone(external), validate)).toEqual([]);
    external.spec.data[0].remoteRef.propery = 'url';
    expect(unknownFields(external, validate)).toEqual(['/spec/data/0/remoteRef/propery']);
  });

  it('knows the fields of add-on kinds (ServiceMonitor)', () => {
    const monitor = structuredClone(renderOverlay('production').find((o) => o.kind === 'ServiceMonitor')!);
    const validate = validatorFor(monitor.apiVersion, monitor.kind);
    expect(unknownFields(structuredClone(monitor), validate)).toEqual([]);
    monitor.spec.endpoints[0].scrapeEvery = '30s';
    expect(unknownFields(monitor, validate)).toEqual(['/spec/endpoints/0/scrapeEvery']);
  });
});
