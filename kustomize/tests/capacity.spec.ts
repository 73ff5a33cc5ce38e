import { quantity } from './k8s-util';
import { OVERLAYS, allContainers, find, ofKind, renderAdmin, renderOverlay, workloads, type K8sObject, type Overlay } from './render';

/**
 * What the cluster must hold when everything scales out at once, computed from the rendered
 * objects of every overlay: the Postgres connections of the worst case against
 * max_connections, and the pods of the worst case against the namespace ResourceQuota. The
 * formula is the one docs/deploying.md, "Database connections", writes out.
 */

/**
 * Direct connections a pod opens outside its pool. orders keeps one per pod for the
 * checkout's proof of life (a session-level advisory lock per order being checked out, held
 * by its own connection for as long as the checkout runs): the reason there is no PgBouncer in
 * transaction mode in front of Postgres, which would break session-level locks.
 */
const OUTSIDE_THE_POOL: Record<string, number> = { orders: 1 };
/** The migrate command's pool (runCommandMain in subgraphs/kit/src/commands.ts). */
const COMMAND_POOL = 2;
/** pg_dump holds one connection, one database at a time. */
const BACKUP_CONNECTIONS = 1;
/** psql sessions, a metrics exporter, an operator's migration by hand. */
const ADMIN_HEADROOM = 5;

/** Pods a workload can run at once: its HPA maximum (else its replicas) plus the rollout surge. */
function podsAtMost(objects: K8sObject[], workload: K8sObject): { steady: number; surge: number } {
  const hpa = ofKind(objects, 'HorizontalPodAutoscaler').find((h) => h.spec.scaleTargetRef.name === workload.metadata.name);
  const steady: number = hpa ? hpa.spec.maxReplicas : (workload.spec.replicas ?? 1);
  if (workload.kind !== 'Deployment' || workload.spec.strategy?.type === 'Recreate') return { steady, surge: 0 };
  const maxSurge = workload.spec.strategy?.rollingUpdate?.maxSurge ?? '25%';
  // Kubernetes rounds a percentage surge up.
  const surge = typeof maxSurge === 'number' ? maxSurge : Math.ceil((steady * Number.parseFloat(maxSurge)) / 100);
  return { steady, surge };
}

function postgresSetting(objects: K8sObject[], name: string): string | undefined {
  const args: string[] = find(objects, 'StatefulSet', 'postgres').spec.template.spec.containers[0].args ?? [];
  return args.map((a) => /^(\w+)=(.*)$/.exec(a)).find((m) => m?.[1] === name)?.[2];
}

/** A client of Postgres: it gets a DATABASE_URL (the services) or <SERVICE>_DATABASE_URL (the backup). */
const usesDatabase = (container: { env?: { name: string }[] }) => (container.env ?? []).some((e) => /DATABASE_URL$/.test(e.name));

interface Line {
  what: string;
  connections: number;
}

/** The worst case, term by term. */
export function connectionBudget(objects: K8sObject[]): { lines: Line[]; total: number; max: number } {
  const lines: Line[] = [];
  for (const { object, template } of workloads(objects)) {
    const containers = allContainers(template.spec).filter(({ container }) => usesDatabase(container));
    if (containers.length === 0) continue;
    const name = object.metadata.name;
    if (object.kind === 'Deployment') {
      const { steady, surge } = podsAtMost(objects, object);
      const main = template.spec.containers.find(usesDatabase);
      const config = find(objects, 'ConfigMap', main.envFrom[0].configMapRef.name).data;
      if (!config.DATABASE_POOL_MAX) throw new Error(`${name}: DATABASE_POOL_MAX is not set; the budget needs it explicit`);
      const pool = Number(config.DATABASE_POOL_MAX) + (OUTSIDE_THE_POOL[name] ?? 0);
      lines.push({ what: `${name}: ${steady + surge} pods (${steady} + surge ${surge}) x ${pool}`, connections: (steady + surge) * pool });
      // The surge pods migrate (init container) before their pool opens; count both anyway.
      lines.push({ what: `${name}: ${surge || 1} migrating pods x ${COMMAND_POOL}`, connections: (surge || 1) * COMMAND_POOL });
    } else if (object.kind === 'CronJob' && name === 'postgres-backup') lines.push({ what: 'backup (pg_dump)', connections: BACKUP_CONNECTIONS });
    else lines.push({ what: `${object.kind}/${name}: ${COMMAND_POOL} (migrate, then its command)`, connections: COMMAND_POOL });
  }
  const reserved = Number(postgresSetting(objects, 'superuser_reserved_connections') ?? 3);
  lines.push({ what: `superuser_reserved_connections`, connections: reserved });
  lines.push({ what: 'admin headroom', connections: ADMIN_HEADROOM });
  const max = Number(postgresSetting(objects, 'max_connections') ?? 100);
  return { lines, total: lines.reduce((sum, l) => sum + l.connections, 0), max };
}

const report = (budget: ReturnType<typeof connectionBudget>) =>
  [...budget.lines.map((l) => `${String(l.connections).padStart(4)}  ${l.what}`), `${String(budget.total).padStart(4)}  of max_connections ${budget.max}`].join('\n');

describe.each(OVERLAYS)('overlay %s: capacity at the worst case', (overlay: Overlay) => {
  const objects = () => renderOverlay(overlay);

  it('keeps every Postgres connection the platform can open under max_connections', () => {
    const budget = connectionBudget(objects());
    expect({ fits: budget.total <= budget.max, report: report(budget) }).toEqual({ fits: true, report: report(budget) });
    // Every subgraph is counted, with its pool set explicitly for this overlay.
    for (const service of ['users', 'products', 'inventory', 'orders', 'payments'])
      expect(budget.lines.some((l) => l.what.startsWith(`${service}: `))).toBe(true);
  });

  it('would report the pools the platform shipped with (10 per pod) where HPAs scale out', () => {
    const shipped = structuredClone(objects());
    for (const configMap of ofKind(shipped, 'ConfigMap')) if (configMap.data?.DATABASE_POOL_MAX) configMap.data.DATABASE_POOL_MAX = '10';
    find(shipped, 'StatefulSet', 'postgres').spec.template.spec.containers[0].args = ['-c', 'max_connections=200', '-c', 'shared_buffers=128MB'];
    const budget = connectionBudget(shipped);
    expect(budget.total > budget.max).toBe(ofKind(shipped, 'HorizontalPodAutoscaler').length > 0);
  });

  it('fits the worst case in the ResourceQuota: every workload at its maximum plus surge, every Job once', () => {
    const quota = find(renderAdmin(overlay), 'ResourceQuota', 'shop-quota').spec.hard;
    const total = { 'requests.cpu': 0, 'requests.memory': 0, 'limits.cpu': 0, 'limits.memory': 0, pods: 0 };
    for (const { object, template } of workloads(objects())) {
      const { steady, surge } = ['Deployment', 'StatefulSet'].includes(object.kind) ? podsAtMost(objects(), object) : { steady: 1, surge: 0 };
      const pods = steady + surge;
      total.pods += pods;
      for (const [kind, resource] of [['requests', 'cpu'], ['requests', 'memory'], ['limits', 'cpu'], ['limits', 'memory']] as const) {
        // A pod is charged the larger of its containers' sum and its largest init container.
        const sum = template.spec.containers.reduce((s: number, c: { resources: Record<string, Record<string, string>> }) => s + quantity(c.resources[kind][resource]), 0);
        const init = Math.max(0, ...(template.spec.initContainers ?? []).map((c: { resources: Record<string, Record<string, string>> }) => quantity(c.resources[kind][resource])));
        total[`${kind}.${resource}`] += pods * Math.max(sum, init);
      }
    }
    const over = Object.entries(total)
      .filter(([key, used]) => used > quantity(quota[key]))
      .map(([key, used]) => `${key}: ${used} > ${quota[key]}`);
    expect(over).toEqual([]);
  });
});
