/**
 * `npm run trace-picture`: the picture of one checkout's trace in docs/observability.md.
 * Starts every service as its own process with tracing on (OTLP/HTTP JSON to a receiver in
 * this process), performs one checkout through the gateway, draws the checkout's trace as a
 * waterfall (e2e/support/waterfall.ts) and screenshots it with headless Chromium into
 * docs/trace.png (TRACE_PICTURE to write elsewhere; the page itself goes beside it as .html
 * when TRACE_HTML=1). Loopback only; its own databases (dropped at the end) and Redis prefix.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startOtlpReceiver } from '@shop/kit/testing';
import { ROOT, startPlatform } from './support/platform';
import { ADDRESS, customerReadyToCheckOut, storefront } from './support/shopper';
import { waterfallHtml } from './support/waterfall';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const OUTPUT = path.resolve(process.env.TRACE_PICTURE ?? path.join(ROOT, 'docs', 'trace.png'));

async function main() {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium) or set CHROMIUM_PATH`);
  if (!existsSync(path.join(ROOT, 'gateway', 'dist', 'index.js'))) throw new Error('build first: npx turbo run build');
  const receiver = await startOtlpReceiver();
  const run = `${process.pid}${Date.now() % 100000}`;
  const requestId = `trace-picture-${run}`;
  console.log('starting the platform with tracing on');
  const platform = await startPlatform({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }, startTimeoutMs: 120_000 });
  try {
    const { customerToken } = await customerReadyToCheckOut(platform, run, { customerPassword: `picture password ${run}` });
    console.log('checking out');
    const checkout = await platform.query<{ checkout: { status: string } }>(
      storefront('Checkout'),
      { input: { idempotencyKey: `picture-${run}`, paymentToken: 'tok_visa', shippingAddress: ADDRESS } },
      { token: customerToken, headers: { 'x-request-id': requestId } },
    );
    if (checkout.data?.checkout.status !== 'CONFIRMED') throw new Error(`checkout did not confirm: ${JSON.stringify(checkout)}`);
  } finally {
    // A graceful stop flushes every process's batched spans.
    await platform.stop();
  }
  const root = receiver.spans.find((s) => s.service === 'gateway' && s.kind === 2 && s.attributes['request.id'] === requestId);
  await receiver.close();
  if (!root) throw new Error('the checkout left no gateway span');
  const spans = receiver.spans.filter((s) => s.traceId === root.traceId);
  const html = waterfallHtml(spans, `mutation Checkout — one trace (${root.traceId})`);
  if (process.env.TRACE_HTML === '1') writeFileSync(OUTPUT.replace(/\.png$/, '.html'), html);

  const profile = mkdtempSync(path.join(os.tmpdir(), 'trace-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1500, height: 800 },
    });
    try {
      const page = await context.newPage();
      await page.setContent(html, { waitUntil: 'load' });
      await page.screenshot({ path: OUTPUT, fullPage: true });
    } finally {
      await context.close();
    }
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
  console.log(`${spans.length} spans from ${new Set(spans.map((s) => s.service)).size} services: ${path.relative(ROOT, OUTPUT)}`);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.stack : String(error));
  process.exit(1);
});
