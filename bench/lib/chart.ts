/** A dependency-free grouped bar chart: one group per operation, one bar per target. */
export interface ChartPanel {
  title: string;
  unit: string;
  groups: { label: string; values: { series: string; value: number | null }[] }[];
}

const COLOURS = ['#1f77b4', '#6baed6', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2'];
const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function barChart(title: string, panels: ChartPanel[], note: string): string {
  const series = [...new Set(panels.flatMap((p) => p.groups.flatMap((g) => g.values.map((v) => v.series))))];
  const panelWidth = 460;
  const panelHeight = 300;
  const width = panelWidth * panels.length + 40;
  const height = panelHeight + 150;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escape(title)}</text>`,
  ];
  panels.forEach((panel, index) => {
    const x0 = 20 + index * panelWidth + 50;
    const y0 = 50;
    const plotW = panelWidth - 80;
    const plotH = panelHeight - 70;
    const max = Math.max(1, ...panel.groups.flatMap((g) => g.values.map((v) => v.value ?? 0))) * 1.12;
    out.push(`<text x="${x0 + plotW / 2}" y="${y0 - 8}" text-anchor="middle" font-size="13">${escape(panel.title)} (${escape(panel.unit)})</text>`);
    for (let t = 0; t <= 4; t++) {
      const v = (max * t) / 4;
      const y = y0 + plotH - (plotH * t) / 4;
      out.push(`<line x1="${x0}" x2="${x0 + plotW}" y1="${y}" y2="${y}" stroke="#ddd"/>`);
      out.push(`<text x="${x0 - 4}" y="${y + 4}" text-anchor="end" fill="#555">${v >= 100 ? Math.round(v) : v.toFixed(1)}</text>`);
    }
    const groupW = plotW / panel.groups.length;
    panel.groups.forEach((group, g) => {
      const barW = (groupW - 16) / Math.max(1, group.values.length);
      group.values.forEach((entry, b) => {
        const value = entry.value ?? 0;
        const h = (plotH * value) / max;
        const x = x0 + g * groupW + 8 + b * barW;
        const colour = COLOURS[series.indexOf(entry.series) % COLOURS.length];
        out.push(`<rect x="${x.toFixed(1)}" y="${(y0 + plotH - h).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${colour}"/>`);
        const label = entry.value === null ? 'n/a' : value >= 100 ? String(Math.round(value)) : value.toFixed(1);
        out.push(`<text x="${(x + barW / 2 - 1).toFixed(1)}" y="${(y0 + plotH - h - 3).toFixed(1)}" text-anchor="middle" font-size="9">${label}</text>`);
      });
      out.push(`<text x="${x0 + g * groupW + groupW / 2}" y="${y0 + plotH + 16}" text-anchor="middle">${escape(group.label)}</text>`);
    });
    out.push(`<line x1="${x0}" x2="${x0}" y1="${y0}" y2="${y0 + plotH}" stroke="#333"/>`);
  });
  const legendY = panelHeight + 30;
  series.forEach((s, i) => {
    const x = 70 + (i % 4) * 230;
    const y = legendY + Math.floor(i / 4) * 18;
    out.push(`<rect x="${x}" y="${y - 9}" width="12" height="12" fill="${COLOURS[i % COLOURS.length]}"/>`);
    out.push(`<text x="${x + 18}" y="${y + 1}">${escape(s)}</text>`);
  });
  note.split('\n').forEach((line, i) => out.push(`<text x="20" y="${legendY + 50 + i * 14}" fill="#444">${escape(line)}</text>`));
  out.push('</svg>');
  return out.join('\n');
}

interface ReportForChart {
  mode: string;
  machine: { cpus: number; node: string; apolloGateway: string; hiveGateway: string; autocannon: string };
  plan: { connections: number };
  catalog: { operation: string; targets: { key: string; label: string; rps: number; p95: number; cpuMsPerRequest: number }[]; ratios: Record<string, number | null> }[];
}

/** The catalog figures of a bench result: throughput and CPU per request without the ceiling (it would flatten every other bar), p95. */
export function catalogChart(report: ReportForChart): string {
  const gateways = (s: ReportForChart['catalog'][number]) => s.targets.filter((t) => t.key !== 'ceiling');
  const ceiling = report.catalog.map((s) => `${s.operation} ${s.targets.find((t) => t.key === 'ceiling')?.rps ?? 'n/a'}`).join(', ');
  const panels: ChartPanel[] = [
    {
      title: 'Throughput',
      unit: 'req/s, higher is better',
      groups: report.catalog.map((s) => ({ label: s.operation, values: gateways(s).map((t) => ({ series: t.label, value: t.rps })) })),
    },
    {
      title: 'Latency p95',
      unit: 'ms, lower is better',
      groups: report.catalog.map((s) => ({ label: s.operation, values: gateways(s).map((t) => ({ series: t.label, value: t.p95 })) })),
    },
    {
      title: 'Gateway CPU per request',
      unit: 'ms, lower is better',
      groups: report.catalog.map((s) => ({ label: s.operation, values: gateways(s).map((t) => ({ series: t.label, value: t.cpuMsPerRequest })) })),
    },
  ];
  const ratios = report.catalog.map((s) => `${s.operation}: ${Object.entries(s.ratios).map(([k, v]) => `${k} ${v ?? 'n/a'}`).join(', ')}`);
  const m = report.machine;
  return barChart(
    `Federated catalog queries, ${m.cpus} cores, ${report.plan.connections} connections${report.mode === 'quick' ? ' (quick run)' : ''}`,
    panels,
    [
      `node:http ceiling (same bytes, not drawn): ${ceiling} req/s`,
      ...ratios,
      `node ${m.node}, @apollo/gateway ${m.apolloGateway}, Hive Gateway ${m.hiveGateway}, autocannon ${m.autocannon}`,
    ].join('\n'),
  );
}
