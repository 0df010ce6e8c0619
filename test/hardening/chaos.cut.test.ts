/**
 * A link cut at the TCP level, with no WebSocket close frame: a clean FIN, or a reset in the
 * middle of a frame. The client must notice at once (the OS tells it), report the loss, never
 * deliver half a frame, and reconnect with one `open` per new socket.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { CloseEventInfo, TaskStatusClient, TaskStatusError } from '../../src/index.js';
import { nextEvent } from '../helpers/events.js';
import { setupChaos } from './helpers/chaos.js';
import { connectionLog, FAST_HEARTBEAT, openProblems, SLACK_MS } from './helpers/connections.js';

const rig = setupChaos({
  heartbeat: FAST_HEARTBEAT,
  reconnect: { initialDelayMs: 10, maxDelayMs: 20 },
});
let client: TaskStatusClient;

beforeEach(() => {
  client = rig.client();
});

function errorsOf(c: TaskStatusClient): TaskStatusError[] {
  const errors: TaskStatusError[] = [];
  c.on('error', (error) => errors.push(error));
  return errors;
}

describe('a link cut without a close frame', () => {
  it('is noticed at once, reported as CONNECTION_LOST, and replaced by a new socket', async () => {
    const log = connectionLog(client);
    const errors = errorsOf(client);
    await client.connect();
    const closed = nextEvent<[CloseEventInfo]>(client, 'close');
    const reopened = nextEvent(client, 'open');

    const cutAt = Date.now();
    rig.proxy.cut();
    const [info] = await closed;
    const detectedMs = Date.now() - cutAt;

    // The OS reports a FIN at once: well inside the heartbeat bound, which never had to fire.
    expect(detectedMs).toBeLessThan(
      FAST_HEARTBEAT.intervalMs + FAST_HEARTBEAT.timeoutMs + SLACK_MS,
    );
    expect(info).toMatchObject({ code: 1006, wasClean: false, willReconnect: true });
    await reopened;
    expect(errors.map((error) => error.code)).toEqual(['CONNECTION_LOST']);
    expect(log).toEqual(['open', 'connected:1', 'close', 'open', 'connected:2']);
    expect(openProblems(log)).toEqual([]);
    expect(rig.proxy.accepted).toBe(2);
  });

  it('never delivers a frame cut in half by a reset, and delivers it whole after reconnecting', async () => {
    const log = connectionLog(client);
    const errors = errorsOf(client);
    const delivered: unknown[] = [];
    client.on('task', (update) => delivered.push(update.taskId));
    await client.connect();
    const big = JSON.stringify({
      type: 'task_update',
      task_id: 'big',
      status: 'completed',
      message: 'x'.repeat(200_000),
    });
    const reopened = nextEvent(client, 'open');

    const resetAt = Date.now();
    rig.proxy.resetAfter(4_096);
    rig.server.sockets[0]?.send(big);
    await reopened;

    expect(Date.now() - resetAt).toBeLessThan(
      FAST_HEARTBEAT.intervalMs + FAST_HEARTBEAT.timeoutMs + SLACK_MS,
    );
    expect(errors.map((error) => error.code)).toEqual(['CONNECTION_LOST']);
    expect(delivered).toEqual([]);
    rig.server.sockets[1]?.send(big);
    await expect.poll(() => delivered).toEqual(['big']);
    expect(client.getTask('big')?.message).toHaveLength(200_000);
    expect(openProblems(log)).toEqual([]);
  });
});
