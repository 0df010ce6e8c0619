import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ReconnectingInfo, TaskStatusClient, TaskStatusError } from '../src/index.js';
import { nextEvent, rejection } from './helpers/events.js';
import { setupWsHarness } from './helpers/harness.js';

const harness = setupWsHarness({
  heartbeat: false,
  authGraceMs: 0,
  reconnect: { initialDelayMs: 5, maxDelayMs: 20 },
});
const client = harness.client;

afterEach(() => {
  vi.useRealTimers();
});

describe('reconnect', () => {
  it('comes back by itself after a server restart on the same port', async () => {
    const c = client();
    await c.connect();
    const states: string[] = [];
    c.on('state', (s) => states.push(s));
    const closed = nextEvent<[{ willReconnect: boolean }]>(c, 'close');
    await harness.server.close();
    expect((await closed)[0].willReconnect).toBe(true);
    await harness.server.listen();
    const [info] = await nextEvent<[{ reconnected: boolean }]>(c, 'open');
    expect(info.reconnected).toBe(true);
    expect(states[0]).toBe('reconnecting');
    expect(states.at(-1)).toBe('open');
  });

  it.each([1000, 1001, 1011, 1012, 1013, 1014])(
    'reconnects after a server close %i',
    async (code) => {
      let n = 0;
      harness.server.onSocket = (ws) => {
        if (n++ === 0) setTimeout(() => ws.close(code), 5);
      };
      const c = client();
      await c.connect();
      const [info] = await nextEvent<[ReconnectingInfo]>(c, 'reconnecting');
      expect(info.attempt).toBe(1);
      expect(info.reason.closeCode).toBe(code);
      await nextEvent(c, 'open');
      expect(harness.server.sockets).toHaveLength(2);
    },
  );

  it('lets shouldReconnect veto a reconnect', async () => {
    harness.server.onSocket = (ws) => setTimeout(() => ws.close(1001, 'going away'), 5);
    const seen: number[] = [];
    const c = client({
      shouldReconnect: (info) => {
        seen.push(info.code);
        return false;
      },
    });
    await c.connect();
    const [info] = await nextEvent<[{ willReconnect: boolean }]>(c, 'close');
    expect(info.willReconnect).toBe(false);
    expect(seen).toEqual([1001]);
    expect(c.state).toBe('closed');
  });

  it('lets shouldReconnect retry what the policy calls fatal', async () => {
    let n = 0;
    harness.server.onSocket = (ws) => {
      if (n++ === 0) ws.close(4001, 'custom');
    };
    const c = client({ shouldReconnect: (info) => info.code === 4001 });
    const reopened = new Promise((resolve) =>
      c.on('open', (info) => info.reconnected && resolve(info)),
    );
    await c.connect();
    await reopened;
    expect(harness.server.sockets).toHaveLength(2);
  });

  it.each([
    [1, 'attempt'],
    [3, 'attempts'],
  ])(
    'gives up with RECONNECT_EXHAUSTED after maxAttempts (%i) failures in a row',
    async (maxAttempts, noun) => {
      const port = harness.server.port;
      await harness.server.close();
      const c = client({
        baseUrl: `http://127.0.0.1:${port}`,
        reconnect: { initialDelayMs: 1, maxDelayMs: 2, maxAttempts },
      });
      const attempts: number[] = [];
      c.on('reconnecting', (info) => attempts.push(info.attempt));
      const error = await rejection(c.connect());
      expect(error.code).toBe('RECONNECT_EXHAUSTED');
      expect(error.message).toContain(`Gave up after ${maxAttempts} failed reconnect ${noun} in`);
      expect((error.cause as TaskStatusError).code).toBe('CONNECTION_ERROR');
      expect(attempts).toEqual(Array.from({ length: maxAttempts }, (_, i) => i + 1));
      expect(c.state).toBe('closed');
      await harness.server.listen();
    },
  );

  it('is closed already when it emits a final error, and on no other', async () => {
    const port = harness.server.port;
    await harness.server.close();
    const c = client({
      baseUrl: `http://127.0.0.1:${port}`,
      reconnect: { initialDelayMs: 1, maxDelayMs: 2, maxAttempts: 2 },
    });
    const seen: [string, string][] = [];
    c.on('error', (error) => seen.push([error.code, c.state]));
    await rejection(c.connect());
    expect(seen).toEqual([
      ['CONNECTION_ERROR', 'connecting'],
      ['CONNECTION_ERROR', 'reconnecting'],
      ['CONNECTION_ERROR', 'reconnecting'],
      ['RECONNECT_EXHAUSTED', 'closed'],
    ]);
    await harness.server.listen();
  });

  it.each([
    ['a drop with no close frame', 'Connection dropped (close 1006)'],
    ['a close frame', 'Connection closed by server (close 1012)'],
  ])('says what ended an accepted connection: %s', async (_, message) => {
    const c = client();
    await c.connect();
    const reconnecting = nextEvent<[ReconnectingInfo]>(c, 'reconnecting');
    const socket = harness.server.sockets[0];
    if (message.includes('1006')) socket?.terminate();
    else socket?.close(1012);
    const [info] = await reconnecting;
    expect(info.reason.code).toBe('CONNECTION_LOST');
    expect(info.reason.message).toBe(message);
  });

  it('rejects with the first failure itself when reconnect is false', async () => {
    const port = harness.server.port;
    await harness.server.close();
    const c = client({ baseUrl: `http://127.0.0.1:${port}`, reconnect: false });
    await expect(c.connect()).rejects.toMatchObject({ code: 'CONNECTION_ERROR' });
    await harness.server.listen();
  });

  it('uses the injected random for the delays it announces (real timers)', async () => {
    const port = harness.server.port;
    await harness.server.close();
    const c = client({
      baseUrl: `http://127.0.0.1:${port}`,
      random: () => 0.5,
      reconnect: { initialDelayMs: 4, factor: 2, maxDelayMs: 16, maxAttempts: 4 },
    });
    const delays: number[] = [];
    c.on('reconnecting', (info) => delays.push(info.delayMs));
    await c.connect().catch(() => {});
    expect(delays).toEqual([2, 4, 8, 8]);
    await harness.server.listen();
  });

  it('waits exactly the jittered delay before each attempt (fake timers)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const created: string[] = [];
    class FailingSocket {
      readyState = 0;
      binaryType = 'blob';
      onopen = null;
      onmessage = null;
      onerror: ((e: unknown) => void) | null = null;
      onclose: ((e: { code: number; reason: string }) => void) | null = null;
      constructor(url: string) {
        created.push(url);
        queueMicrotask(() => this.onclose?.({ code: 1006, reason: '' }));
      }
      send() {}
      close() {}
    }
    const randoms = [0.25, 0.75, 0.5];
    const c = client({
      WebSocket: FailingSocket as never,
      random: () => randoms.shift() ?? 0,
      reconnect: { initialDelayMs: 1000, factor: 2, maxDelayMs: 10_000, maxAttempts: 3 },
    });
    const delays: number[] = [];
    c.on('reconnecting', (info) => delays.push(info.delayMs));
    const done = c.connect().catch((e: TaskStatusError) => e.code);
    await vi.advanceTimersByTimeAsync(0);
    expect(delays).toEqual([250]);
    await vi.advanceTimersByTimeAsync(249);
    expect(created).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(created).toHaveLength(2);
    expect(delays).toEqual([250, 1500]);
    await vi.advanceTimersByTimeAsync(1500);
    expect(created).toHaveLength(3);
    expect(delays).toEqual([250, 1500, 2000]);
    await vi.advanceTimersByTimeAsync(2000);
    expect(await done).toBe('RECONNECT_EXHAUSTED');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('resets the attempt counter only after the connection was stable for stableAfterMs', async () => {
    harness.server.onSocket = (ws) => setTimeout(() => ws.close(1011), 5);
    const c = client({
      reconnect: { initialDelayMs: 1, maxDelayMs: 2, stableAfterMs: 60_000, maxAttempts: 4 },
    });
    const attempts: number[] = [];
    c.on('reconnecting', (info) => attempts.push(info.attempt));
    await c.connect();
    const error = await new Promise<TaskStatusError>((resolve) =>
      c.on('error', (e) => e.code === 'RECONNECT_EXHAUSTED' && resolve(e)),
    );
    expect(error.message).toContain('Gave up after 4 failed reconnect attempts');
    // Each connection opened: the message says why they still count as failures.
    expect(error.message).toContain('closes within stableAfterMs (60000 ms) counts as failed');
    expect(attempts).toEqual([1, 2, 3, 4]);
  });

  it('starts counting from one again after a stable connection', async () => {
    harness.server.onSocket = (ws) => setTimeout(() => ws.close(1011), 5);
    const c = client({
      reconnect: { initialDelayMs: 1, maxDelayMs: 2, stableAfterMs: 0, maxAttempts: 1 },
    });
    const attempts: number[] = [];
    c.on('reconnecting', (info) => attempts.push(info.attempt));
    await c.connect();
    await expect.poll(() => attempts.length).toBeGreaterThanOrEqual(5);
    expect(new Set(attempts)).toEqual(new Set([1]));
  });

  it('keeps listener counts flat across 100 forced reconnects', async () => {
    const c = client();
    await c.connect();
    const baseline = c.eventNames().map((name) => c.listenerCount(name));
    for (let i = 0; i < 100; i++) await c.reconnect();
    expect(c.eventNames().map((name) => c.listenerCount(name))).toEqual(baseline);
    await expect
      .poll(() => harness.server.sockets.filter((s) => s.readyState === s.OPEN).length)
      .toBe(1);
    expect(harness.server.sockets).toHaveLength(101);
  });
});

describe('connect() while reconnecting', () => {
  it('joins the backoff wait instead of opening a socket beside it', async () => {
    const c = client({ reconnect: { initialDelayMs: 150, maxDelayMs: 150, jitter: 'none' } });
    await c.connect();
    const announced = nextEvent<[ReconnectingInfo]>(c, 'reconnecting');
    const droppedAt = Date.now();
    harness.server.sockets[0]?.close(1012);
    const [{ delayMs }] = await announced;
    await c.connect();
    expect(Date.now() - droppedAt).toBeGreaterThanOrEqual(delayMs - 5);
    expect(harness.server.requests).toHaveLength(2);
    expect(c.state).toBe('open');
  });

  it('joins an attempt in flight, and leaves no socket open after close()', async () => {
    let held: (() => void) | undefined;
    harness.server.onUpgrade = (_request, _socket, accept) => {
      if (harness.server.requests.length === 2) held = accept;
      else accept();
    };
    const c = client();
    await c.connect();
    harness.server.sockets[0]?.close(1012);
    await expect.poll(() => held).toBeDefined();
    const joined = c.connect();
    held?.();
    await joined;
    await c.close();
    const open = () => harness.server.sockets.filter((s) => s.readyState !== s.CLOSED).length;
    await expect.poll(open).toBe(0);
  });
});

/** The `RECONNECT_EXHAUSTED` error the client emits when it gives up. */
function givingUp(c: TaskStatusClient): Promise<TaskStatusError> {
  return new Promise((resolve) =>
    c.on('error', (e) => e.code === 'RECONNECT_EXHAUSTED' && resolve(e)),
  );
}

describe('giving up before the first connection', () => {
  it('stops after maxInitialAttempts when an upgrade is refused opaquely, as a browser sees it', async () => {
    harness.server.onUpgrade = (_request, socket) => socket.destroy();
    const c = client({ reconnect: { initialDelayMs: 1, maxDelayMs: 2, maxInitialAttempts: 3 } });
    const error = await rejection(c.connect());
    expect(error.code).toBe('RECONNECT_EXHAUSTED');
    expect(error.message).toContain('without ever connecting');
    expect(harness.server.requests).toHaveLength(4);
    expect(c.state).toBe('closed');
  });

  it('does not count a socket accepted only by quiet, then closed with no frame, as connected', async () => {
    // A server whose token check outlasts authGraceMs and then closes with 1000, with no frame.
    harness.server.onSocket = (ws) => setTimeout(() => ws.close(1000), 60);
    const c = client({
      authGraceMs: 20,
      reconnect: { initialDelayMs: 1, maxDelayMs: 2, maxInitialAttempts: 3 },
    });
    const exhausted = givingUp(c);
    await c.connect();
    expect((await exhausted).message).toContain('no connection showed a sign of life');
    expect(harness.server.sockets).toHaveLength(4);
    expect(c.state).toBe('closed');
  });

  it('does not count plain text as a sign of life: a slow text refusal cannot loop', async () => {
    // Text at once, then a close long after the grace period and the second that follows it.
    harness.server.onSocket = (ws) => {
      ws.send('Authentication failed');
      setTimeout(() => ws.close(1000), 1_200);
    };
    const c = client({
      authGraceMs: 20,
      reconnect: { initialDelayMs: 1, maxDelayMs: 2, maxInitialAttempts: 1 },
    });
    const exhausted = givingUp(c);
    await c.connect();
    expect((await exhausted).message).toContain('no connection showed a sign of life');
    expect(harness.server.sockets).toHaveLength(2);
  });

  it('counts a quiet socket that lasted stableAfterMs as connected', async () => {
    harness.server.onSocket = (ws) => setTimeout(() => ws.close(1012), 150);
    const c = client({
      authGraceMs: 20,
      reconnect: { initialDelayMs: 1, maxDelayMs: 2, maxInitialAttempts: 1, stableAfterMs: 100 },
    });
    await c.connect();
    const failures: string[] = [];
    c.on('error', (e) => failures.push(e.code));
    harness.server.onUpgrade = (_request, socket) => socket.destroy();
    await expect.poll(() => failures.length).toBeGreaterThanOrEqual(4);
    expect(failures).not.toContain('RECONNECT_EXHAUSTED');
    expect(c.state).toBe('reconnecting');
  });

  it('keeps retrying past maxInitialAttempts once it has been connected', async () => {
    harness.server.onSocket = (ws) => ws.send('{"type":"connected"}');
    const c = client({ reconnect: { initialDelayMs: 1, maxDelayMs: 2, maxInitialAttempts: 1 } });
    await c.connect();
    const failures: string[] = [];
    c.on('error', (e) => failures.push(e.code));
    harness.server.onUpgrade = (_request, socket) => socket.destroy();
    harness.server.sockets[0]?.close(1012);
    await expect.poll(() => failures.length).toBeGreaterThanOrEqual(4);
    expect(failures).not.toContain('RECONNECT_EXHAUSTED');
    expect(c.state).toBe('reconnecting');
  });
});
