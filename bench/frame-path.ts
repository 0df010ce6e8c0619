/**
 * Microbenchmark of the per-frame path: what the client does with one text frame (parse, check,
 * map, task-table update, one `task` listener) against a bare `JSON.parse` of the same frames.
 * A benchmark, not a test: it prints numbers. Run: `npx tsx bench/frame-path.ts`.
 */
import { TaskStatusClient, type WebSocketLike } from '../src/index.js';

const FRAMES = 200_000;
const ROUNDS = 9;

function makeFrames(count: number, round: number): string[] {
  const statuses = ['pending', 'running', 'running', 'completed'];
  return Array.from({ length: count }, (_, i) =>
    JSON.stringify({
      type: 'task_update',
      task_id: i % 500,
      status: statuses[i % 4],
      progress: i % 101,
      message: `step ${i % 97} of the job`,
      updated_at: new Date(1_767_225_600_000 + round * count + i).toISOString(),
    }),
  );
}

/** A socket double that is open at once and lets the bench push frames synchronously. */
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
    queueMicrotask(() => this.onopen?.({}));
  }
  send(): void {}
  close(): void {
    this.onclose?.({ code: 1000, reason: '', wasClean: true });
  }
}

function baseline(frames: string[]): number {
  let sink = 0;
  const start = performance.now();
  for (const frame of frames) sink += (JSON.parse(frame) as { progress: number }).progress;
  const elapsed = performance.now() - start;
  if (sink < 0) throw new Error('unreachable');
  return frames.length / (elapsed / 1000);
}

function throughClient(frames: string[], socket: BenchSocket): number {
  const start = performance.now();
  const onmessage = socket.onmessage;
  if (onmessage === null) throw new Error('socket not wired');
  for (const frame of frames) onmessage({ data: frame });
  return frames.length / ((performance.now() - start) / 1000);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

const client = new TaskStatusClient({
  baseUrl: 'http://127.0.0.1:1',
  userId: 1,
  token: 'bench',
  authGraceMs: 0,
  heartbeat: false,
  WebSocket: BenchSocket,
});
let received = 0;
client.on('task', () => {
  received++;
});
await client.connect();
const socket = BenchSocket.last;
if (socket === undefined) throw new Error('no socket');

const ratios: number[] = [];
const rates: number[] = [];
const bases: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  // Later rounds carry later timestamps, so every frame is applied, none refused as stale.
  const frames = makeFrames(FRAMES, round);
  const base = baseline(frames);
  const rate = throughClient(frames, socket);
  bases.push(base);
  rates.push(rate);
  ratios.push(rate / base);
}
await client.close();
const fmt = (n: number) => `${Math.round(n / 1000)}k/s`;
console.log(`frames per round: ${FRAMES}, rounds: ${ROUNDS}, task events: ${received}`);
console.log(
  `JSON.parse only:  median ${fmt(median(bases))} (min ${fmt(Math.min(...bases))}, max ${fmt(Math.max(...bases))})`,
);
console.log(
  `client path:      median ${fmt(median(rates))} (min ${fmt(Math.min(...rates))}, max ${fmt(Math.max(...rates))})`,
);
console.log(
  `ratio:            median ${median(ratios).toFixed(2)}x (min ${Math.min(...ratios).toFixed(2)}, max ${Math.max(...ratios).toFixed(2)})`,
);
