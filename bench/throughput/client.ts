/**
 * One throughput measurement (a fresh child process each time): connect to the throughput
 * server, receive `count` task_update frames, report frames per second from the first task frame
 * to the last.
 *
 * Modes:
 * - `raw`: `ws` with an `on('message')` listener that does `JSON.parse(data.toString())`: the floor.
 * - `raw-event`: `ws` with `onmessage` (ws wraps each frame in a `MessageEvent` and decodes it to a
 *   string), then `JSON.parse(event.data)`: the path the SDK's socket handlers use. Diagnostic.
 * The fourth argument, if any, is the URL of a compiled SDK to load instead of `src`.
 *
 * - `sdk`: `TaskStatusClient` with default options (heartbeat on, reconnect armed) and one
 *   `task` listener: parse, guard, map, task table, emit.
 * - `sdk-zod`: the same with a zod schema for the task payload, `withResult(z.object({ url }))`
 *   (it runs on the frames that carry a payload).
 * - `sdk-zod-update`: the same with a zod schema for the whole update,
 *   `taskUpdateSchema.extend({ result })`, whose checks repeat the client's own. Diagnostic.
 */
import WebSocket from 'ws';
import * as z from 'zod';
import { taskUpdateSchema, withResult } from '../../src/schemas.js';
import { asChild } from '../lib/child.js';

const [mode, portText, countText, sdkUrl] = process.argv.slice(2);
// The SDK as the package build compiles it when the runner passes one (what users run), else
// `src` through tsx.
const { TaskStatusClient } = (await import(
  sdkUrl ?? '../../src/index.js'
)) as typeof import('../../src/index.js');
const port = Number(portText);
const count = Number(countText);
const parent = asChild(60_000);

let seen = 0;
let firstAt = 0;
let firstCpu: NodeJS.CpuUsage = { user: 0, system: 0 };
let checksum = 0;

/** Called once per task frame, after whatever the mode does with it. */
function tick(progress: number | null): void {
  if (seen === 0) {
    firstAt = performance.now();
    firstCpu = process.cpuUsage();
  }
  seen++;
  checksum += progress ?? 0;
  if (seen === count) finish();
}

let finish = (): void => {};

function done(close: () => unknown): () => void {
  return () => {
    const elapsedMs = performance.now() - firstAt;
    // CPU time of this process over the same span: what the frames cost, minus the time another
    // process held the core.
    const cpu = process.cpuUsage(firstCpu);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    parent.report({
      type: 'result',
      mode,
      frames: seen,
      elapsedMs,
      rate: (count - 1) / (elapsedMs / 1000),
      cpuMs,
      cpuRate: (count - 1) / (cpuMs / 1000),
      checksum,
    });
    void close();
    // Leave at once: the measurement is over and the server needs no goodbye.
    setImmediate(() => process.exit(0));
  };
}

interface RawFrame {
  readonly type: string;
  readonly progress?: number | null;
}

const url = `ws://127.0.0.1:${port}/api/v1/ws/tasks/1?token=bench-token`;

if (mode === 'raw') {
  const socket = new WebSocket(url);
  finish = done(() => socket.terminate());
  socket.on('message', (data: Buffer) => {
    const frame = JSON.parse(data.toString()) as RawFrame;
    if (frame.type === 'task_update') tick(frame.progress ?? null);
  });
} else if (mode === 'raw-event') {
  const socket = new WebSocket(url);
  finish = done(() => socket.terminate());
  socket.onmessage = (event) => {
    const frame = JSON.parse(event.data as string) as RawFrame;
    if (frame.type === 'task_update') tick(frame.progress ?? null);
  };
} else if (mode === 'sdk' || mode === 'sdk-zod' || mode === 'sdk-zod-update') {
  const result = z.object({ url: z.string() });
  const options = { baseUrl: `http://127.0.0.1:${port}`, userId: 1, token: 'bench-token' };
  const client =
    mode === 'sdk'
      ? new TaskStatusClient(options)
      : mode === 'sdk-zod'
        ? new TaskStatusClient({ ...options, taskSchema: withResult(result) })
        : new TaskStatusClient({
            ...options,
            taskSchema: taskUpdateSchema.extend({ result: result.nullable() }),
          });
  client.on('error', () => {});
  client.on('task', (update) => tick(update.progress));
  const report = done(() => client.close());
  finish = () => {
    // Every frame must have gone through the table: none stale, none dropped.
    const { applied, stale } = client.stats;
    if (applied !== count || stale !== 0) {
      parent.report({ type: 'failed', error: `task table applied ${applied}, stale ${stale}` });
      process.exit(1);
    }
    report();
  };
  void client.connect();
} else {
  throw new Error(`unknown mode ${String(mode)}: raw, raw-event, sdk, sdk-zod or sdk-zod-update`);
}
