import type { ReceivedSpan } from '@shop/kit/testing';

/** One row of the picture: a span in tree order (parents before children, siblings by start). */
export interface WaterfallRow {
  span: ReceivedSpan;
  depth: number;
  /** Milliseconds from the trace's first start. */
  startMs: number;
  durationMs: number;
}

const KINDS: Record<number, string> = { 1: 'internal', 2: 'server', 3: 'client', 4: 'producer', 5: 'consumer' };
const COLOURS: Record<string, string> = {
  gateway: '#4c6ef5',
  users: '#12b886',
  products: '#f59f00',
  inventory: '#7950f2',
  orders: '#e64980',
  payments: '#1098ad',
};

const nanos = (value: string) => BigInt(value);
const escape = (text: string) => text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** The spans of one trace as waterfall rows: depth-first from its roots, children by start time. */
export function waterfallRows(spans: ReceivedSpan[]): WaterfallRow[] {
  if (spans.length === 0) return [];
  const origin = spans.map((s) => nanos(s.startTimeUnixNano)).reduce((a, b) => (b < a ? b : a));
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string | undefined, ReceivedSpan[]>();
  for (const span of spans) {
    // A span whose parent is missing from the export is shown as a root rather than dropped.
    const parent = span.parentSpanId && ids.has(span.parentSpanId) ? span.parentSpanId : undefined;
    children.set(parent, [...(children.get(parent) ?? []), span]);
  }
  for (const list of children.values()) list.sort((a, b) => (nanos(a.startTimeUnixNano) < nanos(b.startTimeUnixNano) ? -1 : 1));
  const rows: WaterfallRow[] = [];
  const visit = (span: ReceivedSpan, depth: number) => {
    const start = nanos(span.startTimeUnixNano);
    rows.push({
      span,
      depth,
      startMs: Number(start - origin) / 1e6,
      durationMs: Number(nanos(span.endTimeUnixNano) - start) / 1e6,
    });
    for (const child of children.get(span.spanId) ?? []) visit(child, depth + 1);
  };
  for (const root of children.get(undefined) ?? []) visit(root, 0);
  return rows;
}

/** What a row says about its span beyond the name: the operation, the statement's verb, the error code. */
function detail(span: ReceivedSpan): string {
  const a = span.attributes;
  const parts: string[] = [];
  if (a['error.code']) parts.push(`error ${String(a['error.code'])}`);
  if (a['db.system.name'] === 'postgresql' && a['db.query.text']) parts.push(String(a['db.query.text']).slice(0, 60));
  if (span.name === 'gateway.fetch' && a.service) parts.push(`→ ${String(a.service)}`);
  return parts.join(' · ');
}

/**
 * A self-contained HTML page drawing one trace as a waterfall: per span its service, kind,
 * name (indented by nesting), start offset and duration, with a bar on a shared time axis.
 */
export function waterfallHtml(spans: ReceivedSpan[], title: string): string {
  const rows = waterfallRows(spans);
  const total = Math.max(1, ...rows.map((r) => r.startMs + r.durationMs));
  const step = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000].find((s) => total / s <= 10) ?? 10000;
  const ticks = Array.from({ length: Math.floor(total / step) + 1 }, (_, i) => i * step);
  const services = [...new Set(rows.map((r) => r.span.service))];
  const colour = (service: string) => COLOURS[service] ?? '#868e96';
  const body = rows
    .map(({ span, depth, startMs, durationMs }) => {
      const left = (100 * startMs) / total;
      const width = Math.max(0.15, (100 * durationMs) / total);
      const failed = span.status?.code === 2;
      return `<tr${failed ? ' class="failed"' : ''}>
  <td class="service"><span class="chip" style="background:${colour(span.service)}">${escape(span.service)}</span></td>
  <td class="kind">${KINDS[span.kind] ?? ''}</td>
  <td class="name" style="padding-left:${6 + depth * 14}px" title="${escape(span.name)}">${escape(span.name)}<span class="detail">${escape(detail(span))}</span></td>
  <td class="num">${startMs.toFixed(1)}</td>
  <td class="num">${durationMs.toFixed(1)}</td>
  <td class="bar"><div class="track"><div style="left:${left.toFixed(3)}%;width:${width.toFixed(3)}%;background:${colour(span.service)}"></div></div></td>
</tr>`;
    })
    .join('\n');
  const axis = ticks.map((t) => `<span style="left:${((100 * t) / total).toFixed(3)}%">${t} ms</span>`).join('');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escape(title)}</title>
<style>
  body { font: 12px/1.25 -apple-system, "DejaVu Sans", Arial, sans-serif; margin: 16px; color: #212529; background: #fff; }
  h1 { font-size: 16px; margin: 0 0 4px; }
  p.sub { margin: 0 0 10px; color: #495057; }
  table { border-collapse: collapse; width: 100%; table-layout: fixed; }
  th { text-align: left; font-weight: 600; border-bottom: 1px solid #adb5bd; padding: 3px 6px; }
  td { padding: 1px 6px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; border-bottom: 1px solid #f1f3f5; height: 16px; }
  col.service { width: 78px; } col.kind { width: 64px; } col.name { width: 520px; } col.num { width: 70px; }
  .chip { color: #fff; border-radius: 3px; padding: 0 5px; font-size: 11px; }
  .kind { color: #868e96; font-size: 11px; }
  .num { text-align: right; font-variant-numeric: tabular-nums; }
  .detail { color: #868e96; margin-left: 8px; font-size: 11px; }
  .track { position: relative; height: 11px; margin-right: 24px; }
  .track div { position: absolute; top: 0; height: 11px; border-radius: 2px; min-width: 2px; }
  tr.failed td.name { color: #c92a2a; }
  .axis { position: relative; height: 16px; color: #868e96; font-size: 11px; margin-right: 24px; }
  .axis span { position: absolute; transform: translateX(-50%); }
  .legend span { margin-right: 10px; }
</style></head>
<body>
<h1>${escape(title)}</h1>
<p class="sub">${rows.length} spans from ${services.length} services, ${total.toFixed(1)} ms in all · <span class="legend">${services
    .map((s) => `<span><span class="chip" style="background:${colour(s)}">${escape(s)}</span></span>`)
    .join('')}</span></p>
<table>
<colgroup><col class="service"><col class="kind"><col class="name"><col class="num"><col class="num"><col></colgroup>
<thead><tr><th>service</th><th>kind</th><th>span (nesting by indent)</th><th class="num">start ms</th><th class="num">took ms</th><th><div class="axis">${axis}</div></th></tr></thead>
<tbody>
${body}
</tbody></table>
</body></html>
`;
}
