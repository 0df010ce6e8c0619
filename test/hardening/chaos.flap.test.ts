/**
 * A link that flaps every few hundred milliseconds, cut and black-holed in turn, while the server
 * moves tasks to their final status. The client must come back each time with exactly one `open`
 * per new socket, leak no socket or listener, and with `resync` lose no final status.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ResyncUpdate, TaskStatusClient } from '../../src/index.js';
import { at, taskFrame } from '../helpers/frames.js';
import { setupChaos } from './helpers/chaos.js';
import { connectionLog, FAST_HEARTBEAT, openProblems } from './helpers/connections.js';

const FLAPS = 10;
const FLAP_EVERY_MS = 300;
const TASKS = 20;
const rig = setupChaos({
  heartbeat: FAST_HEARTBEAT,
  reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
  resync: () => [...backend.values()],
});
let client: TaskStatusClient;
const backend = new Map<number, ResyncUpdate>();
const timers: ReturnType<typeof setInterval>[] = [];

beforeEach(() => {
  backend.clear();
  client = rig.client();
});

afterEach(() => {
  for (const timer of timers.splice(0)) clearInterval(timer);
});

/** Runs `step` every `everyMs`, `times` times; resolves after the last one. */
function every(everyMs: number, times: number, step: (n: number) => void): Promise<void> {
  return new Promise((resolve) => {
    let n = 0;
    const timer = setInterval(() => {
      step(n++);
      if (n < times) return;
      clearInterval(timer);
      resolve();
    }, everyMs);
    timers.push(timer);
  });
}

/** Sends a frame to every socket the server has open (there is one, or none mid-flap). */
function broadcast(frame: string): void {
  for (const ws of rig.server.sockets) if (ws.readyState === ws.OPEN) ws.send(frame);
}

describe('a flapping link', () => {
  it('comes back after every flap with one open per socket and no final status lost', async () => {
    const log = connectionLog(client);
    let recovered = 0;
    client.on('resynced', ({ applied }) => (recovered += applied));
    await client.connect();
    const baseline = client.eventNames().map((name) => [name, client.listenerCount(name)]);
    const finals = Array.from({ length: TASKS }, (_, i) =>
      client.waitForTask(i + 1, { timeoutMs: 10_000 }),
    );

    // The server finishes one task per tick, mid-flap; some of those frames are cut or swallowed.
    const work = every((FLAP_EVERY_MS * FLAPS) / TASKS, TASKS, (n) => {
      broadcast(taskFrame(n + 1, 'running', { updated_at: at(n) }));
      backend.set(n + 1, { taskId: n + 1, status: 'completed', updatedAt: at(100 + n) });
      broadcast(taskFrame(n + 1, 'completed', { updated_at: at(100 + n) }));
    });
    const flaps = every(FLAP_EVERY_MS, FLAPS, (n) =>
      n % 2 === 0 ? rig.proxy.cut() : rig.proxy.blackhole(),
    );
    await Promise.all([work, flaps]);

    const results = await Promise.all(finals);
    expect(results.map((update) => update.status)).toEqual(Array(TASKS).fill('completed'));
    // Some final statuses were swallowed by the flaps and came back only through resync.
    expect(recovered).toBeGreaterThan(0);
    await expect.poll(() => client.state, { timeout: 2_000 }).toBe('open');
    expect(openProblems(log)).toEqual([]);
    expect(log.filter((entry) => entry === 'open').length).toBeGreaterThanOrEqual(FLAPS / 2);
    // Nothing accumulates across reconnects: one live socket each side, the same listeners.
    await expect.poll(() => rig.proxy.links).toBe(1);
    await expect
      .poll(() => rig.server.sockets.filter((ws) => ws.readyState === ws.OPEN).length)
      .toBe(1);
    expect(client.eventNames().map((name) => [name, client.listenerCount(name)])).toEqual(baseline);
  });
});
