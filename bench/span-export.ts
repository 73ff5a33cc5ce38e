/**
 * What one exported span costs a process, all threads counted (GC, JIT and the exporter's
 * HTTP included, which a CPU profile of the main thread does not show):
 *
 *   npx tsx --tsconfig bench/tsconfig.json bench/span-export.ts [rounds=4] [seconds=5] [spans/s=1500]
 *
 * Each variant runs in a process of its own, making spans shaped like the HTTP edge's server
 * span at a fixed rate for a fixed time, and reports its CPU (process.cpuUsage) per span;
 * variants alternate ABBA over the rounds, and the OTLP sink is a third process:
 * - `noop`: the API's no-op tracer (the loop's own cost, the baseline);
 * - `sdk`: the SDK's spans and BatchSpanProcessor, the exporter dropping every batch;
 * - `otlp-json`: the same exporting OTLP/HTTP with JSON bodies (what the platform sends);
 * - `otlp-protobuf`: the same with protobuf bodies (the OTLP exporter's serializer swapped).
 * Differences between variants are what each step costs per span. Nothing is asserted.
 */
import { fork } from 'node:child_process';
import http from 'node:http';
import { createRequire } from 'node:module';
import { ROOT_CONTEXT, SpanKind, trace, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { BatchSpanProcessor, NodeTracerProvider, type SpanExporter } from '@opentelemetry/sdk-trace-node';

const VARIANTS = ['noop', 'sdk', 'otlp-json', 'otlp-protobuf'] as const;
type Variant = (typeof VARIANTS)[number];
const [rounds, seconds, rate] = [Number(process.argv[2] ?? 4), Number(process.argv[3] ?? 5), Number(process.argv[4] ?? 1500)];

if (process.argv[2] === '--sink') runSink();
else if (process.argv[2] === '--variant') void runVariant(process.argv[3] as Variant, Number(process.argv[4]), Number(process.argv[5]), process.argv[6]);
else void main();

function runSink() {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const protobuf = req.headers['content-type'] === 'application/x-protobuf';
      res.setHeader('content-type', protobuf ? 'application/x-protobuf' : 'application/json');
      res.end(protobuf ? undefined : '{}');
    });
  });
  server.listen(0, '127.0.0.1', () => process.send!((server.address() as { port: number }).port));
}

/** The OTLP/HTTP exporter with protobuf bodies, built from the pieces of the JSON exporter's own dependencies. */
function protobufExporter(url: string): SpanExporter {
  // The exporter's own versions of these (npm may nest them under it).
  const from = createRequire(require.resolve('@opentelemetry/exporter-trace-otlp-http/package.json'));
  const base = from('@opentelemetry/otlp-exporter-base');
  const nodeHttp = from('@opentelemetry/otlp-exporter-base/node-http');
  const transformer = from('@opentelemetry/otlp-transformer');
  const delegate = nodeHttp.createOtlpHttpExportDelegate(
    nodeHttp.convertLegacyHttpOptions({ url }, 'TRACES', 'v1/traces', { 'Content-Type': 'application/x-protobuf' }),
    transformer.ProtobufTraceSerializer,
    'otlp_http_span_exporter',
    transformer.TraceExporterMetricsHelper,
  );
  return new base.OTLPExporterBase(delegate) as SpanExporter;
}

async function runVariant(variant: Variant, seconds: number, rate: number, url: string) {
  const dropping: SpanExporter = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };
  const exporter = variant === 'sdk' ? dropping : variant === 'otlp-json' ? new OTLPTraceExporter({ url }) : protobufExporter(url);
  const provider = variant === 'noop' ? undefined : new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] });
  const tracer: Tracer = provider ? provider.getTracer('@shop/kit') : trace.getTracer('noop');
  let made = 0;
  const tick = () => {
    for (let i = 0; i < rate / 100; i++, made++) {
      const span = tracer.startSpan(
        'POST /graphql',
        { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'POST', 'url.path': '/graphql', 'request.id': `r-${made}` } },
        ROOT_CONTEXT,
      );
      span.setAttribute('graphql.operation.name', 'ProductList');
      span.setAttribute('http.response.status_code', 200);
      span.end();
    }
  };
  const measure = async (ms: number) => {
    made = 0;
    const before = process.cpuUsage();
    const timer = setInterval(tick, 10);
    await new Promise((resolve) => setTimeout(resolve, ms));
    clearInterval(timer);
    await provider?.forceFlush();
    const used = process.cpuUsage(before);
    return { microsPerSpan: (used.user + used.system) / made, spans: made };
  };
  await measure(2000); // warm-up: JIT, the exporter's first connection
  process.send!(await measure(seconds * 1000));
  await provider?.shutdown();
  process.exit(0);
}

async function main() {
  const sink = fork(__filename, ['--sink'], { execArgv: process.execArgv });
  const port = await new Promise<number>((resolve) => sink.once('message', (m) => resolve(m as number)));
  const url = `http://127.0.0.1:${port}/v1/traces`;
  const results = new Map<Variant, number[]>();
  console.log(`${rate} spans/s for ${seconds} s per variant, ${rounds} rounds (ABBA), CPU of the whole process per span`);
  for (let round = 1; round <= rounds; round++) {
    for (const variant of round % 2 ? VARIANTS : [...VARIANTS].reverse()) {
      const child = fork(__filename, ['--variant', variant, String(seconds), String(rate), url], { execArgv: process.execArgv });
      const result = await new Promise<{ microsPerSpan: number; spans: number }>((resolve, reject) => {
        child.once('message', (m) => resolve(m as { microsPerSpan: number; spans: number }));
        child.once('exit', (code) => reject(new Error(`${variant} exited with ${code} before reporting`)));
      });
      results.set(variant, [...(results.get(variant) ?? []), result.microsPerSpan]);
      console.log(`round ${round} ${variant.padEnd(14)} ${result.microsPerSpan.toFixed(1).padStart(6)} µs per span (${result.spans} spans)`);
      child.removeAllListeners('exit');
      await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(null)));
    }
  }
  const mean = (v: Variant) => results.get(v)!.reduce((a, b) => a + b, 0) / results.get(v)!.length;
  console.log('\n| variant | µs CPU per span (mean) | over its base (sdk over noop, each export over sdk) |\n|---|---:|---:|');
  VARIANTS.forEach((v, i) => console.log(`| ${v} | ${mean(v).toFixed(1)} | ${i === 0 ? '–' : (mean(v) - mean(VARIANTS[i === 3 ? 1 : i - 1])).toFixed(1)} |`));
  sink.kill();
}
