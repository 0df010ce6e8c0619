/**
 * Soak run: a real `ws` server and a `TaskStatusClient` in one process, thousands of frames a
 * second (about 1% invalid), a forced reconnect every few seconds (the server drops the socket,
 * the server closes with 1012, `client.reconnect()`, in turn), and iterators, `watchTask` and
 * `waitForTask` calls coming and going all along. It compares the heap after `gc()`, the
 * client's listener counts and the process's active handles before and after.
 *
 * Run: `node --expose-gc --import tsx bench/soak.ts [--duration-ms 600000] [--rate 3000]
 * [--reconnect-every-ms 2500] [--json]`. The test suite runs it for 15 s
 * (`test/hardening/soak.test.ts`); run it for an hour before a release.
 */
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { type WebSocket, WebSocketServer } from 'ws';
import { TaskStatusClient, type TaskStatusError } from '../src/index.js';

const { values } = parseArgs({
  options: {
    'duration-ms': { type: 'string', default: '600000' },
    rate: { type: 'string', default: '3000' },
    'reconnect-every-ms': { type: 'string', default: '2500' },
    json: { type: 'boolean', default: false },
  },
});
const DURATION_MS = Number(values['duration-ms']);
const RATE = Number(values.rate);
const RECONNECT_EVERY_MS = Number(values['reconnect-every-ms']);
for (const [name, value] of [
  ['--duration-ms', DURATION_MS],
  ['--rate', RATE],
  ['--reconnect-every-ms', RECONNECT_EVERY_MS],
] as const) {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
}
const TASKS = 500;
const TICK_MS = 10;
const BASE_TIME = Date.UTC(2026, 0, 1);

const gc = (globalThis as { gc?: () => void }).gc;
if (typeof gc !== 'function') {
  process.stderr.write('bench/soak.ts needs --expose-gc\n');
  process.exit(2);
}

/** What the run saw; printed at the end, as JSON with `--json`. */
const report = {
  durationMs: DURATION_MS,
  rate: RATE,
  sent: { good: 0, bad: 0 },
  delivered: 0,
  iterated: 0,
  opens: 0,
  closes: 0,
  forcedReconnects: 0,
  errors: {} as Record<string, number>,
  heap: { baselineBytes: 0, endBytes: 0, growthBytes: 0, samplesBytes: [] as number[] },
  listeners: { baseline: {} as Record<string, number>, end: {} as Record<string, number> },
  handles: { before: {} as Record<string, number>, after: {} as Record<string, number> },
};

function handles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

function heapAfterGc(): number {
  for (let i = 0; i < 4; i++) gc?.();
  return process.memoryUsage().heapUsed;
}

function listeners(client: TaskStatusClient): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of client.eventNames()) counts[String(name)] = client.listenerCount(name);
  return counts;
}

const idle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The server: a `connected` frame, pongs, and a paced stream of updates on every socket. */
async function startServer() {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => wss.once('listening', resolve));
  let sequence = 0;
  let frames = 0;
  let paused = false;
  const perTick = Math.max(1, Math.round((RATE * TICK_MS) / 1000));
  wss.on('connection', (ws: WebSocket) => {
    ws.send('{"type":"connected","user_id":2}');
    ws.on('message', (data) => {
      if (String(data) === '{"type":"ping"}') ws.send('{"type":"pong"}');
    });
    const pump = setInterval(() => {
      if (paused || ws.readyState !== ws.OPEN) return;
      for (let i = 0; i < perTick; i++) {
        if (++frames % 100 === 0) {
          ws.send('{"type":"task_update","task_id":-1,"status":"running"}');
          report.sent.bad++;
          continue;
        }
        const n = sequence++;
        ws.send(
          JSON.stringify({
            type: 'task_update',
            task_id: n % TASKS,
            status: n % 50 === 0 ? 'completed' : 'running',
            progress: n % 101,
            message: `step ${n}`,
            updated_at: new Date(BASE_TIME + n).toISOString(),
          }),
        );
        report.sent.good++;
      }
    }, TICK_MS);
    ws.on('close', () => clearInterval(pump));
  });
  return {
    wss,
    port: (wss.address() as AddressInfo).port,
    pause: (value: boolean) => {
      paused = value;
    },
    current: () => [...wss.clients].find((ws) => ws.readyState === ws.OPEN),
  };
}

/** Short-lived subscriptions, the way an app's components come and go. */
function churn(client: TaskStatusClient): () => Promise<void> {
  let n = 0;
  const pending = new Set<Promise<unknown>>();
  const track = (promise: Promise<unknown>) => {
    const settled = promise.catch(() => {});
    pending.add(settled);
    void settled.then(() => pending.delete(settled));
  };
  const timer = setInterval(() => {
    const taskId = n++ % TASKS;
    track(client.waitForTask(taskId, { timeoutMs: 200 }));
    track(
      (async () => {
        const signal = AbortSignal.timeout(500);
        for await (const update of client.watchTask(taskId, { signal })) if (update) break;
      })(),
    );
  }, 50);
  return async () => {
    clearInterval(timer);
    await Promise.all(pending);
  };
}

async function main(): Promise<void> {
  report.handles.before = handles();
  const server = await startServer();
  const client = new TaskStatusClient({
    baseUrl: `http://127.0.0.1:${server.port}`,
    userId: 2,
    token: 'soak-token',
    authGraceMs: 5_000,
    heartbeat: { intervalMs: 1_000, timeoutMs: 1_000 },
    reconnect: { initialDelayMs: 10, maxDelayMs: 100 },
    resync: () => [],
  });
  client.on('task', () => report.delivered++);
  client.on('open', () => report.opens++);
  client.on('close', () => report.closes++);
  client.on('error', (error: TaskStatusError) => {
    report.errors[error.code] = (report.errors[error.code] ?? 0) + 1;
  });
  const iterating = (async () => {
    for await (const _update of client.updates({ bufferSize: 8_192 })) report.iterated++;
  })();
  await client.connect();

  // Warm up, then take the baseline with the stream paused and drained.
  await idle(Math.min(3_000, DURATION_MS / 5));
  server.pause(true);
  await idle(300);
  report.heap.baselineBytes = heapAfterGc();
  report.listeners.baseline = listeners(client);
  server.pause(false);

  const stopChurn = churn(client);
  const forced = [
    () => server.current()?.terminate(),
    () => server.current()?.close(1012, 'restart'),
    () => void client.reconnect(),
  ];
  const reconnects = setInterval(() => {
    (forced[report.forcedReconnects++ % forced.length] as () => void)();
    report.heap.samplesBytes.push(process.memoryUsage().heapUsed);
  }, RECONNECT_EVERY_MS);
  await idle(DURATION_MS);
  clearInterval(reconnects);
  await stopChurn();

  // Let the last reconnect settle, then measure with the stream paused and drained again.
  await idle(Math.min(1_000, RECONNECT_EVERY_MS));
  server.pause(true);
  await idle(300);
  report.heap.endBytes = heapAfterGc();
  report.heap.growthBytes = report.heap.endBytes - report.heap.baselineBytes;
  report.listeners.end = listeners(client);

  await client.close();
  await iterating;
  await new Promise((resolve) => server.wss.close(resolve));
  await idle(100);
  report.handles.after = handles();
}

await main();
if (values.json) {
  process.stdout.write(`${JSON.stringify(report)}\n`);
} else {
  const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(2)} MB`;
  const lines = [
    `soak: ${DURATION_MS} ms at ${RATE} frames/s, a forced reconnect every ${RECONNECT_EVERY_MS} ms`,
    `frames: ${report.sent.good} good and ${report.sent.bad} bad sent, ${report.delivered} delivered, ${report.iterated} iterated`,
    `connections: ${report.opens} opens, ${report.closes} closes, ${report.forcedReconnects} forced reconnects`,
    `errors: ${JSON.stringify(report.errors)}`,
    `heap after gc: ${mb(report.heap.baselineBytes)} -> ${mb(report.heap.endBytes)} (${mb(report.heap.growthBytes)})`,
    `listeners: ${JSON.stringify(report.listeners.baseline)} -> ${JSON.stringify(report.listeners.end)}`,
    `handles: ${JSON.stringify(report.handles.before)} -> ${JSON.stringify(report.handles.after)}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
