/**
 * Throughput: frames per second a client takes from a real socket, in paired rounds. Each round
 * runs every mode once, each in a fresh process against the same server process, in an order
 * that rotates from round to round so drift (thermal, page cache, other load) falls on all modes
 * alike; a mode is judged by its ratio to the `raw` run of the same round.
 */
import {
  type BenchMessage,
  MEASURED_PRIORITY,
  pinToCpu,
  startChild,
  twoCpus,
} from '../lib/child.js';
import { compileSdk } from '../lib/compiled-sdk.js';
import { FRAME_BYTES } from '../lib/frames.js';
import { median } from '../lib/stats.js';

export const MODES = ['raw', 'sdk', 'sdk-zod', 'sdk-zod-update', 'raw-event'] as const;
export type Mode = (typeof MODES)[number];
export type ComparedMode = Exclude<Mode, 'raw'>;

export interface ThroughputOptions {
  /** Paired rounds (the budget asks for at least 7). */
  readonly rounds: number;
  /** Frames per measurement. */
  readonly frames: number;
  /** Unreported rounds first, to settle the machine. */
  readonly warmupRounds: number;
  /** Run server and clients at a raised priority where allowed. */
  readonly prioritized: boolean;
  /**
   * Keep the server on one CPU and every client on another, where the machine allows it
   * ({@link twoCpus}). Unbound, the scheduler moves both between the cores of a small machine,
   * and each move costs the measured client its caches.
   */
  readonly pinned: boolean;
}

export const THROUGHPUT_DEFAULTS: ThroughputOptions = {
  rounds: 9,
  // A long run, as a client that stays connected sees: the first ~20,000 frames of a fresh
  // process run before the JIT has optimised the code (at about half speed for the client, two
  // thirds for raw `ws`), and over 300,000 frames that one-time cost still moved the client's
  // ratio by about 0.05.
  frames: 1_000_000,
  warmupRounds: 1,
  // Tried: at nice -10 the spread on a shared 2-core machine was no smaller, so it is left off.
  prioritized: false,
  // On the 2-core machine of docs/performance.md, one run's rounds spread over 0.87–0.95×
  // pinned, against 0.69–1.14× unpinned, with about the same median.
  pinned: true,
};

/** Median and range of one series. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** Both views of one measurement. */
export interface Rates {
  /** Frames per wall-clock second, first task frame to last. */
  readonly wall: number;
  /** Frames per second of the client process's CPU time (user + system) over the same span. */
  readonly cpu: number;
}

export interface ThroughputResult {
  readonly rounds: number;
  /** Whether server and clients ran on CPUs of their own. */
  readonly pinned: boolean;
  readonly frames: number;
  readonly frameBytes: number;
  /** Frames per second by mode. */
  readonly rate: Record<Mode, { readonly wall: Spread; readonly cpu: Spread }>;
  /** Per-round ratio to `raw`, by mode. */
  readonly ratio: Record<ComparedMode, { readonly wall: Spread; readonly cpu: Spread }>;
}

interface ResultMessage extends BenchMessage {
  readonly rate: number;
  readonly cpuRate: number;
  readonly frames: number;
}

function spread(values: readonly number[]): Spread {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

async function measure(
  mode: Mode,
  port: number,
  frames: number,
  sdk: string,
  priority: number | undefined,
  cpus: readonly [number, number] | undefined,
): Promise<Rates> {
  const child = startChild(
    'throughput/client.ts',
    [mode, String(port), String(frames), sdk],
    [],
    priority,
  );
  try {
    if (cpus !== undefined) pinToCpu(child, cpus[1]);
    const result = await child.next<ResultMessage>('result', 60_000);
    if (result.frames !== frames) throw new Error(`${mode}: got ${result.frames} of ${frames}`);
    return { wall: result.rate, cpu: result.cpuRate };
  } finally {
    await child.stop();
  }
}

const k = (n: number) => `${Math.round(n / 1000)}k`;

export async function runThroughput(
  options: ThroughputOptions = THROUGHPUT_DEFAULTS,
  log: (line: string) => void = () => {},
): Promise<ThroughputResult> {
  const priority = options.prioritized ? MEASURED_PRIORITY : undefined;
  // The SDK as users run it: compiled like the package build, not `src` through tsx.
  const sdk = await compileSdk();
  const server = startChild('throughput/server.ts', [String(options.frames)], [], priority);
  try {
    // [server's CPU, clients' CPU], or undefined: unpinned.
    const cpus = options.pinned ? twoCpus() : undefined;
    if (cpus !== undefined) pinToCpu(server, cpus[0]);
    log(
      cpus === undefined
        ? '  not pinned to CPUs (needs Linux, taskset and 2 allowed CPUs, or was turned off)'
        : `  server on CPU ${cpus[0]}, clients on CPU ${cpus[1]}`,
    );
    const { port } = await server.next<BenchMessage & { port: number }>('ready', 60_000);
    const rounds: Record<Mode, Rates>[] = [];
    const total = options.warmupRounds + options.rounds;
    for (let round = 0; round < total; round++) {
      const order = MODES.map((_, i) => MODES[(i + round) % MODES.length] as Mode);
      const got = {} as Record<Mode, Rates>;
      for (const mode of order) {
        got[mode] = await measure(mode, port, options.frames, sdk, priority, cpus);
      }
      const warmup = round < options.warmupRounds;
      const label = warmup
        ? 'warm-up'
        : `round ${round - options.warmupRounds + 1}/${options.rounds}`;
      log(
        `  ${label}: ${order.map((mode) => `${mode} ${k(got[mode].wall)}/s (cpu ${k(got[mode].cpu)})`).join(', ')}`,
      );
      if (!warmup) rounds.push(got);
    }
    const series = (pick: (round: Record<Mode, Rates>) => number) => spread(rounds.map(pick));
    const rate = {} as ThroughputResult['rate'];
    for (const mode of MODES) {
      rate[mode] = { wall: series((r) => r[mode].wall), cpu: series((r) => r[mode].cpu) };
    }
    const ratio = {} as ThroughputResult['ratio'];
    for (const mode of MODES) {
      if (mode === 'raw') continue;
      ratio[mode] = {
        wall: series((r) => r[mode].wall / r.raw.wall),
        cpu: series((r) => r[mode].cpu / r.raw.cpu),
      };
    }
    return {
      rounds: options.rounds,
      pinned: cpus !== undefined,
      frames: options.frames,
      frameBytes: FRAME_BYTES,
      rate,
      ratio,
    };
  } finally {
    await server.stop();
  }
}
