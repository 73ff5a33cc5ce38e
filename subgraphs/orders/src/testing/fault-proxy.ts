import { createServer, type IncomingMessage, type Server } from 'node:http';

/**
 * Stands between orders and a service whose process has no fault hook of its own: it
 * forwards every call, and for the chosen internal route it lets the call be applied, then
 * runs `onApplied` (kill the service) and drops the connection without an answer. That is
 * exactly "crashed after applying the call, before answering" as seen from orders.
 */
export class FaultProxy {
  private server?: Server;
  private armed?: { route: string; onApplied: () => Promise<void> };

  constructor(private readonly target: () => string) {}

  /** The next call of `route` (e.g. "reservations/commit") is applied and never answered. */
  crashAfterApply(route: string, onApplied: () => Promise<void>): void {
    this.armed = { route, onApplied };
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      void this.forward(req).then(
        async ({ status, body, contentType }) => {
          const armed = this.armed;
          if (armed && req.url === `/internal/${armed.route}`) {
            this.armed = undefined;
            await armed.onApplied();
            req.socket.destroy();
            return;
          }
          res.writeHead(status, { 'content-type': contentType });
          res.end(body);
        },
        () => req.socket.destroy(),
      );
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async forward(req: IncomingMessage) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers: Record<string, string> = {};
    for (const name of ['authorization', 'content-type', 'x-request-id']) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const response = await fetch(`${this.target()}${req.url}`, {
      method: req.method,
      headers,
      body: req.method === 'GET' || req.method === 'HEAD' ? undefined : Buffer.concat(chunks),
    });
    return { status: response.status, body: Buffer.from(await response.arrayBuffer()), contentType: response.headers.get('content-type') ?? 'application/json' };
  }
}
