/**
 * The reconnect policy on paper: when 1,000 clients with the default settings would reach a
 * server that dropped them all, if sockets closed at the same instant, refused connections
 * failed at once, and no process were ever late. It uses the SDK's own `reconnectDelay` and
 * `RECONNECT_DEFAULTS`, so it tracks the policy; the storm benchmark then shows what a real
 * machine adds (close detection, scheduling).
 */
import { RECONNECT_DEFAULTS, reconnectDelay } from '../../src/index.js';
import { maxInWindow, median } from '../lib/stats.js';

export interface ModelResult {
  readonly downtimeMs: number;
  /** Median over the runs of the most arrivals in any 100 ms window. */
  readonly maxPer100ms: number;
  /** Median over the runs of the time until 99% have arrived, in ms after the drop. */
  readonly p99Ms: number;
  readonly runs: number;
}

/** A small seeded generator (mulberry32), so the model gives the same answer every time. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export function modelStorm(clients: number, downtimeMs: number, runs = 51): ModelResult {
  const policy = RECONNECT_DEFAULTS;
  const peaks: number[] = [];
  const p99s: number[] = [];
  for (let run = 0; run < runs; run++) {
    const random = seeded(run + 1);
    const arrivals: number[] = [];
    for (let client = 0; client < clients; client++) {
      // The drop counts as the first failure: the first wait is reconnectDelay(policy, 0).
      let attempt = 0;
      let at = reconnectDelay(policy, attempt, random);
      // While the server is down an attempt is refused at once and the next one is planned.
      while (at < downtimeMs) at += reconnectDelay(policy, ++attempt, random);
      arrivals.push(at);
    }
    arrivals.sort((a, b) => a - b);
    peaks.push(maxInWindow(arrivals, 100));
    p99s.push(arrivals[Math.ceil(clients * 0.99) - 1] ?? Number.NaN);
  }
  return { downtimeMs, maxPer100ms: median(peaks), p99Ms: median(p99s), runs };
}
