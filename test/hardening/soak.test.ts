/**
 * A test-sized run of `bench/soak.ts` (15 s at 3000 frames/s, a forced reconnect every 2.5 s) in
 * a child process started with `--expose-gc`: the heap after `gc()`, the client's listener counts
 * and the process's active handles must come back to where they started.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const soak = fileURLToPath(new URL('../../bench/soak.ts', import.meta.url));
const DURATION_MS = 15_000;
const RECONNECT_EVERY_MS = 2_500;

interface SoakReport {
  sent: { good: number; bad: number };
  delivered: number;
  iterated: number;
  opens: number;
  forcedReconnects: number;
  errors: { PROTOCOL_ERROR?: number; [code: string]: number | undefined };
  heap: { baselineBytes: number; endBytes: number; growthBytes: number };
  listeners: { baseline: Record<string, number>; end: Record<string, number> };
  handles: { before: Record<string, number>; after: Record<string, number> };
}

describe('soak', () => {
  it('keeps heap, listeners and handles flat over thousands of frames and forced reconnects', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        '--expose-gc',
        '--import',
        'tsx',
        soak,
        '--duration-ms',
        String(DURATION_MS),
        '--rate',
        '3000',
        '--reconnect-every-ms',
        String(RECONNECT_EVERY_MS),
        '--json',
      ],
      { timeout: 45_000 },
    );
    const report = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as SoakReport;

    // The run did what it says: tens of thousands of frames, a reconnect every few seconds.
    expect(report.sent.good).toBeGreaterThan(30_000);
    expect(report.forcedReconnects).toBeGreaterThanOrEqual(DURATION_MS / RECONNECT_EVERY_MS - 1);
    // One open per connection, and nearly every frame through (a drop may cost the frames in flight).
    expect(report.opens).toBe(report.forcedReconnects + 1);
    expect(report.delivered).toBeGreaterThan(report.sent.good * 0.95);
    expect(report.iterated).toBe(report.delivered);
    expect(report.errors.PROTOCOL_ERROR).toBeLessThanOrEqual(report.sent.bad);
    expect(report.errors.PROTOCOL_ERROR).toBeGreaterThan(report.sent.bad * 0.95);
    expect(Object.keys(report.errors).sort()).toEqual(['CONNECTION_LOST', 'PROTOCOL_ERROR']);
    // Nothing accumulates: a per-frame leak of 40 bytes would already show here.
    expect(report.heap.growthBytes).toBeLessThan(2 * 1_048_576);
    expect(report.listeners.end).toEqual(report.listeners.baseline);
    // No kind of handle grows; one can shrink (a connect in flight at the start has finished).
    for (const [kind, count] of Object.entries(report.handles.after)) {
      expect(count, kind).toBeLessThanOrEqual(report.handles.before[kind] ?? 0);
    }
  }, 60_000);
});
