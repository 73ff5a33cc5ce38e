import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time by function (and by package) of every .cpuprofile in `dir`, largest first. */
export function summariseProfiles(dir: string, top = 25): string {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  let total = 0;
  for (const file of files) {
    const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as CpuProfile;
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    profile.samples.forEach((id, i) => {
      const dt = profile.timeDeltas[i] ?? 0;
      const frame = nodes.get(id)!.callFrame;
      // Shares of busy time: a service waiting for work says nothing about where work goes.
      if (frame.functionName === '(idle)') return;
      const where = frame.url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, '');
      const key = `${frame.functionName || '(anonymous)'} ${where ? `${where}:${frame.lineNumber + 1}` : ''}`;
      byFunction.set(key, (byFunction.get(key) ?? 0) + dt);
      const pkg = !frame.url
        ? frame.functionName.startsWith('(') ? frame.functionName : '(native)'
        : frame.url.includes('/node_modules/')
          ? /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(frame.url)![1]
          : frame.url.startsWith('node:')
            ? 'node:' + frame.url.slice(5).split('/')[0]
            : path.relative(path.resolve(__dirname, '..', '..'), frame.url.replace(/^file:\/\//, '')).split('/').slice(0, 3).join('/');
      byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + dt);
      total += dt;
    });
  }
  const lines = (map: Map<string, number>, n: number) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => `${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
  return [`${files.length} profile(s), ${(total / 1e6).toFixed(1)} s busy (idle excluded)`, '-- by package', ...lines(byPackage, 20), '-- by function (self time)', ...lines(byFunction, top)].join('\n');
}
