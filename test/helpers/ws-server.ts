import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

/** What a test does with each accepted socket. */
export type OnSocket = (socket: WebSocket, request: IncomingMessage) => void;

/** What a test does with each upgrade request before (or instead of) accepting it. */
export type OnUpgrade = (request: IncomingMessage, socket: Socket, accept: () => void) => void;

/** How the server answers a plain HTTP request (404 unless a test says otherwise). */
export type OnRequest = (request: IncomingMessage, response: ServerResponse) => void;

export interface TestServer {
  /** `http://127.0.0.1:<port>` (`https:` with a certificate) */
  readonly baseUrl: string;
  readonly port: number;
  /** Every socket accepted so far. */
  readonly sockets: WebSocket[];
  /** Every upgrade request path (with query) seen so far. */
  readonly requests: string[];
  onSocket: OnSocket;
  onUpgrade: OnUpgrade;
  onRequest: OnRequest;
  /** Drops every socket accepted so far, at once, and forgets them. */
  dropAll(): void;
  /** Stops listening and drops every connection. */
  close(): Promise<void>;
  /** Listens again on the same port. */
  listen(): Promise<void>;
}

/** The `token` query value of every upgrade request the server saw, in order. */
export function requestedTokens(server: TestServer): (string | null)[] {
  return server.requests.map((path) => new URL(path, 'http://x').searchParams.get('token'));
}

/** A socket already listening (opened elsewhere, such as in a network namespace), and its host. */
export interface ListeningSocket {
  readonly handle: NetServer;
  readonly host: string;
}

/** Where and how a test server listens. */
export interface ServerPlace {
  /** A socket to listen on once (`listen()` again is for 127.0.0.1 only). */
  readonly at?: ListeningSocket | undefined;
  /** Serve HTTPS (and `wss:`) with this certificate and key, both PEM. */
  readonly tls?: { readonly cert: string; readonly key: string } | undefined;
}

/**
 * A real HTTP + `ws` server, scripted per test: on 127.0.0.1, port 0, or on the listening socket
 * `place.at`; over TLS with `place.tls`.
 */
export async function startWsServer(
  onSocket: OnSocket = () => {},
  place: ServerPlace = {},
): Promise<TestServer> {
  const { at, tls } = place;
  const wss = new WebSocketServer({ noServer: true });
  let http: Server;
  let port = 0;
  const tcp = new Set<Socket>();
  const server: TestServer = {
    baseUrl: '',
    port: 0,
    sockets: [],
    requests: [],
    onSocket,
    onUpgrade: (_request, _socket, accept) => accept(),
    onRequest: (_request, response) => response.writeHead(404).end(),
    dropAll() {
      for (const socket of server.sockets.splice(0)) socket.terminate();
    },
    async close() {
      for (const socket of tcp) socket.destroy();
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
    async listen() {
      const onRequest = (request: IncomingMessage, response: ServerResponse) =>
        server.onRequest(request, response);
      http = tls === undefined ? createServer(onRequest) : createHttpsServer(tls, onRequest);
      http.on('connection', (socket) => {
        tcp.add(socket);
        socket.on('close', () => tcp.delete(socket));
      });
      http.on('upgrade', (request, socket: Socket, head) => {
        server.requests.push(request.url ?? '');
        server.onUpgrade(request, socket, () =>
          wss.handleUpgrade(request, socket, head, (ws) => {
            server.sockets.push(ws);
            server.onSocket(ws, request);
          }),
        );
      });
      await new Promise<void>((resolve) =>
        at === undefined
          ? http.listen(port, '127.0.0.1', resolve)
          : http.listen(at.handle, resolve),
      );
      port = (http.address() as AddressInfo).port;
      Object.assign(server, {
        port,
        baseUrl: `${tls === undefined ? 'http' : 'https'}://${at?.host ?? '127.0.0.1'}:${port}`,
      });
    },
  };
  await server.listen();
  return server;
}
