import path from 'node:path';

/**
 * Every option of `npm run bench`, parsed in this one place (a new mode adds a field here and
 * reads it where it is used). Unknown options are refused, so a typo never runs the wrong bench.
 */
export interface BenchOptions {
  /** Smoke run: 1 round of 3 s, 10 buyers, 1k vs 5k products. */
  quick: boolean;
  /** Run `turbo run build` first (off: dist must be current). */
  build: boolean;
  /** Measure Hive Gateway too (installed on demand into bench/.hive). */
  hive: boolean;
  /** CPU-profile our gateways and the products and inventory subgraphs (node --cpu-prof). */
  profile: boolean;
  /** Where the JSON result goes (default bench/results/bench-<time>.json). */
  out: string | null;
  /** Another build of our gateway to measure instead of gateway/dist/index.js. */
  gatewayEntry: string | null;
  /** A/B of two builds of our gateway only, on one set of subgraphs (catalog only). */
  compare: string | null;
  /** With --compare: both builds with a warm response cache. */
  compareCached: boolean;
  /** A/B of our gateway with its container's heap bound (A, as deployed) and without it (B); like --compare. */
  heapAb: boolean;
  /** A/B of our gateway with its container's NODE_OPTIONS (A) and these instead (B), e.g. another semi-space size; like --compare. */
  compareNodeOptions: string | null;
  /** Start everything, wait this many seconds, stop (for profiling by hand). */
  hold: number | null;
  /** A/B of the whole stack: this git ref built in a worktree under /tmp, run alternately with the working tree. */
  baseline: string | null;
  /** A/B of the working tree with tracing on (ratio 1.0, OTLP to a receiver in the bench) against off. */
  tracing: boolean;
  /** With --tracing: the sampling ratio of A (default 1.0, every trace; production samples 0.1). */
  tracingRatio: number;
  /**
   * Catalog load at a fixed offered rate (req/s, uncached and warm) instead of as fast as the
   * connections go: both sides of an A/B then serve the same requests per second, so CPU per
   * request compares the work per request without one side's lower throughput counting against it.
   */
  rate: { uncached: number; cached: number } | null;
  /** Overrides of the plan (short runs while developing). */
  rounds: number | null;
  seconds: number | null;
  /** Phases to run (default all): catalog, checkout, scale. */
  phases: Set<string>;
  /** Soak: mixed storefront traffic for this many minutes with every service's memory sampled (lib/soak.ts). */
  soak: number | null;
  /** With --soak: virtual users (default 16). */
  soakUsers: number | null;
  /** With --soak: heap snapshots of every Node service at the end of the warm-up and at the end. */
  soakSnapshots: boolean;
}

const FLAGS = ['--quick', '--no-build', '--no-hive', '--profile', '--compare-cached', '--tracing', '--soak-snapshots', '--heap-ab'] as const;
const VALUED = ['--out', '--gateway-entry', '--compare', '--hold', '--baseline', '--rounds', '--seconds', '--phases', '--soak', '--soak-users', '--tracing-ratio', '--rate', '--compare-node-options'] as const;
export const PHASES = ['catalog', 'checkout', 'scale'] as const;

export function parseOptions(argv: string[]): BenchOptions {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if ((FLAGS as readonly string[]).includes(arg)) flags.add(arg);
    else if ((VALUED as readonly string[]).includes(arg)) {
      const value = argv[++i];
      if (value === undefined || (value.startsWith('--') && arg !== '--compare-node-options')) throw new Error(`${arg} needs a value`);
      values.set(arg, value);
    } else throw new Error(`unknown option ${arg} (known: ${[...FLAGS, ...VALUED].join(' ')})`);
  }
  const number = (name: string) => {
    const raw = values.get(name);
    if (raw === undefined) return null;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} needs a positive number, got ${raw}`);
    return n;
  };
  const file = (name: string) => (values.has(name) ? path.resolve(values.get(name)!) : null);
  const phases = new Set(values.get('--phases')?.split(',') ?? PHASES);
  for (const phase of phases) if (!(PHASES as readonly string[]).includes(phase)) throw new Error(`unknown phase ${phase} (known: ${PHASES.join(', ')})`);
  return {
    quick: flags.has('--quick'),
    build: !flags.has('--no-build'),
    hive: !flags.has('--no-hive'),
    profile: flags.has('--profile'),
    out: file('--out'),
    gatewayEntry: file('--gateway-entry'),
    compare: file('--compare'),
    compareCached: flags.has('--compare-cached'),
    heapAb: flags.has('--heap-ab'),
    compareNodeOptions: values.get('--compare-node-options') ?? null,
    hold: values.has('--hold') ? Math.min(1800, number('--hold') ?? 300) : null,
    baseline: values.get('--baseline') ?? null,
    tracing: flags.has('--tracing'),
    tracingRatio: Math.min(1, number('--tracing-ratio') ?? 1),
    rate: rates(values.get('--rate')),
    rounds: number('--rounds'),
    seconds: number('--seconds'),
    phases,
    // Bounded like everything else: at most 3 hours.
    soak: values.has('--soak') ? Math.min(180, number('--soak')!) : null,
    soakUsers: number('--soak-users'),
    soakSnapshots: flags.has('--soak-snapshots'),
  };
}

/** `--rate 150,1500`: offered req/s for uncached and warm-cache catalog loads. */
function rates(raw: string | undefined): BenchOptions['rate'] {
  if (raw === undefined) return null;
  const [uncached, cached] = raw.split(',').map(Number);
  if (!(uncached > 0) || !(cached > 0)) throw new Error(`--rate needs two positive req/s figures, uncached,cached (e.g. 150,1500), got ${raw}`);
  return { uncached, cached };
}
