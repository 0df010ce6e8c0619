/**
 * A fleet of idle clients in one process (a child of the benchmark), connected to the fleet
 * server. Reports the heap and the live timers they add, then, for the storm benchmark, when
 * each client tried to reconnect and when it was back.
 *
 * Usage: clients.ts <sdk|raw> <port> <count> [watch|-] [sdk-url|-] [first-id]; run with
 * `--expose-gc` for the heap figures. `sdk-url` loads the SDK from a compiled file instead of
 * `src/index.ts` through tsx; user ids run from first-id + 1 (default 1).
 * `watch` adds the storm's listeners (three per client); without it the clients carry none, so
 * the heap figure is the client's own.
 */
import WebSocket from 'ws';
import type {
  TaskStatusClient as Client,
  TaskStatusClientOptions,
  WebSocketConstructor,
} from '../../src/index.js';
import { asChild } from '../lib/child.js';

const [mode, portText, countText, watchFlag, sdkUrl, firstIdText] = process.argv.slice(2);
const watch = watchFlag === 'watch';
const { TaskStatusClient } = (await import(
  sdkUrl && sdkUrl !== '-' ? sdkUrl : '../../src/index.js'
)) as typeof import('../../src/index.js');
const port = Number(portText);
const count = Number(countText);
const firstId = Number(firstIdText ?? 0);
const parent = asChild(5 * 60_000);
const now = () => performance.timeOrigin + performance.now();
const BATCH = 100;

const gc = (globalThis as { gc?: () => void }).gc;
async function settledHeap(): Promise<number> {
  // Three passes with a turn between them, so finalizers and weak callbacks have run.
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().heapUsed;
}

/** Live ref'd timers: `Timeout` entries of the active resources. */
function liveTimers(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Times (epoch ms) of planned and actual reconnect attempts and of reconnections. */
const attempts: number[] = [];
const sockets: number[] = [];

/**
 * `ws` itself (what the SDK picks on Node 20), noting when each socket is created: the moment an
 * attempt really starts, however late its timer fired in a busy process.
 */
const NotingWebSocket = function NotingWebSocket(url: string, protocols?: string | string[]) {
  sockets.push(now());
  return new WebSocket(url, protocols);
} as unknown as WebSocketConstructor;
const backs: number[] = [];
const closes: number[] = [];

function sdkClient(id: number): Promise<unknown> {
  const options: TaskStatusClientOptions = {
    baseUrl: `http://127.0.0.1:${port}`,
    userId: id,
    token: 'bench-token',
  };
  if (watch) options.WebSocket = NotingWebSocket;
  const client = new TaskStatusClient(options);
  if (watch) {
    client.on('reconnecting', ({ delayMs }) => attempts.push(now() + delayMs));
    client.on('open', ({ reconnected }) => {
      if (reconnected) backs.push(now());
    });
    client.on('close', () => closes.push(now()));
  }
  return client.connect().then(() => client);
}

function rawClient(id: number): Promise<unknown> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/api/v1/ws/tasks/${id}?token=bench-token`);
  socket.on('message', (data) => {
    JSON.parse(String(data));
  });
  if (watch) socket.on('close', () => closes.push(now()));
  return new Promise((resolve, reject) => {
    socket.once('message', () => resolve(socket));
    socket.once('error', reject);
  });
}

const open = mode === 'raw' ? rawClient : mode === 'sdk' ? sdkClient : undefined;
if (open === undefined) throw new Error(`unknown mode ${String(mode)}: sdk or raw`);

// Warm-up: one client opened and closed, so code loaded on first use is not counted per client.
const warm = await open(0);
if (warm instanceof TaskStatusClient) await (warm as Client).close();
else (warm as WebSocket).terminate();
await sleep(100);

const timersBefore = liveTimers();
const heapBefore = await settledHeap();
const held: unknown[] = [];
for (let first = 1; first <= count; first += BATCH) {
  const batch = [];
  for (let id = first; id < first + BATCH && id <= count; id++) batch.push(open(firstId + id));
  held.push(...(await Promise.all(batch)));
}
// Past the default authGraceMs (1 s), so only the timers of an idle, accepted client remain.
await sleep(1_500);
const heapAfter = await settledHeap();
const timersAfter = liveTimers();
parent.report({
  type: 'ready',
  mode,
  clients: held.length,
  heapBefore,
  heapAfter,
  heapPerClient: (heapAfter - heapBefore) / held.length,
  timers: timersAfter - timersBefore,
  exposeGc: gc !== undefined,
});

parent.on('snapshot', async () => {
  const { writeHeapSnapshot } = await import('node:v8');
  parent.report({ type: 'snapshot', file: writeHeapSnapshot() });
});

parent.on('report', () => {
  const cpu = process.cpuUsage();
  parent.report({
    type: 'report',
    attempts,
    sockets,
    backs,
    closes,
    cpuMs: (cpu.user + cpu.system) / 1000,
  });
});
