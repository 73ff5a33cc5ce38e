import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { tracingRequested } from './tracing';

/** Loads the kit the way a service's entry point does, then reports what tracing did to the process. */
function probe(env: Record<string, string>): { started: boolean; patched: Record<string, boolean> } {
  const script = `
    const kit = require(${JSON.stringify(path.join(__dirname, 'index.ts'))});
    const wrapped = (fn) => typeof fn === 'function' && '__wrapped' in fn;
    const patched = {
      http: wrapped(require('node:http').createServer) || wrapped(require('node:http').Server.prototype.emit),
      pg: wrapped(require('pg').Client.prototype.query),
      ioredis: wrapped(require('ioredis').prototype.sendCommand),
      graphql: wrapped(require('graphql').parse),
    };
    process.stdout.write(JSON.stringify({ started: kit.tracingStarted(), patched }));`;
  const output = execFileSync(process.execPath, ['--require', require.resolve('tsx/cjs'), '-e', script], {
    env: { PATH: process.env.PATH ?? '', ...env },
    cwd: path.join(__dirname, '..'),
  });
  return JSON.parse(output.toString());
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

  it('patches http, pg, ioredis and graphql before they load when an endpoint is set', () => {
    // Port 9 (discard): nothing is exported during the probe; only the patching is looked at.
    expect(probe({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' })).toEqual({
      started: true,
      patched: { http: true, pg: true, ioredis: true, graphql: true },
    });
  }, 60_000);
});
