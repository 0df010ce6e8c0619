import { connect, createServer, type Socket } from 'node:net';

/** One client connection through the proxy and its upstream twin. */
interface Link {
  readonly client: Socket;
  readonly upstream: Socket;
  /** Drop every byte both ways while keeping both TCP connections up. */
  hole: boolean;
  /** Server bytes still to forward before the link is reset; `undefined` when not armed. */
  budget: number | undefined;
}

/** A TCP proxy on 127.0.0.1 that the tests put between client and server to break the network. */
export interface TcpProxy {
  /** `http://127.0.0.1:<port>`: what the client connects to instead of the server. */
  readonly baseUrl: string;
  /** Client connections accepted so far. */
  readonly accepted: number;
  /** Links open now. */
  readonly links: number;
  /** How long to hold the server's first bytes (the upgrade's `101`) on link number `n` (1-based). */
  upgradeDelayMs: (n: number) => number;
  /** Stops forwarding on every open link, both ways, with TCP kept up: a half-open link. */
  blackhole(): void;
  /** Ends every open link at the TCP level: no WebSocket close frame either way. */
  cut(): void;
  /** Forwards `bytes` more server bytes on every open link, then resets it (TCP RST). */
  resetAfter(bytes: number): void;
  /** Stops listening and drops every link. */
  close(): Promise<void>;
}

/** Starts a proxy on an ephemeral port in front of `127.0.0.1:<targetPort>`. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const links = new Set<Link>();
  let accepted = 0;
  const server = createServer((client) => {
    accepted++;
    const link: Link = {
      client,
      upstream: connect(targetPort, '127.0.0.1'),
      hole: false,
      budget: undefined,
    };
    links.add(link);
    const held: Buffer[] = [];
    const delayMs = proxy.upgradeDelayMs(accepted);
    let holding = delayMs > 0;
    const release = setTimeout(() => {
      holding = false;
      for (const chunk of held.splice(0)) toClient(link, chunk);
    }, delayMs);
    client.on('data', (chunk) => link.hole || link.upstream.write(chunk));
    link.upstream.on('data', (chunk) => (holding ? held.push(chunk) : toClient(link, chunk)));
    const end = () => {
      clearTimeout(release);
      links.delete(link);
      client.destroy();
      link.upstream.destroy();
    };
    for (const socket of [client, link.upstream]) socket.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;

  const proxy: TcpProxy = {
    baseUrl: `http://127.0.0.1:${port}`,
    get accepted() {
      return accepted;
    },
    get links() {
      return links.size;
    },
    upgradeDelayMs: () => 0,
    blackhole() {
      for (const link of links) link.hole = true;
    },
    cut() {
      for (const link of links) {
        link.client.destroy();
        link.upstream.destroy();
      }
    },
    resetAfter(bytes) {
      for (const link of links) link.budget = bytes;
    },
    async close() {
      this.cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}

function toClient(link: Link, chunk: Buffer): void {
  if (link.hole) return;
  if (link.budget === undefined) {
    link.client.write(chunk);
    return;
  }
  const part = chunk.subarray(0, link.budget);
  link.budget -= part.length;
  if (part.length > 0) link.client.write(part);
  if (link.budget > 0) return;
  link.budget = undefined;
  link.hole = true;
  // Give the partial frame time to reach the client's parser before the reset.
  setTimeout(() => {
    if (!link.client.destroyed) link.client.resetAndDestroy();
    link.upstream.destroy();
  }, 30);
}
