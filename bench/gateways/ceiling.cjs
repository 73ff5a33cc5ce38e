// The ceiling: a bare node:http server answering every POST with the same response bytes
// a gateway gave for the operation under test (BODY_FILE). Env: PORT, BODY_FILE.
const { createServer } = require('node:http');
const { readFileSync } = require('node:fs');

const body = readFileSync(process.env.BODY_FILE);
const headers = { 'content-type': 'application/json; charset=utf-8', 'content-length': String(body.length) };
createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"status":"ok"}');
    return;
  }
  req.resume();
  req.on('end', () => {
    res.writeHead(200, headers);
    res.end(body);
  });
}).listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write(`ceiling on ${process.env.PORT}\n`));
