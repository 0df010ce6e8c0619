/**
 * The fleet benchmarks: heap and timers per idle connected client, and the reconnect storm of a
 * fleet dropped by a restarting server. Server and clients run in separate processes.
 */
import { type BenchMessage, MEASURED_PRIORITY, startChild } from '../lib/child.js';
import { compileSdk } from '../lib/compiled-sdk.js';
import { maxInWindow } from '../lib/stats.js';

interface ReadyMessage extends BenchMessage {
  readonly clients: number;
  readonly heapPerClient: number;
  readonly timers: number;
  readonly exposeGc: boolean;
}

/** Heap and live timers that `clients` idle connected clients add to their process. */
export interface IdleResult {
  readonly label: string;
  readonly clients: number;
  /** Bytes of JS heap per client (heapUsed after GC, after minus before, divided by clients). */
  readonly heapPerClient: number;
  /** Live ref'd timers added, divided by clients. */
  readonly timersPerClient: number;
}

export interface IdleOptions {
  readonly clients: number;
}

export const IDLE_DEFAULTS: IdleOptions = { clients: 1_000 };

/**
 * Three runs, each in a fresh process: raw `ws` (reference), the SDK from `src` through tsx,
 * and the SDK compiled as the package build compiles it (see `lib/compiled-sdk.ts`).
 */
export async function runIdle(
  options: IdleOptions = IDLE_DEFAULTS,
  log: (line: string) => void = () => {},
): Promise<IdleResult[]> {
  const compiled = await compileSdk();
  const server = startChild('fleet/server.ts');
  const results: IdleResult[] = [];
  try {
    const { port } = await server.next<BenchMessage & { port: number }>('ready');
    const common = [String(port), String(options.clients), '-'];
    const runs = [
      { label: 'raw ws', args: ['raw', ...common] },
      { label: 'SDK (src via tsx)', args: ['sdk', ...common] },
      { label: 'SDK (compiled)', args: ['sdk', ...common, compiled] },
    ];
    for (const run of runs) {
      const args = run.args;
      const child = startChild('fleet/clients.ts', args, ['--expose-gc']);
      try {
        const ready = await child.next<ReadyMessage>('ready', 120_000);
        if (!ready.exposeGc) throw new Error('clients.ts ran without --expose-gc');
        const result = {
          label: run.label,
          clients: ready.clients,
          heapPerClient: ready.heapPerClient,
          timersPerClient: ready.timers / ready.clients,
        };
        log(
          `  ${run.label}: ${(result.heapPerClient / 1024).toFixed(2)} KiB/client, ${ready.timers} timers for ${ready.clients} clients`,
        );
        results.push(result);
      } finally {
        await child.stop();
      }
    }
  } finally {
    await server.stop();
  }
  return results;
}

export interface StormOptions {
  readonly clients: number;
  /** How long the server stays down after dropping everyone (0: it restarts at once). */
  readonly downtimeMs: number;
  /** Give up waiting for the fleet this long after the server is back. */
  readonly settleMs: number;
  /** Client processes the fleet is split over. */
  readonly processes: number;
}

export interface StormResult {
  readonly clients: number;
  readonly downtimeMs: number;
  readonly processes: number;
  /** Whether the server ran at the raised priority. */
  readonly prioritized: boolean;
  /** CPU time of the client processes from just before the drop until the end, per client. */
  readonly cpuMsPerClient: number;
  /** Most upgrade requests the server saw in any 100 ms window after the drop. */
  readonly maxPer100ms: number;
  /** Upgrade requests the server saw after the drop. */
  readonly upgrades: number;
  /** Reconnect attempts the clients made, refused ones included (from their `reconnecting` events). */
  readonly attempts: number;
  /** Most attempts in any 100 ms window, refused ones included, as planned (event time + delay). */
  readonly attemptsMaxPer100ms: number;
  /** Most sockets the clients actually created in any 100 ms window (refused ones included). */
  readonly socketsMaxPer100ms: number;
  /** Milliseconds from the drop until 50%, 99% and 100% of the clients were open again. */
  readonly backMs: { readonly p50: number; readonly p99: number; readonly all: number };
  /** Clients open again when measuring stopped. */
  readonly back: number;
  /** Milliseconds from the drop until 50% and 99% of the clients had seen their socket close. */
  readonly closedMs: { readonly p50: number; readonly p99: number };
}

interface ArrivalsMessage extends BenchMessage {
  readonly arrivals: { at: number; user: string }[];
}
interface ReportMessage extends BenchMessage {
  readonly attempts: number[];
  readonly sockets: number[];
  readonly backs: number[];
  readonly closes: number[];
  readonly cpuMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** When the `n`-th event (1-based) happened, in ms after the drop; NaN if there were fewer. */
function nthBack(backs: readonly number[], n: number, droppedAt: number): number {
  const sorted = [...backs].sort((a, b) => a - b);
  const at = sorted[n - 1];
  return at === undefined ? Number.NaN : at - droppedAt;
}

export async function runStorm(
  options: StormOptions,
  log: (line: string) => void = () => {},
): Promise<StormResult> {
  // The server at a raised priority where allowed: descheduled by other work on a busy machine,
  // it reads a backlog of queued upgrades at once, a spike the clients never sent. (Raising the
  // client processes as well made it worse: five processes then fight over two cores.)
  const server = startChild('fleet/server.ts', [], [], MEASURED_PRIORITY);
  const fleets: ReturnType<typeof startChild>[] = [];
  const report = async (): Promise<ReportMessage> => {
    const parts = await Promise.all(
      fleets.map((fleet) => {
        fleet.send({ type: 'report' });
        return fleet.next<ReportMessage>('report');
      }),
    );
    return {
      type: 'report',
      attempts: parts.flatMap((part) => part.attempts),
      sockets: parts.flatMap((part) => part.sockets),
      backs: parts.flatMap((part) => part.backs),
      closes: parts.flatMap((part) => part.closes),
      cpuMs: parts.reduce((sum, part) => sum + part.cpuMs, 0),
    };
  };
  try {
    const { port } = await server.next<BenchMessage & { port: number }>('ready');
    const share = Math.ceil(options.clients / options.processes);
    for (let first = 0; first < options.clients; first += share) {
      const count = Math.min(share, options.clients - first);
      fleets.push(
        startChild('fleet/clients.ts', [
          'sdk',
          String(port),
          String(count),
          'watch',
          '-',
          String(first),
        ]),
      );
    }
    await Promise.all(fleets.map((fleet) => fleet.next<ReadyMessage>('ready', 120_000)));
    const before = await report();
    server.send({ type: 'drop', downtimeMs: options.downtimeMs });
    const { droppedAt } = await server.next<BenchMessage & { droppedAt: number }>(
      'dropped',
      options.downtimeMs + 10_000,
    );
    const deadline = Date.now() + options.settleMs;
    let after: ReportMessage;
    do {
      await sleep(250);
      after = await report();
    } while (after.backs.length < options.clients && Date.now() < deadline);
    server.send({ type: 'arrivals' });
    const { arrivals } = await server.next<ArrivalsMessage>('arrivals');
    const upgradeTimes = arrivals.map((arrival) => arrival.at);
    const since = (times: readonly number[]) => times.filter((at) => at >= droppedAt);
    // The warm-up client of each fleet closed before the drop; only what came after counts.
    const closes = since(after.closes);
    const result: StormResult = {
      clients: options.clients,
      downtimeMs: options.downtimeMs,
      processes: fleets.length,
      prioritized: server.prioritized,
      maxPer100ms: maxInWindow(upgradeTimes, 100),
      upgrades: upgradeTimes.length,
      attempts: since(after.attempts).length,
      attemptsMaxPer100ms: maxInWindow(since(after.attempts), 100),
      socketsMaxPer100ms: maxInWindow(since(after.sockets), 100),
      backMs: {
        p50: nthBack(after.backs, Math.ceil(options.clients * 0.5), droppedAt),
        p99: nthBack(after.backs, Math.ceil(options.clients * 0.99), droppedAt),
        all: nthBack(after.backs, options.clients, droppedAt),
      },
      back: after.backs.length,
      closedMs: {
        p50: nthBack(closes, Math.ceil(options.clients * 0.5), droppedAt),
        p99: nthBack(closes, Math.ceil(options.clients * 0.99), droppedAt),
      },
      cpuMsPerClient: (after.cpuMs - before.cpuMs) / options.clients,
    };
    log(
      `  down ${options.downtimeMs} ms, ${result.processes} client process(es)${result.prioritized ? '' : ' (priority NOT raised)'}: ${result.upgrades} upgrades, max ${result.maxPer100ms} per 100 ms; ` +
        `${result.attempts} attempts (max per 100 ms: ${result.attemptsMaxPer100ms} planned, ${result.socketsMaxPer100ms} sockets created); ` +
        `closed: 50% ${result.closedMs.p50.toFixed(0)} ms, 99% ${result.closedMs.p99.toFixed(0)} ms; ` +
        `back: 50% ${result.backMs.p50.toFixed(0)} ms, 99% ${result.backMs.p99.toFixed(0)} ms, all ${result.backMs.all.toFixed(0)} ms; ` +
        `client CPU ${result.cpuMsPerClient.toFixed(2)} ms per client`,
    );
    return result;
  } finally {
    await Promise.all(fleets.map((fleet) => fleet.stop()));
    await server.stop();
  }
}
