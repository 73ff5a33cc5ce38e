import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { startCatalogStack, type CatalogStack } from '../testing/catalog-stack';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// The README's screenshot is refreshed on request (UPDATE_SCREENSHOTS=1), so a test run
// leaves the working tree as it found it.
const SCREENSHOT = process.env.UPDATE_SCREENSHOTS
  ? path.resolve(__dirname, '..', '..', '..', 'docs', 'playground.png')
  : path.join(os.tmpdir(), `playground-${process.pid}.png`);

/**
 * Drives the offline GraphiQL in headless Chromium (Debian's `chromium` package, driven by
 * playwright-core; no browser download): loads /graphql, runs the Categories example, reads
 * the result, and saves the screenshot the README shows.
 */
describe('playground in a browser', () => {
  let stack: CatalogStack;
  let context: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(
        `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium) or set CHROMIUM_PATH`,
      );
    stack = await startCatalogStack();
    const created = await stack.gql(
      'mutation CreateCategory($input: CreateCategoryInput!) { createCategory(input: $input) { id } }',
      { input: { slug: 'playground-gear', name: 'Playground Gear' } },
      { token: stack.adminToken },
    );
    expect(created.errors).toBeUndefined();
    profile = mkdtempSync(path.join(os.tmpdir(), 'gw-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
      viewport: { width: 1400, height: 860 },
    });
  }, 120_000);
  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await stack?.stop();
  });

  it('loads from our own assets, runs query Categories and shows the result', async () => {
    const page = await context.newPage();
    const outside: string[] = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (!['127.0.0.1', 'localhost'].includes(url.hostname) && url.protocol.startsWith('http'))
        outside.push(request.url());
    });
    // Nothing fails on the way (the schema comes from /playground/schema.json, not an over-limit introspection).
    const failed: string[] = [];
    page.on('response', (response) => {
      if (response.status() >= 400 && !response.url().endsWith('/favicon.ico'))
        failed.push(`${response.status()} ${response.url()}`);
    });
    page.on('pageerror', (error) => failed.push(`page error: ${error.message}`));
    await page.goto(`${stack.gateways[0].url}/graphql`);
    await page.waitForSelector('.graphiql-execute-button', { timeout: 30_000 });
    // The editor holds every contract operation: once GraphiQL has parsed them (it does so a
    // moment after the editor fills), the run button asks which one to run.
    await page.locator('.graphiql-query-editor').getByText('query Categories').first().waitFor({ timeout: 30_000 });
    const categories = page.getByRole('menuitem', { name: 'Categories', exact: true });
    for (let attempt = 0; attempt < 20 && !(await categories.isVisible()); attempt += 1) {
      await page.waitForTimeout(500);
      if (await categories.isVisible()) break;
      await page.click('.graphiql-execute-button');
      await categories.waitFor({ timeout: 1_000 }).catch(() => undefined);
    }
    await categories.click();
    const result = page.locator('.result-window');
    await result.getByText('playground-gear').first().waitFor({ timeout: 30_000 });
    expect(await result.innerText()).toMatch(/"categories"/);
    expect(outside).toEqual([]);
    expect(failed).toEqual([]);
    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT });
    expect(existsSync(SCREENSHOT)).toBe(true);
  }, 90_000);
});
