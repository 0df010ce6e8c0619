import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import {
  type HeartbeatInfo,
  type OpenInfo,
  type ReconnectingInfo,
  TaskStatusClient,
  type TaskStatusClientOptions,
  type TaskStatusError,
} from '../src/index.js';
import { nextEvent } from './helpers/events.js';
import { startWsServer, type TestServer } from './helpers/ws-server.js';

// A browser's `online`/`offline` signals, simulated in Node: `navigator.onLine`, the window's
// `ononline` handler slot and the global event target are stubbed (a real EventTarget), and the
// add/remove calls are tracked.

type Listener = Parameters<EventTarget['addEventListener']>[1];

const REQUEST = '/api/v1/ws/tasks/2?token=tok';
let server: TestServer;
let network: { onLine: boolean };
/** `online` listeners registered on the global and not yet removed. */
let onlineListeners: Set<Listener>;
let onlineAdds: number;
/** `offline` listeners registered on the global and not yet removed. */
let offlineListeners: Set<Listener>;
const clients: TaskStatusClient[] = [];

beforeEach(async () => {
  server = await startWsServer((ws) => ws.send('{"type":"connected"}'));
  const target = new EventTarget();
  const add = target.addEventListener.bind(target);
  const remove = target.removeEventListener.bind(target);
  onlineListeners = new Set();
  onlineAdds = 0;
  offlineListeners = new Set();
  vi.stubGlobal('addEventListener', (...args: Parameters<EventTarget['addEventListener']>) => {
    if (args[0] === 'online') {
      onlineAdds += 1;
      onlineListeners.add(args[1]);
    }
    if (args[0] === 'offline') offlineListeners.add(args[1]);
    add(...args);
  });
  vi.stubGlobal(
    'removeEventListener',
    (...args: Parameters<EventTarget['removeEventListener']>) => {
      if (args[0] === 'online') onlineListeners.delete(args[1]);
      if (args[0] === 'offline') offlineListeners.delete(args[1]);
      remove(...args);
    },
  );
  vi.stubGlobal('dispatchEvent', target.dispatchEvent.bind(target));
  vi.stubGlobal('ononline', null);
  network = { onLine: true };
  vi.stubGlobal('navigator', network);
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  vi.unstubAllGlobals();
  await server.close();
});

function client(options: Partial<TaskStatusClientOptions> = {}) {
  const created = new TaskStatusClient({
    baseUrl: server.baseUrl,
    userId: 2,
    token: 'tok',
    heartbeat: false,
    authGraceMs: 60_000,
    ...options,
  });
  clients.push(created);
  return created;
}

/** Connects, goes offline, drops the link from the server side and waits for `reconnecting`. */
async function dropWhileOffline(c: TaskStatusClient): Promise<ReconnectingInfo> {
  await c.connect();
  network.onLine = false;
  const reconnecting = nextEvent<[ReconnectingInfo]>(c, 'reconnecting');
  server.sockets[0]?.terminate();
  const [info] = await reconnecting;
  return info;
}

/**
 * Resolves once anything the client could have started by now has reached the server: one
 * macrotask turn, which runs after any 0 ms retry timer armed before it, then a full upgrade of
 * a probe socket to the same loopback server.
 */
async function serverCaughtUp(): Promise<void> {
  await new Promise<void>((resolve) => setTimeout(resolve, 0));
  const probe = new WebSocket(`ws://127.0.0.1:${server.port}/probe`);
  await new Promise<void>((resolve, reject) => {
    probe.once('open', () => resolve());
    probe.once('error', reject);
  });
  probe.terminate();
}

function goOnline(): void {
  network.onLine = true;
  globalThis.dispatchEvent(new Event('online'));
}

/** An offline client that lost its link: no attempt while offline, one at once on `online`. */
async function waitsForOnline(c: TaskStatusClient): Promise<void> {
  await serverCaughtUp();
  expect(server.requests).toEqual([REQUEST, '/probe']);
  expect(c.state).toBe('reconnecting');
  const reopened = nextEvent<[OpenInfo]>(c, 'open');
  goOnline();
  expect((await reopened)[0].reconnected).toBe(true);
  expect(server.requests).toEqual([REQUEST, '/probe', REQUEST]);
}

describe('offline and online (browser signals)', () => {
  it('makes no attempt while offline, however short the backoff', async () => {
    const c = client({ reconnect: { initialDelayMs: 0, maxDelayMs: 0 } });
    const info = await dropWhileOffline(c);
    expect(info.delayMs).toBe(0);
    expect(onlineListeners.size).toBe(1);
    await waitsForOnline(c);
  });

  it('stops a backoff wait under way when the network goes, and tries once it is back', async () => {
    const c = client({ reconnect: { initialDelayMs: 0, maxDelayMs: 0 } });
    await c.connect();
    const reconnecting = nextEvent<[ReconnectingInfo]>(c, 'reconnecting');
    // Goes offline within the event, while the 0 ms timer of the wait is still to run.
    c.once('reconnecting', () => {
      network.onLine = false;
      globalThis.dispatchEvent(new Event('offline'));
    });
    server.sockets[0]?.terminate();
    expect((await reconnecting)[0].offline).toBe(false);
    await waitsForOnline(c);
    expect(onlineListeners.size + offlineListeners.size).toBe(0);
  });

  it('keeps the timer of a wait on an offline event that navigator.onLine does not back', async () => {
    const c = client({ reconnect: { initialDelayMs: 0, maxDelayMs: 0 } });
    await c.connect();
    c.once('reconnecting', () => globalThis.dispatchEvent(new Event('offline')));
    const reopened = nextEvent<[OpenInfo]>(c, 'open');
    server.sockets[0]?.terminate();
    // No `online` event comes: the timer alone brings the client back.
    expect((await reopened)[0].reconnected).toBe(true);
    expect(server.requests).toEqual([REQUEST, REQUEST]);
  });

  it('reconnects at once on the online event, even with a 60 s backoff', async () => {
    const c = client({ reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000, jitter: 'none' } });
    const info = await dropWhileOffline(c);
    expect(info).toMatchObject({ delayMs: 60_000, offline: true });
    await new Promise<void>((resolve) => setImmediate(resolve)); // drains the microtask queue
    expect(server.requests).toEqual([REQUEST]);
    const reopened = nextEvent<[OpenInfo]>(c, 'open');
    const onlineAt = Date.now();
    goOnline();
    await reopened;
    expect(Date.now() - onlineAt).toBeLessThan(5_000);
    expect(server.requests).toEqual([REQUEST, REQUEST]);
    expect(c.state).toBe('open');
  });

  it('cuts a backoff wait short on the online event while online', async () => {
    const c = client({ reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000, jitter: 'none' } });
    await c.connect();
    const reconnecting = nextEvent<[ReconnectingInfo]>(c, 'reconnecting');
    server.sockets[0]?.terminate();
    expect((await reconnecting)[0]).toMatchObject({ delayMs: 60_000, offline: false });
    const reopened = nextEvent(c, 'open');
    globalThis.dispatchEvent(new Event('online'));
    await reopened;
    expect(server.requests).toEqual([REQUEST, REQUEST]);
  });

  it('removes its online listener once the online event brought it back', async () => {
    const c = client({ reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000 } });
    await dropWhileOffline(c);
    expect(onlineListeners.size).toBe(1);
    const reopened = nextEvent(c, 'open');
    goOnline();
    expect(onlineListeners.size).toBe(0);
    await reopened;
    expect(onlineListeners.size).toBe(0);
    expect(onlineAdds).toBe(1);
  });

  it('removes its online listener once the backoff timer brought it back', async () => {
    const c = client({ reconnect: { initialDelayMs: 0, maxDelayMs: 0 } });
    await c.connect();
    const reopened = nextEvent(c, 'open');
    server.sockets[0]?.terminate();
    await reopened;
    expect(onlineAdds).toBe(1);
    expect(onlineListeners.size).toBe(0);
  });

  it('removes its online listener on close() while waiting offline, and stays closed', async () => {
    const c = client({ reconnect: { initialDelayMs: 0, maxDelayMs: 0 } });
    await dropWhileOffline(c);
    expect(onlineListeners.size).toBe(1);
    await c.close();
    expect(onlineListeners.size).toBe(0);
    goOnline();
    await serverCaughtUp();
    expect(c.state).toBe('closed');
    expect(server.requests).toEqual([REQUEST, '/probe']);
  });

  it('lets reconnect() force an attempt while offline, dropping the online listener', async () => {
    const c = client({ reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000 } });
    await dropWhileOffline(c);
    await c.reconnect();
    expect(c.state).toBe('open');
    expect(onlineListeners.size).toBe(0);
    expect(server.requests).toEqual([REQUEST, REQUEST]);
  });
});

describe('the online event on an open connection', () => {
  /** Each frame a client sent, and whether the server answers pings. */
  let received: string[];
  let answering: boolean;

  beforeEach(() => {
    received = [];
    answering = true;
    server.onSocket = (ws) => {
      ws.send('{"type":"connected"}');
      ws.on('message', (data) => {
        received.push(String(data));
        if (answering) ws.send('{"type":"pong"}');
      });
    };
  });

  // A minute between pings: any ping in these tests is one the online event sent.
  const heartbeat = { intervalMs: 60_000, timeoutMs: 200 };

  // Browsers fire `offline` for changes that leave the link up too: a live link just answers.
  it.each(['online', 'offline'])(
    'sends a ping at once on the %s event, and reports its round trip',
    async (event) => {
      const c = client({ heartbeat });
      await c.connect();
      const beat = nextEvent<[HeartbeatInfo]>(c, 'heartbeat');
      globalThis.dispatchEvent(new Event(event));
      expect((await beat)[0].rttMs).toBeGreaterThanOrEqual(0);
      expect(received).toEqual(['{"type":"ping"}']);
      expect(c.state).toBe('open');
    },
  );

  it('finds a link that died while the network was away, and reconnects', async () => {
    const c = client({ heartbeat, reconnect: { initialDelayMs: 0, maxDelayMs: 0 } });
    await c.connect();
    answering = false;
    const errors: TaskStatusError[] = [];
    c.on('error', (error) => errors.push(error));
    const reconnecting = nextEvent<[ReconnectingInfo]>(c, 'reconnecting');
    goOnline();
    expect((await reconnecting)[0].reason.code).toBe('HEARTBEAT_TIMEOUT');
    expect(errors.map((error) => error.code)).toEqual(['HEARTBEAT_TIMEOUT']);
    expect(received).toEqual(['{"type":"ping"}']);
  });

  it('sends no second ping while one waits for its answer', async () => {
    const c = client({ heartbeat: { intervalMs: 60_000, timeoutMs: 60_000 } });
    await c.connect();
    answering = false;
    goOnline();
    goOnline();
    await vi.waitFor(() => expect(received).toHaveLength(1));
    await serverCaughtUp();
    expect(received).toEqual(['{"type":"ping"}']);
  });

  it('finds a link that died as the network went, and retries only once it is back', async () => {
    const c = client({ heartbeat, reconnect: { initialDelayMs: 0, maxDelayMs: 0 } });
    await c.connect();
    answering = false;
    const reconnecting = nextEvent<[ReconnectingInfo]>(c, 'reconnecting');
    network.onLine = false;
    globalThis.dispatchEvent(new Event('offline'));
    const [info] = await reconnecting;
    expect(info).toMatchObject({ offline: true, reason: { code: 'HEARTBEAT_TIMEOUT' } });
    await waitsForOnline(c);
  });

  it('listens only while a connection is open, and not at all without heartbeats', async () => {
    const c = client({ heartbeat });
    await c.connect();
    expect(onlineListeners.size).toBe(1);
    expect(offlineListeners.size).toBe(1);
    await c.close();
    expect(onlineListeners.size).toBe(0);
    expect(offlineListeners.size).toBe(0);

    const quiet = client({ heartbeat: false });
    await quiet.connect();
    expect(onlineListeners.size).toBe(0);
    expect(offlineListeners.size).toBe(0);
    expect(onlineAdds).toBe(1);
  });
});
