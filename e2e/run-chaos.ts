/**
 * `npm run chaos`: the full chaos run. One round per fault (a calm round first, for the
 * baseline), each with CHAOS_CHECKOUTS concurrent checkouts (default 30), each waiting at
 * most CHAOS_SETTLE_SECONDS (default 60) to settle. Loopback only; its own databases and its
 * own Redis. Prints one line per round and exits non-zero when any invariant failed to hold.
 */
import { ChaosRun, FAULTS, INVARIANTS, type Fault, type Invariant, type RoundResult } from './support/chaos';

async function main() {
  const checkouts = Number(process.env.CHAOS_CHECKOUTS ?? 30);
  const settleSeconds = Number(process.env.CHAOS_SETTLE_SECONDS ?? 60);
  const faults = (process.env.CHAOS_FAULTS?.split(',') ?? FAULTS) as Fault[];
  const unknown = faults.filter((f) => !(FAULTS as readonly string[]).includes(f));
  if (unknown.length > 0 || !(checkouts >= 1 && checkouts <= 200) || !(settleSeconds >= 5 && settleSeconds <= 600)) {
    console.error(`usage: CHAOS_CHECKOUTS=1..200 CHAOS_SETTLE_SECONDS=5..600 CHAOS_FAULTS=${FAULTS.join(',')} npm run chaos`);
    process.exit(2);
  }
  const log = (line: string) => console.log(line);
  const started = Date.now();
  const run = await ChaosRun.start({ log, settleTimeoutMs: settleSeconds * 1000 });
  const results: RoundResult[] = [];
  try {
    for (const fault of faults) results.push(await run.round(fault, checkouts));
  } finally {
    await run.stop();
  }
  const failed = new Set<Invariant>(results.flatMap((r) => Object.keys(r.violations) as Invariant[]));
  const baseline = results.find((r) => r.fault === 'none')?.medianCheckoutMs;
  const paused = results.find((r) => r.fault === 'pause-redis')?.medianCheckoutMs;
  console.log('');
  if (baseline && paused) console.log(`checkout with Redis paused: ${(paused / baseline).toFixed(2)}× the calm round's median`);
  console.log(`${results.length} rounds in ${Math.round((Date.now() - started) / 1000)} s; ` +
    `${results.filter((r) => r.settledMs !== null).length} settled; processes lost: ${results.flatMap((r) => r.lostProcesses).join(', ') || 'none'}`);
  for (const invariant of Object.keys(INVARIANTS) as Invariant[])
    console.log(`  ${failed.has(invariant) ? 'FAILED' : 'held  '} ${INVARIANTS[invariant]}`);
  process.exit(failed.size === 0 && results.every((r) => r.settledMs !== null && r.lostProcesses.length === 0) ? 0 : 1);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.stack : String(error));
  process.exit(1);
});
