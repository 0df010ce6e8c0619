/**
 * A link with a real round trip, for the browser tests: a TCP proxy on 127.0.0.1 that holds
 * every chunk, and the end of each direction, for `oneWayMs` before passing it on, in order.
 *
 * Chromium's own network emulation (CDP `Network.emulateNetworkConditions`) cannot stand in
 * for it: its `latency` holds back only the upgrade's response, and WebSocket frames (a ping's
 * answer, the close that ends a closing handshake) then pass without delay.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface SlowLink {
  /** `http://127.0.0.1:<port>`: what the client connects to instead of the backend. */
  readonly baseUrl: string;
  /** Stops listening and drops every connection. */
  close(): Promise<void>;
}

/** Starts a proxy in front of `127.0.0.1:<targetPort>` that delays both ways by `oneWayMs`. */
export async function startSlowLink(targetPort: number, oneWayMs: number): Promise<SlowLink> {
  const sockets = new Set<Socket>();
  // Half-open allowed: an end one way must not cut the bytes still held for the other.
  const server: Server = createServer({ allowHalfOpen: true }, (client) => {
    const upstream = connect({ port: targetPort, host: '127.0.0.1', allowHalfOpen: true });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    }
    forward(client, upstream, oneWayMs);
    forward(upstream, client, oneWayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Passes `from`'s bytes and its end on to `to`, each `delayMs` late; an error drops both. */
function forward(from: Socket, to: Socket, delayMs: number): void {
  from.on('data', (chunk) =>
    setTimeout(() => {
      if (to.writable) to.write(chunk);
    }, delayMs),
  );
  from.on('end', () => setTimeout(() => to.end(), delayMs));
  from.on('error', () => to.destroy());
}
