import { quantity } from './k8s-util';
import { ADMIN_KINDS, allContainers, workloads, type K8sObject } from './render';

/**
 * The offline policy pass a cluster operator would run on rendered manifests, as data: each
 * rule names what it checks and returns one line per violation. tests/policy.spec.ts runs every
 * rule on every overlay (and on the component fixtures), and checks that each rule reports a
 * manifest made to break it, so a rule cannot pass by never looking. Add a rule here and both
 * happen without touching the spec.
 */
export interface Rule {
  id: string;
  /** What an operator reads when it fails. */
  description: string;
  check(objects: K8sObject[]): string[];
  /** A way to break the rule on a rendered overlay (a copy), used to prove the rule can fail. */
  breaks(objects: K8sObject[]): void;
}

/** https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/ */
export const RECOMMENDED_LABELS = [
  'app.kubernetes.io/name',
  'app.kubernetes.io/instance',
  'app.kubernetes.io/version',
  'app.kubernetes.io/component',
  'app.kubernetes.io/part-of',
  'app.kubernetes.io/managed-by',
] as const;

/** Labels that never change for the life of a workload; only these may be in selectors. */
export const STABLE_LABELS = ['app.kubernetes.io/name', 'app.kubernetes.io/component', 'app.kubernetes.io/part-of'];

/** Volume types the restricted Pod Security Standard allows. */
const RESTRICTED_VOLUMES = ['configMap', 'emptyDir', 'secret', 'persistentVolumeClaim', 'projected', 'downwardAPI', 'ephemeral', 'csi'];

const id = (object: K8sObject) => `${object.kind}/${object.metadata.name}`;
const firstWorkload = (objects: K8sObject[], kind = 'Deployment') => {
  const found = workloads(objects).find((w) => w.object.kind === kind);
  if (!found) throw new Error(`no ${kind} to break`);
  return found;
};

/** A tag that names one build for good: a semantic version (pre-release allowed) or a digest. */
export const IMMUTABLE_TAG = /(:\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?|@sha256:[0-9a-f]{64})$/;

function selectorOf(object: K8sObject): Record<string, string> | undefined {
  if (object.kind === 'Service') return object.spec?.selector;
  if (['Deployment', 'StatefulSet', 'DaemonSet', 'PodDisruptionBudget'].includes(object.kind)) return object.spec?.selector?.matchLabels;
  return undefined;
}

/**
 * The share of a container's memory limit its V8 heap may take (old generation plus the young
 * one, three semi-spaces): the rest is code, thread stacks, socket and TLS buffers and native
 * memory (pg, ioredis), 60-100 MiB in these services.
 */
export const HEAP_SHARE = { min: 0.25, max: 0.6 };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const runsNode = (container: any) => container.command?.[0] === 'node' || (!container.command && container.args?.[0] === 'node');

/** The heap a container's node flags allow, in MiB (old generation + 3 semi-spaces); null when either flag is missing. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function heapBound(container: any): { old: number; semi: number; total: number } | null {
  const nodeOptions = (container.env ?? []).find((e: { name: string }) => e.name === 'NODE_OPTIONS')?.value ?? '';
  const flags = [...String(nodeOptions).split(/\s+/), ...(container.command ?? []), ...(container.args ?? [])];
  const flag = (name: string) => {
    const value = flags.map((f) => new RegExp(`^--${name}=(\\d+)$`).exec(f)?.[1]).find(Boolean);
    return value === undefined ? null : Number(value);
  };
  const old = flag('max-old-space-size');
  const semi = flag('max-semi-space-size');
  return old === null || semi === null ? null : { old, semi, total: old + 3 * semi };
}

export const RULES: Rule[] = [
  {
    id: 'restricted-pod-security',
    description: 'every pod meets the restricted Pod Security Standard (the namespaces enforce it)',
    check(objects) {
      const problems: string[] = [];
      for (const { id: where, template } of workloads(objects)) {
        const pod = template.spec;
        const podSecurity = pod.securityContext ?? {};
        if (pod.hostNetwork || pod.hostPID || pod.hostIPC) problems.push(`${where}: host namespaces`);
        for (const volume of pod.volumes ?? []) {
          const type = Object.keys(volume).find((k) => k !== 'name')!;
          if (!RESTRICTED_VOLUMES.includes(type)) problems.push(`${where}: volume ${volume.name} of type ${type}`);
        }
        for (const { container } of allContainers(pod)) {
          const at = `${where} container ${container.name}`;
          const sc = container.securityContext ?? {};
          const runAsUser = sc.runAsUser ?? podSecurity.runAsUser;
          const seccomp = (sc.seccompProfile ?? podSecurity.seccompProfile)?.type;
          if ((sc.runAsNonRoot ?? podSecurity.runAsNonRoot) !== true) problems.push(`${at}: runAsNonRoot not true`);
          if (!Number.isInteger(runAsUser) || runAsUser === 0) problems.push(`${at}: runAsUser ${runAsUser} is not a numeric non-root uid`);
          if (!['RuntimeDefault', 'Localhost'].includes(seccomp)) problems.push(`${at}: seccompProfile ${seccomp}`);
          if (sc.allowPrivilegeEscalation !== false) problems.push(`${at}: allowPrivilegeEscalation not false`);
          if (sc.privileged) problems.push(`${at}: privileged`);
          if (!(sc.capabilities?.drop ?? []).includes('ALL')) problems.push(`${at}: capabilities do not drop ALL`);
          for (const added of sc.capabilities?.add ?? []) if (added !== 'NET_BIND_SERVICE') problems.push(`${at}: adds capability ${added}`);
          for (const port of container.ports ?? []) if (port.hostPort) problems.push(`${at}: hostPort ${port.hostPort}`);
        }
      }
      return problems;
    },
    breaks(objects) {
      firstWorkload(objects).template.spec.containers[0].securityContext.allowPrivilegeEscalation = true;
    },
  },
  {
    id: 'hardened-pods',
    description: 'beyond the standard: no service-account token, a read-only root filesystem with an emptyDir on /tmp',
    check(objects) {
      const problems: string[] = [];
      for (const { id: where, template } of workloads(objects)) {
        const pod = template.spec;
        if (pod.automountServiceAccountToken !== false) problems.push(`${where}: service account token automounted`);
        for (const { container } of allContainers(pod)) {
          const at = `${where} container ${container.name}`;
          if (container.securityContext?.readOnlyRootFilesystem !== true) problems.push(`${at}: root filesystem writable`);
          const tmp = (container.volumeMounts ?? []).find((m: { mountPath: string }) => m.mountPath === '/tmp');
          const volume = tmp && (pod.volumes ?? []).find((v: { name: string }) => v.name === tmp.name);
          if (!volume?.emptyDir) problems.push(`${at}: no emptyDir mounted at /tmp`);
        }
      }
      return problems;
    },
    breaks(objects) {
      delete firstWorkload(objects, 'StatefulSet').template.spec.automountServiceAccountToken;
    },
  },
  {
    id: 'namespace-enforces-restricted',
    description: 'every Namespace enforces, audits and warns on the restricted Pod Security Standard',
    check(objects) {
      const problems: string[] = [];
      for (const namespace of objects.filter((o) => o.kind === 'Namespace'))
        for (const mode of ['enforce', 'audit', 'warn'])
          if (namespace.metadata.labels?.[`pod-security.kubernetes.io/${mode}`] !== 'restricted')
            problems.push(`${id(namespace)}: pod-security.kubernetes.io/${mode} is not restricted`);
      return problems;
    },
    breaks(objects) {
      objects.find((o) => o.kind === 'Namespace')!.metadata.labels!['pod-security.kubernetes.io/enforce'] = 'baseline';
    },
  },
  {
    id: 'recommended-labels',
    description:
      'every object, and every pod template, carries the recommended app.kubernetes.io labels (version: all but the admin-owned namespace objects, which no release changes)',
    check(objects) {
      const problems: string[] = [];
      for (const object of objects)
        for (const label of RECOMMENDED_LABELS)
          if (!object.metadata.labels?.[label] && !(label === 'app.kubernetes.io/version' && ADMIN_KINDS.includes(object.kind)))
            problems.push(`${id(object)}: no ${label}`);
      for (const { id: where, template } of workloads(objects))
        for (const label of RECOMMENDED_LABELS) if (!template.metadata?.labels?.[label]) problems.push(`${where} pod template: no ${label}`);
      return problems;
    },
    breaks(objects) {
      delete objects.find((o) => o.kind === 'ConfigMap')!.metadata.labels!['app.kubernetes.io/component'];
    },
  },
  {
    id: 'stable-selectors',
    description: 'selectors (Services, workloads, disruption budgets) use only labels that never change',
    check(objects) {
      const problems: string[] = [];
      for (const object of objects)
        for (const key of Object.keys(selectorOf(object) ?? {}))
          if (!STABLE_LABELS.includes(key)) problems.push(`${id(object)}: unstable label ${key} in its selector`);
      return problems;
    },
    breaks(objects) {
      objects.find((o) => o.kind === 'Service')!.spec.selector['app.kubernetes.io/version'] = 'x';
    },
  },
  {
    id: 'resources',
    description: 'every container has CPU and memory requests and limits',
    check(objects) {
      const problems: string[] = [];
      for (const { id: where, template } of workloads(objects))
        for (const { container } of allContainers(template.spec))
          for (const kind of ['requests', 'limits'])
            for (const resource of ['cpu', 'memory'])
              if (!container.resources?.[kind]?.[resource]) problems.push(`${where} container ${container.name}: no ${kind}.${resource}`);
      return problems;
    },
    breaks(objects) {
      delete firstWorkload(objects).template.spec.containers[0].resources.limits;
    },
  },
  {
    id: 'node-heap-bound',
    description:
      'every Node container bounds its heap (--max-old-space-size and --max-semi-space-size in NODE_OPTIONS or its args) to ' +
      `${HEAP_SHARE.min * 100}-${HEAP_SHARE.max * 100} % of its memory limit: Node 20 sizes the heap from the machine, not the cgroup, so an ` +
      'unbounded one grows until the kernel kills the pod instead of collecting garbage',
    check(objects) {
      const problems: string[] = [];
      for (const { id: where, template } of workloads(objects))
        for (const { container } of allContainers(template.spec)) {
          if (!runsNode(container)) continue;
          const at = `${where} container ${container.name}`;
          const heap = heapBound(container);
          const limit = container.resources?.limits?.memory ? quantity(container.resources.limits.memory) / 2 ** 20 : null;
          if (!heap) problems.push(`${at}: no --max-old-space-size and --max-semi-space-size`);
          else if (limit === null) problems.push(`${at}: a heap bound without a memory limit`);
          else if (heap.total > HEAP_SHARE.max * limit || heap.total < HEAP_SHARE.min * limit)
            problems.push(`${at}: heap ${heap.total} MiB (old ${heap.old} + 3 x semi ${heap.semi}) is not ${HEAP_SHARE.min * 100}-${HEAP_SHARE.max * 100} % of its limit ${limit} MiB`);
        }
      return problems;
    },
    breaks(objects) {
      const container = firstWorkload(objects).template.spec.containers[0];
      container.env = (container.env ?? []).filter((e: { name: string }) => e.name !== 'NODE_OPTIONS');
    },
  },
  {
    id: 'probes',
    description: 'every long-running container has startup, liveness and readiness probes',
    check(objects) {
      const problems: string[] = [];
      for (const { object, id: where, template } of workloads(objects)) {
        if (!['Deployment', 'StatefulSet', 'DaemonSet'].includes(object.kind)) continue;
        for (const container of template.spec.containers)
          for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe'])
            if (!container[probe]) problems.push(`${where} container ${container.name}: no ${probe}`);
      }
      return problems;
    },
    breaks(objects) {
      delete firstWorkload(objects).template.spec.containers[0].readinessProbe;
    },
  },
  {
    id: 'immutable-images',
    description: 'every image names a registry and an immutable tag (a version or a digest), never a branch or latest',
    check(objects) {
      const problems: string[] = [];
      for (const { id: where, template } of workloads(objects))
        for (const { container } of allContainers(template.spec)) {
          const image: string = container.image;
          const thirdParty = /^(postgres|redis)(:|@|$)/.test(image);
          // Official Postgres/Redis images come from Docker Hub by short name, pinned to a version.
          if (thirdParty ? !/:\d+(\.\d+)+(-[\w.]+)?$|@sha256:/.test(image) : !IMMUTABLE_TAG.test(image) || !/^[\w.-]+\.[\w.-]+(:\d+)?\//.test(image))
            problems.push(`${where} container ${container.name}: ${image}`);
        }
      return problems;
    },
    breaks(objects) {
      const container = firstWorkload(objects).template.spec.containers[0];
      container.image = container.image.replace(/:[^:/]+$/, ':main');
    },
  },
  {
    id: 'hpa-owns-replicas',
    description: 'a workload scaled by a HorizontalPodAutoscaler sets no spec.replicas (an apply would reset the scale)',
    check(objects) {
      const problems: string[] = [];
      for (const hpa of objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')) {
        const ref = hpa.spec.scaleTargetRef;
        const target = objects.find((o) => o.kind === ref.kind && o.metadata.name === ref.name);
        if (!target) problems.push(`${id(hpa)}: scales ${ref.kind}/${ref.name}, which is not rendered`);
        else if (target.spec.replicas !== undefined) problems.push(`${id(target)}: replicas ${target.spec.replicas} although ${id(hpa)} scales it`);
      }
      return problems;
    },
    breaks(objects) {
      const hpa = objects.find((o) => o.kind === 'HorizontalPodAutoscaler');
      const name = hpa?.spec.scaleTargetRef.name;
      if (!hpa) {
        objects.push({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'x' }, spec: { scaleTargetRef: { kind: 'Deployment', name: 'users' } } });
        objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'users')!.spec.replicas = 1;
      } else objects.find((o) => o.kind === 'Deployment' && o.metadata.name === name)!.spec.replicas = 3;
    },
  },
];
