import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import type { TaskStatusError, TokenContext } from '../src/index.js';
import { rejection } from './helpers/events.js';
import { setupWsHarness } from './helpers/harness.js';
import { watchTimers } from './helpers/timers.js';
import { requestedTokens } from './helpers/ws-server.js';

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

  it('accepts a server that sends no ack on the first attempt when connectTimeoutMs is short', async () => {
    // The default authGraceMs (1000) would outlast this deadline: the default is then half of it.
    const c = harness.client({ connectTimeoutMs: 400, reconnect: false });
    const started = Date.now();
    await c.connect();
    expect(c.state).toBe('open');
    expect(Date.now() - started).toBeGreaterThanOrEqual(195);
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

  it('allows each handshake after a timeout twice as long, up to 4 × connectTimeoutMs', async () => {
    // A server too busy to answer within connectTimeoutMs: every upgrade is answered after 700 ms.
    harness.server.onUpgrade = (_request, _socket, accept) => setTimeout(accept, 700);
    const c = harness.client({
      connectTimeoutMs: 100,
      authGraceMs: 0,
      reconnect: { initialDelayMs: 0, maxDelayMs: 0, maxInitialAttempts: 3 },
    });
    const errors: string[] = [];
    c.on('error', (e) => errors.push(e.message));
    const error = await rejection(c.connect());
    expect(error.code).toBe('RECONNECT_EXHAUSTED');
    expect(errors.slice(0, 4)).toEqual(
      [100, 200, 400, 400].map(
        (ms) => `Timed out after ${ms} ms waiting for the opening handshake`,
      ),
    );
  });

  it('connects to a server slower than connectTimeoutMs once the deadline has grown', async () => {
    harness.server.onUpgrade = (_request, _socket, accept) => setTimeout(accept, 250);
    const c = harness.client({
      connectTimeoutMs: 100,
      authGraceMs: 0,
      reconnect: { initialDelayMs: 0, maxDelayMs: 0, maxInitialAttempts: 3 },
    });
    const errors: string[] = [];
    c.on('error', (e) => errors.push(e.code));
    await c.connect();
    // 100 ms, then 200 ms, were too short; 400 ms is enough.
    expect(errors).toEqual(['HANDSHAKE_TIMEOUT', 'HANDSHAKE_TIMEOUT']);
    expect(c.state).toBe('open');
    // An accepted connection starts again from connectTimeoutMs.
    harness.server.onUpgrade = (_request, _socket, accept) => setTimeout(accept, 150);
    await c.reconnect();
    expect(errors).toEqual(['HANDSHAKE_TIMEOUT', 'HANDSHAKE_TIMEOUT', 'HANDSHAKE_TIMEOUT']);
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

describe('a token function that does not settle', () => {
  it('fails the attempt at connectTimeoutMs with TOKEN_ERROR and aborts the call', async () => {
    const contexts: TokenContext[] = [];
    const c = harness.client({
      connectTimeoutMs: 80,
      reconnect: false,
      token: (context) => {
        contexts.push(context);
        return new Promise<string>(() => {});
      },
    });
    const started = Date.now();
    const error = await rejection(c.connect());
    expect(error.code).toBe('TOKEN_ERROR');
    expect(error.message).toBe('The token function did not settle within connectTimeoutMs (80 ms)');
    expect(Date.now() - started).toBeGreaterThanOrEqual(75);
    expect(contexts).toHaveLength(1);
    expect(contexts[0]?.signal.aborted).toBe(true);
    expect(contexts[0]?.signal.reason).toBe(error);
    expect(harness.server.requests).toEqual([]);
    expect(c.state).toBe('closed');
  });

  it('retries, and ignores the late answer of the call it gave up on', async () => {
    let answerLate: (token: string) => void = () => {};
    const contexts: TokenContext[] = [];
    const c = harness.client({
      connectTimeoutMs: 60,
      authGraceMs: 0,
      reconnect: { initialDelayMs: 0, maxDelayMs: 0 },
      token: (context) => {
        contexts.push(context);
        if (contexts.length > 1) return 'tok-2';
        return new Promise<string>((resolve) => {
          answerLate = resolve;
        });
      },
    });
    const errors: string[] = [];
    c.on('error', (e) => errors.push(e.code));
    await c.connect();
    expect(errors).toEqual(['TOKEN_ERROR']);
    expect(contexts.map((x) => [x.reason, x.attempt, x.signal.aborted])).toEqual([
      ['connect', 0, true],
      ['reconnect', 1, false],
    ]);
    answerLate('tok-1');
    // The answer settles in a microtask: by the next macrotask it has been taken or ignored.
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(requestedTokens(harness.server)).toEqual(['tok-2']);
    expect(harness.server.sockets).toHaveLength(1);
    expect(c.state).toBe('open');
  });

  it('aborts the call and leaves no timer when the client is closed while it waits', async () => {
    const timers = watchTimers();
    const contexts: TokenContext[] = [];
    const c = harness.client({
      connectTimeoutMs: 60_000,
      token: (context) => {
        contexts.push(context);
        return new Promise<string>(() => {});
      },
    });
    const connecting = c.connect();
    expect(timers.live()).toBe(1);
    await c.close();
    await expect(connecting).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
    expect(contexts[0]?.signal.aborted).toBe(true);
    expect(timers.live()).toBe(0);
  });

  it('cancels a hanging token request made with fetch, and connects with the next one', async () => {
    let requests = 0;
    let hangingClosed: () => void = () => {};
    const cancelled = new Promise<void>((resolve) => {
      hangingClosed = resolve;
    });
    const auth = createServer((_request, response) => {
      requests += 1;
      if (requests > 1) response.end('tok-fresh');
      else response.on('close', hangingClosed); // never answered: only a cancel closes it
    });
    onTestFinished(() => {
      auth.closeAllConnections();
      auth.close();
    });
    await new Promise<void>((resolve) => auth.listen(0, '127.0.0.1', resolve));
    const { port } = auth.address() as AddressInfo;
    const c = harness.client({
      connectTimeoutMs: 100,
      authGraceMs: 0,
      reconnect: { initialDelayMs: 0, maxDelayMs: 0 },
      token: async ({ signal }) => {
        const response = await fetch(`http://127.0.0.1:${port}/token`, { signal });
        return response.text();
      },
    });
    await c.connect();
    await cancelled;
    expect(requests).toBe(2);
    expect(requestedTokens(harness.server)).toEqual(['tok-fresh']);
  });
});

describe('a grown handshake deadline', () => {
  it('stays within the longest delay a timer takes', async () => {
    // A timer set past 2^31 - 1 ms fires at once: a deadline doubled past it would time out
    // every later attempt at once. Fake timers fire such a timer at once too.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    onTestFinished(() => {
      vi.useRealTimers();
    });
    harness.server.onUpgrade = () => {};
    const c = harness.client({
      connectTimeoutMs: 2 ** 30,
      authGraceMs: 0,
      reconnect: { initialDelayMs: 0, maxDelayMs: 0, maxInitialAttempts: 3 },
    });
    const errors: string[] = [];
    c.on('error', (e) => errors.push(e.message));
    const connecting = c.connect();
    connecting.catch(() => {});
    await vi.advanceTimersByTimeAsync(2 ** 30 + 1000);
    expect(errors).toEqual([`Timed out after ${2 ** 30} ms waiting for the opening handshake`]);
    await vi.advanceTimersByTimeAsync(2 ** 31 - 1);
    expect(errors.at(-1)).toBe(
      `Timed out after ${2 ** 31 - 1} ms waiting for the opening handshake`,
    );
    expect(c.state).toBe('reconnecting');
  });
});
