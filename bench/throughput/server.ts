/**
 * Throughput server (a child process): `ws` on 127.0.0.1:0 that answers each upgrade, sends
 * `{"type":"connected"}`, then the whole pre-built stream of task_update frames in one write.
 * The frames are framed once at start-up, so the server only copies bytes during a run and the
 * receiving client is the bottleneck (a `ws.send()` per frame tops out near 170k frames/s here,
 * well below what the client can take).
 */
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import { asChild } from '../lib/child.js';
import { taskUpdateFrames } from '../lib/frames.js';

const count = Number(process.argv[2]);
if (!Number.isSafeInteger(count) || count <= 0) throw new Error('usage: server.ts <frames>');

const parent = asChild(10 * 60_000);

/** One unmasked, final text frame (server frames are never masked). */
function textFrame(payload: Buffer): Buffer[] {
  const length = payload.length;
  if (length < 126) return [Buffer.from([0x81, length]), payload];
  if (length < 65_536) return [Buffer.from([0x81, 126, length >> 8, length & 0xff]), payload];
  throw new Error('frame too long for this bench');
}

const parts = textFrame(Buffer.from('{"type":"connected","user_id":1}'));
for (const frame of taskUpdateFrames(count)) parts.push(...textFrame(Buffer.from(frame)));
const stream = Buffer.concat(parts);

const wss = new WebSocketServer({ noServer: true });
const http = createServer((_request, response) => response.writeHead(404).end());
http.on('upgrade', (request, socket: Socket, head) => {
  wss.handleUpgrade(request, socket, head, () => {
    // The 101 response is written; from here on the bytes are ours to send.
    socket.write(stream);
  });
});
http.listen(0, '127.0.0.1', () => {
  parent.report({
    type: 'ready',
    port: (http.address() as AddressInfo).port,
    bytes: stream.length,
  });
});
