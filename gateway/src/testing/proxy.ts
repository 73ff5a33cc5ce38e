import net from 'node:net';

/**
 * A TCP proxy in front of a subgraph that counts the GraphQL requests reaching it and can be
 * switched to misbehave: `pass` forwards, `hang` accepts and never answers, and `stop()`
 * closes the listener so connections are refused (a stopped subgraph); `start()` listens on
 * the same port again.
 */
export class TestProxy {
  mode: 'pass' | 'hang' = 'pass';
  /** POST /graphql requests received (in any mode). */
  requests = 0;
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  static async start(targetUrl: string): Promise<TestProxy> {
    const url = new URL(targetUrl);
    const proxy = new TestProxy({ host: url.hostname, port: Number(url.port) });
    await proxy.start();
    return proxy;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Switches behaviour for new connections and drops the open ones (keep-alive would bypass it). */
  setMode(mode: 'pass' | 'hang') {
    this.mode = mode;
    for (const socket of this.sockets) socket.destroy();
  }

  retarget(targetUrl: string) {
    const url = new URL(targetUrl);
    this.target.host = url.hostname;
    this.target.port = Number(url.port);
  }

  async start(): Promise<void> {
    const server = net.createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  private accept(client: net.Socket) {
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => client.destroy());
    client.on('data', (chunk: Buffer) => {
      this.requests +=
        chunk.toString('latin1').match(/(?:^|\r\n)POST \/graphql HTTP\/1\.1\r\n/g)?.length ?? 0;
    });
    if (this.mode === 'hang') {
      client.resume(); // read and never answer
      return;
    }
    const upstream = net.connect(this.target.port, this.target.host);
    this.sockets.add(upstream);
    upstream.on('close', () => {
      this.sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** Stops listening and drops every connection: new connections are refused. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
