/**
 * Fleet server (a child process) for the idle-heap and reconnect-storm benchmarks: a plain `ws`
 * server on 127.0.0.1:0 that accepts every upgrade, sends `{"type":"connected"}`, answers pings,
 * and records when each upgrade request arrived. On `drop` it does what a restarting backend
 * does: closes every connection with 1012 (service restart), stops listening, and after
 * `downtimeMs` listens again on the same port (refusing connections meanwhile).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import { asChild } from '../lib/child.js';

const parent = asChild(10 * 60_000);
const now = () => performance.timeOrigin + performance.now();

const wss = new WebSocketServer({ noServer: true });
const sockets = new Set<Socket>();
/** Upgrade arrivals (epoch ms) since the last `drop`, with the user id of each. */
let arrivals: { at: number; user: string }[] = [];
let port = 0;
let http: Server | undefined;

function listen(): Promise<void> {
  const server = createServer((_request, response) => response.writeHead(404).end());
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (request, socket: Socket, head) => {
    const user = /\/ws\/tasks\/([^/?]+)/.exec(request.url ?? '')?.[1] ?? '?';
    arrivals.push({ at: now(), user });
    wss.handleUpgrade(request, socket, head, (ws) => {
      ws.on('message', (data) => {
        if (String(data) === '{"type":"ping"}') ws.send('{"type":"pong"}');
      });
      ws.on('error', () => {});
      ws.send(`{"type":"connected","user_id":${JSON.stringify(user)}}`);
    });
  });
  // The backlog matters when a fleet reconnects at once: keep it above the fleet size.
  return new Promise((resolve) =>
    server.listen({ port, host: '127.0.0.1', backlog: 4096 }, () => {
      port = (server.address() as AddressInfo).port;
      http = server;
      resolve();
    }),
  );
}

parent.on('drop', async (message) => {
  const downtimeMs = Number((message as { downtimeMs?: number }).downtimeMs ?? 0);
  const droppedAt = now();
  arrivals = [];
  const server = http;
  http = undefined;
  server?.close();
  const old = [...sockets];
  for (const client of wss.clients) client.close(1012, 'service restart');
  // A connection still up after a short grace (a peer that ignored the close frame) is cut.
  setTimeout(() => {
    for (const socket of old) socket.destroy();
  }, 500).unref();
  if (downtimeMs > 0) await new Promise((resolve) => setTimeout(resolve, downtimeMs));
  await listen();
  parent.report({ type: 'dropped', droppedAt, listeningAt: now() });
});

parent.on('arrivals', () => {
  parent.report({ type: 'arrivals', arrivals });
});

await listen();
parent.report({ type: 'ready', port });
