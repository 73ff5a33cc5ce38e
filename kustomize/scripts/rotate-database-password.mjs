#!/usr/bin/env node
// Rotates one service's database password: sets it on the Postgres role first, then writes it
// into the service's Secret (url and password), then restarts the service so its pods connect
// with it. create-secrets.mjs never does this: it only creates what is missing.
//
//   node kustomize/scripts/rotate-database-password.mjs --namespace shop-production --service orders
//
// Postgres is reached through `kubectl exec` into the in-cluster StatefulSet by default; for a
// managed server pass --psql "psql postgres://admin@db.internal:5432/postgres?sslmode=require".
// The password goes to psql on stdin, never on a command line. Between the ALTER ROLE and the
// restart, connections the pods already hold keep working; new ones fail until the pods restart
// (a few seconds of a rolling restart with maxUnavailable 0).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

function parseArgs(argv) {
  const options = { kubectl: 'kubectl', psql: undefined, restart: true };
  for (let i = 0; i < argv.length; i += 1) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === '--namespace') options.namespace = value;
    else if (flag === '--service') options.service = value;
    else if (flag === '--psql') options.psql = value;
    else if (flag === '--kubectl') options.kubectl = value;
    else if (flag === '--no-restart') {
      options.restart = false;
      continue;
    } else throw new Error(`unknown option ${flag}`);
    i += 1;
  }
  if (!options.namespace || !options.service)
    throw new Error('usage: rotate-database-password.mjs --namespace <namespace> --service <service> [--psql "<psql command>"] [--no-restart]');
  // Role names go into SQL as identifiers: only what the platform's service names look like.
  if (!/^[a-z][a-z0-9_]*$/.test(options.service)) throw new Error(`not a service name: ${options.service}`);
  options.psql ??= `${options.kubectl} --namespace ${options.namespace} exec -i statefulset/postgres -c postgres -- psql --no-psqlrc -v ON_ERROR_STOP=1 -U postgres -d postgres`;
  return options;
}

const run = (command, args, input) => {
  const [program, ...rest] = command.split(' ').filter(Boolean);
  return execFileSync(program, [...rest, ...args], { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'inherit'] });
};

export function rotate(options) {
  const name = `shop-${options.service}-database`;
  const current = JSON.parse(run(options.kubectl, ['--namespace', options.namespace, 'get', 'secret', name, '--output', 'json']));
  const url = new URL(Buffer.from(current.data.url, 'base64').toString('utf8'));
  // base64url: nothing in it needs quoting in a SQL string literal or a URL.
  const password = randomBytes(24).toString('base64url');
  const role = decodeURIComponent(url.username);
  if (role !== options.service) throw new Error(`${name} connects as ${role}, not ${options.service}`);

  run(options.psql, [], `ALTER ROLE "${role}" WITH PASSWORD '${password}';\n`);

  url.password = password;
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    type: current.type ?? 'Opaque',
    metadata: { name, namespace: options.namespace, labels: current.metadata.labels ?? {} },
    stringData: { url: url.toString(), password },
  };
  run(options.kubectl, ['--namespace', options.namespace, 'apply', '-f', '-'], JSON.stringify(secret));
  if (options.restart) {
    run(options.kubectl, ['--namespace', options.namespace, 'rollout', 'restart', `deployment/${options.service}`]);
    run(options.kubectl, ['--namespace', options.namespace, 'rollout', 'status', `deployment/${options.service}`]);
  }
  process.stderr.write(`rotate-database-password: ${options.service} has a new password (role, Secret${options.restart ? ', pods restarted' : ''})\n`);
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  try {
    rotate(parseArgs(process.argv.slice(2)));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  }
}
