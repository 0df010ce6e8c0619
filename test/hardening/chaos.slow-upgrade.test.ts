/**
 * An upgrade answered late: the `101` held back by the network. Within `connectTimeoutMs` the
 * client waits it out; past it, the client gives up on that socket at the deadline, tears it
 * down, and connects with the next attempt, once.
 */
import { describe, expect, it } from 'vitest';
import { setupChaos } from './helpers/chaos.js';
import { connectionLog, openProblems, SLACK_MS } from './helpers/connections.js';

const CONNECT_TIMEOUT_MS = 250;
const rig = setupChaos({
  connectTimeoutMs: CONNECT_TIMEOUT_MS,
  heartbeat: false,
  reconnect: { initialDelayMs: 0, maxDelayMs: 10 },
});

const client = rig.client;

describe('a delayed upgrade', () => {
  it('is waited out while it fits in connectTimeoutMs', async () => {
    rig.proxy.upgradeDelayMs = () => 150;
    const c = client();
    const errors: string[] = [];
    c.on('error', (error) => errors.push(error.code));
    const started = Date.now();
    await c.connect();
    expect(Date.now() - started).toBeGreaterThanOrEqual(145);
    expect(errors).toEqual([]);
    expect(rig.proxy.accepted).toBe(1);
  });

  it('is abandoned at connectTimeoutMs, and the next attempt connects once', async () => {
    rig.proxy.upgradeDelayMs = (n) => (n === 1 ? 2_000 : 0);
    const c = client();
    const log = connectionLog(c);
    const failures: { code: string; afterMs: number }[] = [];
    const started = Date.now();
    c.on('error', (error) => failures.push({ code: error.code, afterMs: Date.now() - started }));

    await c.connect();

    expect(failures.map((f) => f.code)).toEqual(['HANDSHAKE_TIMEOUT']);
    expect(failures[0]?.afterMs).toBeGreaterThanOrEqual(CONNECT_TIMEOUT_MS - 5);
    expect(failures[0]?.afterMs).toBeLessThan(CONNECT_TIMEOUT_MS + SLACK_MS);
    expect(log).toEqual(['open', 'connected:2']);
    // The abandoned socket is torn down at both ends, so its late 101 can never open it.
    await expect.poll(() => rig.proxy.links).toBe(1);
    await expect.poll(() => rig.server.sockets[0]?.readyState).toBe(rig.server.sockets[0]?.CLOSED);
    expect(openProblems(log)).toEqual([]);
  });
});
