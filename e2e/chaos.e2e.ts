import { ChaosRun, describeRound } from './support/chaos';

/**
 * The short round of the chaos test (the full one is `npm run chaos`): a few storefronts
 * check out at once, orders is killed with SIGKILL half-way and restarted, and then every
 * checkout must settle with no invariant broken (see support/chaos.ts for the list).
 */
describe('checkout under a crash (short chaos round)', () => {
  let run: ChaosRun;
  beforeAll(async () => {
    run = await ChaosRun.start({ settleTimeoutMs: 45_000, log: (line) => process.stdout.write(`${line}\n`) });
  }, 180_000);
  afterAll(() => run?.stop());

  it('settles every checkout after orders is killed mid-way, with every invariant holding', async () => {
    const result = await run.round('kill-orders', 6);
    expect({ summary: describeRound(result), violations: result.violations }).toEqual({
      summary: expect.any(String),
      violations: {},
    });
    expect(result.settledMs).not.toBeNull();
    expect(result.lostProcesses).toEqual([]);
  }, 150_000);
});
