import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import express, { type Express } from 'express';
import { introspectionFromSchema, type GraphQLSchema, type IntrospectionQuery } from 'graphql';

/**
 * GraphiQL served entirely from our own assets (no CDN), so it works offline. It opens with
 * the storefront contract's operations as examples and a headers tab for Authorization.
 */
const PACKAGE_ROOT = path.resolve(__dirname, '..', '..');
const packageFile = (pkg: string, file: string) =>
  path.join(path.dirname(require.resolve(`${pkg}/package.json`)), file);
const ASSETS: Record<string, string> = {
  'react.js': packageFile('react', 'umd/react.production.min.js'),
  'react-dom.js': packageFile('react-dom', 'umd/react-dom.production.min.js'),
  'graphiql.js': packageFile('graphiql', 'graphiql.min.js'),
  'graphiql.css': packageFile('graphiql', 'graphiql.min.css'),
};

export function examplesDocument(): string {
  // dist/playground in an image (the build copies it), playground/ beside the sources otherwise.
  const candidates = [
    path.join(__dirname, '..', 'playground', 'examples.graphql'),
    path.join(PACKAGE_ROOT, 'playground', 'examples.graphql'),
  ];
  const file = candidates.find((candidate) => existsSync(candidate)) ?? candidates[1];
  return existsSync(file) ? readFileSync(file, 'utf8') : '{ categories { id slug name } }\n';
}

export function playgroundHtml(endpoint: string): string {
  const examples = JSON.stringify(examplesDocument()).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <title>Shop supergraph · GraphiQL</title>
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <link rel="stylesheet" href="/playground/graphiql.css" />
  <style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
  <div id="graphiql">Loading the playground…</div>
  <script src="/playground/react.js"></script>
  <script src="/playground/react-dom.js"></script>
  <script src="/playground/graphiql.js"></script>
  <script id="examples" type="application/json">${examples}</script>
  <script src="/playground/boot.js" data-endpoint="${endpoint}"></script>
</body>
</html>`;
}

// Kept out of the HTML so a strict Content-Security-Policy (script-src 'self') holds.
const BOOT_SCRIPT = `(function () {
  var endpoint = document.currentScript.getAttribute('data-endpoint');
  var examples = JSON.parse(document.getElementById('examples').textContent);
  var fetcher = GraphiQL.createFetcher({ url: endpoint });
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  // The schema comes with the page's assets: GraphiQL's own introspection query is over the
  // cost limit that every client gets, and the playground should not need an exception.
  var render = function (schema) { root.render(React.createElement(GraphiQL, {
    schema: schema,
    fetcher: fetcher,
    defaultQuery: examples,
    defaultHeaders: '{\\n  "Authorization": ""\\n}',
    headerEditorEnabled: true,
    shouldPersistHeaders: true,
    defaultEditorToolsVisibility: 'headers'
  })); };
  fetch('/playground/schema.json')
    .then(function (r) { return r.ok ? r.json() : undefined; })
    .catch(function () { return undefined; })
    .then(render);
})();`;

/** Mounts the playground; `schema()` is the API schema served (gateway mode) once loaded. */
export function mountPlayground(
  app: Express,
  endpoint = '/graphql',
  schema: () => GraphQLSchema | undefined = () => undefined,
): void {
  const assets = express.Router();
  let introspection: { schema: GraphQLSchema; result: IntrospectionQuery } | undefined;
  assets.get('/schema.json', (_req, res) => {
    const current = schema();
    if (!current) return res.status(503).json({ error: 'schema not loaded yet' });
    if (introspection?.schema !== current)
      introspection = { schema: current, result: introspectionFromSchema(current) };
    res.setHeader('cache-control', 'no-cache');
    res.json(introspection.result);
  });
  for (const [name, file] of Object.entries(ASSETS))
    assets.get(`/${name}`, (_req, res) => res.sendFile(file, { maxAge: '1d', immutable: true }));
  assets.get('/boot.js', (_req, res) => res.type('application/javascript').send(BOOT_SCRIPT));
  app.use('/playground', assets);
  app.get(endpoint, (req, res, next) => {
    if (
      !req.accepts(['application/json', 'text/html']) ||
      req.accepts(['application/json', 'text/html']) !== 'text/html' ||
      req.query.query
    )
      return next();
    res
      .type('html')
      .setHeader(
        'content-security-policy',
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self' data:; worker-src 'self' blob:",
      )
      .send(playgroundHtml(endpoint));
  });
}
