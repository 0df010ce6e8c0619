import { describe, expect, it } from 'vitest';
import type { TaskStatusError } from '../src/index.js';
import { rejection } from './helpers/events.js';
import { setupWsHarness } from './helpers/harness.js';

const harness = setupWsHarness();

describe('handshake timeout', () => {
  it('gives up on a server that takes TCP but never answers the upgrade', async () => {
    harness.server.onUpgrade = () => {};
    const c = harness.client({
      connectTimeoutMs: 80,
      reconnect: false,
    });
    const started = Date.now();
    const error = await rejection(c.connect());
    expect(error.code).toBe('HANDSHAKE_TIMEOUT');
    expect(error.message).toContain('opening handshake');
    expect(Date.now() - started).toBeGreaterThanOrEqual(75);
    expect(c.state).toBe('closed');
  });

  it('times out a server that accepts but never gives a verdict within connectTimeoutMs', async () => {
    const c = harness.client({
      connectTimeoutMs: 60,
      authGraceMs: 10_000,
      reconnect: false,
    });
    await expect(c.connect()).rejects.toMatchObject({ code: 'HANDSHAKE_TIMEOUT' });
  });

  it('waits out connectTimeoutMs, not authGraceMs, after an error frame the server never follows with a close', async () => {
    harness.server.onSocket = (ws) =>
      ws.send('{"type":"error","code":"auth_failed","message":"bad token"}');
    const c = harness.client({
      connectTimeoutMs: 300,
      authGraceMs: 20,
      reconnect: false,
    });
    const opened = new Promise<number>((resolve) => {
      c.on('state', (state) => {
        if (state === 'open') resolve(Date.now());
      });
    });
    const started = Date.now();
    const error = await rejection(c.connect());
    // The error frame ended the grace period: quiet after it is no acceptance, the deadline is.
    expect(error.code).toBe('AUTH_FAILED');
    expect(error.serverMessage).toBe('bad token');
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    expect(await Promise.race([opened, Promise.resolve('never')])).toBe('never');
  });

  it('retries a timed-out handshake and connects once the server answers', async () => {
    let delayed = 0;
    harness.server.onUpgrade = (_request, _socket, accept) => {
      if (delayed++ === 0) return; // first upgrade hangs forever
      accept();
    };
    const c = harness.client({
      connectTimeoutMs: 60,
      authGraceMs: 0,
      reconnect: { initialDelayMs: 0, maxDelayMs: 0 },
    });
    const errors: string[] = [];
    c.on('error', (e) => errors.push(e.code));
    await c.connect();
    expect(errors).toEqual(['HANDSHAKE_TIMEOUT']);
    expect(c.state).toBe('open');
  });

  it('reports a refused connection and keeps retrying while connect() waits', async () => {
    const port = harness.server.port;
    await harness.server.close();
    const c = harness.client({
      baseUrl: `http://127.0.0.1:${port}`,
      authGraceMs: 0,
      reconnect: {
        initialDelayMs: 5,
        maxDelayMs: 20,
        maxInitialAttempts: Number.POSITIVE_INFINITY,
      },
    });
    const errors: TaskStatusError[] = [];
    c.on('error', (e) => errors.push(e));
    const connecting = c.connect();
    await expect.poll(() => errors.length).toBeGreaterThanOrEqual(2);
    expect(errors[0]?.code).toBe('CONNECTION_ERROR');
    expect(c.state).toBe('reconnecting');
    await harness.server.listen();
    await connecting;
    expect(c.state).toBe('open');
  });
});
