/**
 * Microbenchmark of the per-frame path, in one process and without a socket: what the client
 * does with one text frame, stage by stage, against a bare `JSON.parse` of the same frames.
 * Stages run interleaved in every round, each on fresh frames (later rounds carry later
 * timestamps, so the task table applies every frame, none is stale). It says where the time of
 * the socket benchmark goes; it is not a budget.
 *
 * Run alone: `node --import tsx bench/frame-path.ts`; `npm run bench` runs it too.
 */
import * as z from 'zod';
import { parseServerFrame, TaskStatusClient, type WebSocketLike } from '../src/index.js';
import { taskUpdateSchema, withResult } from '../src/schemas.js';
import { taskUpdateFrames } from './lib/frames.js';
import { median } from './lib/stats.js';

export interface FramePathOptions {
  readonly frames: number;
  readonly rounds: number;
}

export const FRAME_PATH_DEFAULTS: FramePathOptions = { frames: 100_000, rounds: 7 };

/** CPU nanoseconds per frame, median over rounds, by stage. */
export type FramePathResult = Record<StageName, number>;

const STAGES = [
  'JSON.parse',
  'parseServerFrame',
  'client (no taskSchema)',
  'zod payload validate only',
  'zod update validate only',
  'client + zod taskSchema',
] as const;
type StageName = (typeof STAGES)[number];

/** A socket double that opens at once and lets the bench push frames synchronously. */
class BenchSocket implements WebSocketLike {
  static last: BenchSocket | undefined;
  readyState = 1;
  binaryType = 'arraybuffer';
  onopen: WebSocketLike['onopen'] = null;
  onmessage: WebSocketLike['onmessage'] = null;
  onclose: WebSocketLike['onclose'] = null;
  onerror: WebSocketLike['onerror'] = null;
  constructor() {
    BenchSocket.last = this;
    queueMicrotask(() => {
      this.onopen?.({});
      this.onmessage?.({ data: '{"type":"connected","user_id":1}' });
    });
  }
  send(): void {}
  close(): void {
    this.onclose?.({ code: 1000, reason: '', wasClean: true });
  }
}

const payload = z.object({ url: z.string() });
/** The user's schema as the budget measures it: the task payload only. */
const taskSchema = withResult(payload);
/** The whole update in zod, for comparison: its checks repeat the client's own. */
const updateSchema = taskUpdateSchema.extend({ result: payload.nullable() });

/** A connected client fed through its socket's `onmessage`, as a real socket would. */
async function connectedClient(withSchema: boolean) {
  const options = {
    baseUrl: 'http://127.0.0.1:1',
    userId: 1,
    token: 'bench',
    WebSocket: BenchSocket,
  };
  const client = withSchema
    ? new TaskStatusClient({ ...options, taskSchema })
    : new TaskStatusClient(options);
  let sink = 0;
  client.on('task', (update) => {
    sink += update.progress ?? 0;
  });
  client.on('error', (error) => {
    throw error;
  });
  await client.connect();
  const onmessage = BenchSocket.last?.onmessage;
  if (!onmessage) throw new Error('socket not wired');
  return { client, onmessage, sink: () => sink };
}

/**
 * CPU nanoseconds per frame (user + system time of this process): on a shared machine, time the
 * process spent descheduled would otherwise land on whichever stage happened to be running.
 */
function timeNs(frames: readonly string[], run: (frame: string) => number): number {
  let sink = 0;
  const start = process.cpuUsage();
  for (const frame of frames) sink += run(frame);
  const used = process.cpuUsage(start);
  if (Number.isNaN(sink)) throw new Error('unreachable');
  return ((used.user + used.system) * 1000) / frames.length;
}

/** Frames `ws` hands over from one 64 KiB socket read of 157-byte frames. */
const FRAMES_PER_READ = 400;

/**
 * CPU nanoseconds per frame through a client's `onmessage`, fed as a socket delivers them: the
 * frames of one read back to back, then a pause (here: awaiting a microtask) in which the client
 * handles them, as it does after each read.
 */
async function timeClientNs(
  frames: readonly string[],
  onmessage: (event: { data: string }) => void,
): Promise<number> {
  const start = process.cpuUsage();
  for (let read = 0; read < frames.length; read += FRAMES_PER_READ) {
    const end = Math.min(read + FRAMES_PER_READ, frames.length);
    for (let i = read; i < end; i++) onmessage({ data: frames[i] as string });
    await new Promise<void>((resolve) => queueMicrotask(resolve));
  }
  const used = process.cpuUsage(start);
  return ((used.user + used.system) * 1000) / frames.length;
}

export async function runFramePath(
  options: FramePathOptions = FRAME_PATH_DEFAULTS,
  log: (line: string) => void = () => {},
): Promise<FramePathResult> {
  const plain = await connectedClient(false);
  const zod = await connectedClient(true);
  const times = Object.fromEntries(STAGES.map((stage) => [stage, [] as number[]])) as Record<
    StageName,
    number[]
  >;
  /** Validation alone, on updates the guard already produced (not timed). */
  const validateOnly = (schema: typeof taskSchema | typeof updateSchema) => (frames: string[]) => {
    const validate = schema['~standard'].validate;
    const updates = frames.map((frame) => {
      const parsed = parseServerFrame(frame);
      if (parsed.kind !== 'task_update') throw new Error('not a task update');
      return parsed.update;
    });
    let i = 0;
    return timeNs(frames, () => ('value' in validate(updates[i++]) ? 1 : 0));
  };
  const run: Record<StageName, (frames: string[]) => number | Promise<number>> = {
    'JSON.parse': (frames) =>
      timeNs(frames, (frame) => (JSON.parse(frame) as { progress: number }).progress),
    parseServerFrame: (frames) =>
      timeNs(frames, (frame) => (parseServerFrame(frame).kind === 'task_update' ? 1 : 0)),
    'client (no taskSchema)': (frames) => timeClientNs(frames, plain.onmessage),
    'zod payload validate only': validateOnly(taskSchema),
    'zod update validate only': validateOnly(updateSchema),
    'client + zod taskSchema': (frames) => timeClientNs(frames, zod.onmessage),
  };
  let start = 0;
  for (let round = 0; round < options.rounds; round++) {
    const order = STAGES.map((_, i) => STAGES[(i + round) % STAGES.length] as StageName);
    for (const stage of order) {
      const frames = taskUpdateFrames(options.frames, start);
      start += options.frames;
      times[stage].push(await run[stage](frames));
    }
    log(
      `  round ${round + 1}/${options.rounds}: ${STAGES.map((s) => `${s} ${times[s].at(-1)?.toFixed(0)} ns`).join(', ')}`,
    );
  }
  const applied = plain.client.stats.applied + zod.client.stats.applied;
  const expected = 2 * options.rounds * options.frames;
  await plain.client.close();
  await zod.client.close();
  if (applied !== expected) throw new Error(`task table applied ${applied} of ${expected} frames`);
  return Object.fromEntries(
    STAGES.map((stage) => [stage, median(times[stage])]),
  ) as FramePathResult;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await runFramePath(FRAME_PATH_DEFAULTS, console.log);
  const base = result['JSON.parse'];
  for (const [stage, ns] of Object.entries(result)) {
    console.log(
      `${stage.padEnd(26)} ${ns.toFixed(0).padStart(6)} ns/frame  ${(ns / base).toFixed(2)}x JSON.parse`,
    );
  }
}
