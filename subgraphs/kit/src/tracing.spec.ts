import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { instrumentationsOf, tracingRequested } from './tracing';

/**
 * Loads the kit the way a service's entry point does, then reports what tracing did to the
 * process. With `entryPackage`, the script runs from a folder holding that package.json.
 */
function probe(env: Record<string, string>, entryPackage?: object): { started: boolean; patched: Record<string, boolean> } {
  const script = `
    const kit = require(${JSON.stringify(path.join(__dirname, 'index.ts'))});
    const wrapped = (fn) => typeof fn === 'function' && '__wrapped' in fn;
    const patched = {
      http: wrapped(require('node:http').createServer) || wrapped(require('node:http').Server.prototype.emit),
      pg: wrapped(require(${JSON.stringify(require.resolve('pg'))}).Client.prototype.query),
      ioredis: wrapped(require(${JSON.stringify(require.resolve('ioredis'))}).prototype.sendCommand),
      graphql: wrapped(require(${JSON.stringify(require.resolve('graphql'))}).parse),
    };
    process.stdout.write(JSON.stringify({ started: kit.tracingStarted(), patched }));`;
  const dir = entryPackage ? mkdtempSync(path.join(os.tmpdir(), 'tracing-probe-')) : undefined;
  try {
    if (dir) {
      writeFileSync(path.join(dir, 'package.json'), JSON.stringify(entryPackage));
      writeFileSync(path.join(dir, 'probe.js'), script);
    }
    const output = execFileSync(process.execPath, ['--require', require.resolve('tsx/cjs'), ...(dir ? [path.join(dir, 'probe.js')] : ['-e', script])], {
      env: { PATH: process.env.PATH ?? '', ...env },
      cwd: path.join(__dirname, '..'),
    });
    return JSON.parse(output.toString());
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

describe('tracing switch (standard OTEL_* variables only)', () => {
  it('is on with an OTLP endpoint or an explicit exporter, and off otherwise', () => {
    expect(tracingRequested({})).toBe(false);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(true);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' })).toBe(true);
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: 'console' })).toBe(true);
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(false);
    expect(tracingRequested({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(false);
  });

  it('starts no SDK and patches no module when no endpoint is set', () => {
    expect(probe({})).toEqual({ started: false, patched: { http: false, pg: false, ioredis: false, graphql: false } });
  }, 60_000);

  it('patches pg, ioredis and graphql before they load when an endpoint is set, and never http (the edge makes server spans)', () => {
    // Port 9 (discard): nothing is exported during the probe; only the patching is looked at.
    expect(probe({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' })).toEqual({
      started: true,
      patched: { http: false, pg: true, ioredis: true, graphql: true },
    });
  }, 60_000);

  it("loads the instrumentations the entry package lists under tracing.instrument, every one when it lists none", () => {
    expect([...instrumentationsOf({ service: 'orders' })]).toEqual(['pg', 'ioredis', 'graphql']);
    expect([...instrumentationsOf({ service: 'gateway', tracing: { instrument: ['http'] } })]).toEqual([]);
    expect([...instrumentationsOf({ service: 'x', tracing: { instrument: ['graphql', 'unknown'] } })]).toEqual(['graphql']);
    expect([...instrumentationsOf({ service: 'x', tracing: { instrument: [] } })]).toEqual([]);
  });

  it('patches only what the entry package lists (the gateway: nothing)', () => {
    const gateway = { name: '@shop/gateway', tracing: { instrument: [] } };
    expect(probe({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' }, gateway)).toEqual({
      started: true,
      patched: { http: false, pg: false, ioredis: false, graphql: false },
    });
  }, 60_000);
});
