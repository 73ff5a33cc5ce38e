import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDatabase, TEST_REDIS_URL, type TestDatabase } from '@shop/kit/testing';
import { freePort, waitFor } from '@shop/kit/testing';
import { imageMallocEnv } from '../../bench/lib/heap';
import { REPO_ROOT, find, renderOverlay } from './render';
import { generatedSecrets } from './secrets';

/**
 * The Dockerfile is read, not built (no Docker engine here): its structure is checked, and its
 * stages are replayed on the host for one service — the build stage's build command, the
 * prod-deps stage's production install into a temporary folder, the runtime stage's copies —
 * and the result is booted with the production overlay's configuration.
 */

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

function parseDockerfile(text: string): { args: Instruction[]; stages: Stage[] } {
  const joined = text.replace(/\\\r?\n/g, ' ');
  const lines = joined
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const args: Instruction[] = [];
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, keyword, rest] = /^(\w+)\s+(.*)$/.exec(line)!;
    const instruction = { keyword: keyword.toUpperCase(), args: rest.replace(/\s+/g, ' ') };
    if (instruction.keyword === 'FROM') {
      const [, from, name] = /^(\S+)(?:\s+AS\s+(\S+))?/i.exec(instruction.args)!;
      stages.push({ from, name, instructions: [] });
    } else if (stages.length === 0) args.push(instruction);
    else stages[stages.length - 1].instructions.push(instruction);
  }
  return { args, stages };
}

const dockerfile = parseDockerfile(readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8'));
const finalStage = dockerfile.stages[dockerfile.stages.length - 1];
const stage = (name: string) => dockerfile.stages.find((s) => s.name === name)!;
const runs = (s: Stage) => s.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
const copies = (s: Stage) =>
  s.instructions
    .filter((i) => i.keyword === 'COPY')
    .map((i) => {
      const words = i.args.split(' ');
      const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
      const paths = words.filter((w) => !w.startsWith('--'));
      return { from, sources: paths.slice(0, -1), destination: paths[paths.length - 1] };
    });
const rootPackage = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  workspaces: string[];
  devDependencies: Record<string, string>;
};

describe('Dockerfile (read)', () => {
  it('is multi-stage, and its final stage runs node under tini as a numeric non-root user', () => {
    expect(dockerfile.stages.length).toBeGreaterThanOrEqual(3);
    expect(finalStage.name).toBe('runtime');
    const user = finalStage.instructions.filter((i) => i.keyword === 'USER').pop()!.args;
    expect(user).toMatch(/^\d+(:\d+)?$/);
    expect(Number(user.split(':')[0])).toBeGreaterThan(0);
    // USER comes after every RUN of the final stage: nothing runs as root at start.
    const lastUser = finalStage.instructions.map((i) => i.keyword).lastIndexOf('USER');
    expect(finalStage.instructions.slice(lastUser).some((i) => i.keyword === 'RUN')).toBe(false);
    expect(JSON.parse(finalStage.instructions.find((i) => i.keyword === 'ENTRYPOINT')!.args)).toEqual(['/usr/bin/tini', '--']);
    expect(JSON.parse(finalStage.instructions.find((i) => i.keyword === 'CMD')!.args)).toEqual(['node', 'dist/index.js']);
    expect(runs(finalStage).join(' ')).toMatch(/apt-get install[^&]*\btini\b/);
  });

  it('bounds glibc to two malloc arenas for every process, and the bench runs its processes the same way', () => {
    // Without it a service's native memory crept up for 20 minutes of steady traffic (docs/deploying.md, "Memory").
    const env = finalStage.instructions.filter((i) => i.keyword === 'ENV').map((i) => i.args).join(' ');
    expect(env.split(' ')).toContain('MALLOC_ARENA_MAX=2');
    expect(imageMallocEnv(REPO_ROOT)).toEqual({ MALLOC_ARENA_MAX: '2' });
  });

  it('takes production dependencies only into the final stage', () => {
    expect(runs(finalStage).some((r) => /\bnpm (ci|install|i)\b/.test(r))).toBe(false);
    const modules = copies(finalStage).find((c) => c.sources.some((s) => s.endsWith('node_modules')))!;
    const install = runs(stage(modules.from!)).find((r) => /\bnpm ci\b/.test(r))!;
    expect(install).toMatch(/--omit=dev/);
    expect(install).toMatch(/--workspace "?\$\{SERVICE\}"?/);
    expect(install).toMatch(/--include-workspace-root=false/);
    // Compiled output only, from the build stage: no sources, no tests, no dev tooling.
    for (const copy of copies(finalStage).filter((c) => c.from === 'build'))
      for (const source of copy.sources) expect(source).toMatch(/\/(dist|package\.json)$/);
  });

  it('copies every workspace manifest before `npm ci`, so the lockfile install works', () => {
    for (const s of [stage('build'), stage('prod-deps')]) {
      const copied = copies(s).flatMap((c) => c.sources.map((src) => src.replace(/^\/app\//, '')));
      for (const workspace of rootPackage.workspaces) expect(copied).toContain(`${workspace}/package.json`);
      expect(copied).toContain('package-lock.json');
    }
  });

  it('runs as the uid the manifests require, from the folder their commands assume', () => {
    const uid = Number(finalStage.instructions.filter((i) => i.keyword === 'USER').pop()!.args.split(':')[0]);
    const deployment = find(renderOverlay('production'), 'Deployment', 'users').spec.template.spec;
    expect(deployment.securityContext.runAsUser).toBe(uid);
    const workdir = finalStage.instructions.filter((i) => i.keyword === 'WORKDIR').pop()!.args;
    expect(workdir).toBe('/app/${SERVICE}');
    expect(deployment.containers[0].args).toEqual(['node', 'dist/index.js']);
  });

  it('has a .dockerignore that keeps local state, secrets and build output out of the context', () => {
    const ignored = readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const entry of ['**/node_modules', '**/dist', '.git', '.env', '.env.*', '**/.data', '**/*.pem', '**/dev-keys.json'])
      expect(ignored).toContain(entry);
  });
});

describe('Dockerfile (replayed on the host for the users subgraph)', () => {
  const SERVICE = 'subgraphs/users';
  let work: string;
  let database: TestDatabase;
  const apps: Record<string, string> = {};

  /** Resolves `COPY [--from=stage] <src> <dest>` against the replayed stages' /app folders. */
  const replayCopies = (s: Stage, into: string) => {
    for (const copy of copies(s)) {
      const base = copy.from ? apps[copy.from] : REPO_ROOT;
      for (const raw of copy.sources) {
        const source = path.join(base, raw.replace('${SERVICE}', SERVICE).replace(/^\/app\/?/, ''));
        const destination = copy.destination.replace('${SERVICE}', SERVICE);
        const target = path.join(into, destination.replace(/^\/app\/?/, ''));
        if (!existsSync(source)) throw new Error(`COPY source ${raw} does not exist (${source})`);
        const intoFolder = destination.endsWith('/') || destination === '.' || destination === './';
        const final = intoFolder && !lstatSync(source).isDirectory() ? path.join(target, path.basename(source)) : target;
        mkdirSync(path.dirname(final), { recursive: true });
        cpSync(source, final, { recursive: true, verbatimSymlinks: true });
      }
    }
  };

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'shop-image-'));
    database = await createTestDatabase('k8s_image');
    // build stage: the repository is the build stage's /app; run its build command.
    apps.build = REPO_ROOT;
    const build = runs(stage('build')).find((r) => r.includes('turbo run build'))!;
    execFileSync('sh', ['-c', build], { cwd: REPO_ROOT, env: { ...process.env, SERVICE }, stdio: 'pipe' });
    // prod-deps stage: its copies, then its `npm ci` (not the cache clean: this is the host's cache).
    apps['prod-deps'] = path.join(work, 'prod-deps');
    mkdirSync(apps['prod-deps']);
    replayCopies(stage('prod-deps'), apps['prod-deps']);
    // Everything but the cache clean (that would empty the host's npm cache).
    const install = runs(stage('prod-deps'))
      .find((r) => /\bnpm ci\b/.test(r))!
      .split('&&')
      .filter((command) => !/npm cache clean/.test(command))
      .join('&&');
    execFileSync('sh', ['-c', install], {
      cwd: apps['prod-deps'],
      env: { ...process.env, SERVICE, npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' },
      stdio: 'pipe',
    });
    // runtime stage
    apps.runtime = path.join(work, 'runtime');
    mkdirSync(apps.runtime);
    replayCopies(finalStage, apps.runtime);
  }, 300_000);

  afterAll(async () => {
    await database?.drop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('installs no dev dependency and nothing of the other services', () => {
    const modules = path.join(apps.runtime, 'node_modules');
    // A root dev dependency that a production package also needs (@types/node under the OpenTelemetry
    // pg instrumentation's types) is not dev in the lockfile, and rightly installed.
    const lock = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const devOnly = Object.keys(rootPackage.devDependencies).filter((name) => lock.packages[`node_modules/${name}`]?.dev);
    expect(devOnly).toEqual(expect.arrayContaining(['typescript', 'jest', 'turbo']));
    for (const name of [...devOnly, '@apollo/gateway', 'graphiql'])
      expect({ name, installed: existsSync(path.join(modules, name)) }).toEqual({ name, installed: false });
    for (const name of ['bcrypt', 'typeorm', 'pg', '@apollo/subgraph']) expect(existsSync(path.join(modules, name))).toBe(true);
    expect(existsSync(path.join(modules, '@shop/kit/dist/index.js'))).toBe(true);
    expect(readdirSync(path.join(apps.runtime, SERVICE)).sort()).toEqual(['dist', 'node_modules', 'package.json']);
  });

  it('migrates (init container) and boots with the production overlay configuration, then drains on SIGTERM', async () => {
    const objects = renderOverlay('production');
    const pod = find(objects, 'Deployment', 'users').spec.template.spec;
    const secrets = generatedSecrets('shop-production');
    const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
    Object.assign(env, find(objects, 'ConfigMap', pod.containers[0].envFrom[0].configMapRef.name).data);
    for (const entry of pod.containers[0].env)
      env[entry.name] = entry.value ?? secrets.get(entry.valueFrom.secretKeyRef.name)![entry.valueFrom.secretKeyRef.key];
    const port = await freePort();
    Object.assign(env, { DATABASE_URL: database.url, REDIS_URL: TEST_REDIS_URL, PORT: String(port), HOST: '127.0.0.1', BCRYPT_COST: '10' });
    const cwd = path.join(apps.runtime, SERVICE); // WORKDIR /app/${SERVICE}

    const migrate = spawnSync(process.execPath, pod.initContainers[0].args.slice(1), { cwd, env, encoding: 'utf8', timeout: 120_000 });
    expect({ status: migrate.status, stderr: migrate.stderr }).toEqual({ status: 0, stderr: '' });

    const child = spawn(process.execPath, pod.containers[0].args.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const url = `http://127.0.0.1:${port}`;
      await waitFor(async () => {
        if (child.exitCode !== null) throw new Error(`users exited with ${child.exitCode}: ${output}`);
        return (await fetch(`${url}${pod.containers[0].startupProbe.httpGet.path}`)).ok;
      }, 'users from the replayed image to answer its startup probe', 60_000);
      const ready = await fetch(`${url}${pod.containers[0].readinessProbe.httpGet.path}`);
      expect(ready.status).toBe(200);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toContain('http_requests_total');
      const graphql = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{__typename}"}' });
      expect(graphql.status).toBe(401); // no service token: the platform's own callers only
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(output).toContain('SIGTERM received');
  }, 180_000);
});
