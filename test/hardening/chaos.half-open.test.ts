/**
 * A half-open link: TCP stays up but nothing gets through either way, as behind a dead NAT
 * entry or a frozen peer. Only the heartbeat can tell; it must within `intervalMs + timeoutMs`,
 * and with `resync` a final status the server sent into the void is still not lost.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type {
  CloseEventInfo,
  ResyncUpdate,
  TaskStatusClient,
  TaskStatusError,
} from '../../src/index.js';
import { nextEvent, rejection } from '../helpers/events.js';
import { at, taskFrame } from '../helpers/frames.js';
import { setupChaos } from './helpers/chaos.js';
import { connectionLog, FAST_HEARTBEAT, openProblems, SLACK_MS } from './helpers/connections.js';

const BOUND_MS = FAST_HEARTBEAT.intervalMs + FAST_HEARTBEAT.timeoutMs;
const rig = setupChaos({
  heartbeat: FAST_HEARTBEAT,
  reconnect: { initialDelayMs: 10, maxDelayMs: 20 },
});

/** The backend's own record, what an HTTP "list my tasks" endpoint would return. */
const backend = new Map<number, ResyncUpdate>();

/** Records a task's new state in the backend, and returns the frame announcing it. */
function advance(taskId: number, status: string, seconds: number): string {
  backend.set(taskId, { taskId, status, updatedAt: at(seconds) });
  return taskFrame(taskId, status, { updated_at: at(seconds) });
}

beforeEach(() => {
  backend.clear();
});

const client = rig.client;

function heartbeatTimeout(c: TaskStatusClient): Promise<TaskStatusError> {
  return new Promise((resolve) =>
    c.on('error', (error) => error.code === 'HEARTBEAT_TIMEOUT' && resolve(error)),
  );
}

describe('a half-open link', () => {
  it('is declared dead within heartbeat.intervalMs + timeoutMs and replaced', async () => {
    const c = client();
    const log = connectionLog(c);
    const errors: string[] = [];
    c.on('error', (error) => errors.push(error.code));
    await c.connect();
    await nextEvent(c, 'heartbeat'); // the ping cycle runs, and pongs come back
    const timedOut = heartbeatTimeout(c);
    const closed = nextEvent<[CloseEventInfo]>(c, 'close');
    const reopened = nextEvent(c, 'open');

    const silentAt = Date.now();
    rig.proxy.blackhole();
    await timedOut;
    const detectedMs = Date.now() - silentAt;

    expect(detectedMs).toBeLessThanOrEqual(BOUND_MS + SLACK_MS);
    expect((await closed)[0]).toMatchObject({ code: 1006, willReconnect: true });
    await reopened;
    expect(errors).toEqual(['HEARTBEAT_TIMEOUT']);
    expect(log).toEqual(['open', 'connected:1', 'close', 'open', 'connected:2']);
    expect(openProblems(log)).toEqual([]);
    // The dead socket was dropped, not left behind: one link through the proxy, one on the rig.server.
    await expect.poll(() => rig.proxy.links).toBe(1);
    await expect
      .poll(() => rig.server.sockets.filter((ws) => ws.readyState === ws.OPEN).length)
      .toBe(1);
  });

  it('still delivers a final status sent into the black hole, through resync', async () => {
    const c = client({ resync: () => [...backend.values()] });
    const log = connectionLog(c);
    await c.connect();
    rig.server.sockets[0]?.send(advance(7, 'running', 1));
    await expect.poll(() => c.getTask(7)?.status).toBe('running');
    const finished = c.waitForTask(7, { timeoutMs: 5_000 });
    const timedOut = heartbeatTimeout(c);

    const silentAt = Date.now();
    rig.proxy.blackhole();
    rig.server.sockets[0]?.send(advance(7, 'completed', 2)); // lost in the black hole
    await timedOut;

    expect(Date.now() - silentAt).toBeLessThanOrEqual(BOUND_MS + SLACK_MS);
    await expect(finished).resolves.toMatchObject({ taskId: 7, status: 'completed' });
    expect(openProblems(log)).toEqual([]);
    expect(log.filter((entry) => entry === 'open')).toHaveLength(2);
  });

  it('loses that final status without resync: the server sends changes only', async () => {
    const c = client();
    await c.connect();
    rig.server.sockets[0]?.send(advance(7, 'running', 1));
    await expect.poll(() => c.getTask(7)?.status).toBe('running');
    const timedOut = heartbeatTimeout(c);
    rig.proxy.blackhole();
    rig.server.sockets[0]?.send(advance(7, 'completed', 2));
    await timedOut;
    await nextEvent(c, 'open');

    const error = await rejection(c.waitForTask(7, { timeoutMs: 300 }));
    expect(error.code).toBe('TASK_TIMEOUT');
    expect(c.getTask(7)?.status).toBe('running');
  });
});
