import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { isTaskStatusError, type TaskUpdate, type WebSocketConstructor } from '../src/index.js';
import { record } from './helpers/events.js';
import { setupWsHarness } from './helpers/harness.js';
import { requestedTokens } from './helpers/ws-server.js';

const harness = setupWsHarness({
  token: 'tok-abc',
  heartbeat: false,
});
const client = harness.client;

describe('connect', () => {
  it('resolves on a connected ack and requests the canonical URL with the token', async () => {
    harness.server.onSocket = (ws) => ws.send(JSON.stringify({ type: 'connected', user_id: 2 }));
    const c = client({ authGraceMs: 60_000 });
    const log = record(c, ['state', 'open']);
    await c.connect();
    expect(c.state).toBe('open');
    expect(harness.server.requests).toEqual(['/api/v1/ws/tasks/2?token=tok-abc']);
    expect(log).toEqual([
      ['state', 'connecting'],
      ['state', 'open'],
      [
        'open',
        {
          url: `ws://127.0.0.1:${harness.server.port}/api/v1/ws/tasks/2?token=***`,
          reconnected: false,
        },
      ],
    ]);
  });

  it('resolves after authGraceMs when the server sends no ack', async () => {
    const c = client({ authGraceMs: 50 });
    const started = Date.now();
    await c.connect();
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(c.state).toBe('open');
  });

  it('counts any valid frame as the verdict and delivers it', async () => {
    harness.server.onSocket = (ws) =>
      ws.send(JSON.stringify({ type: 'task_update', task_id: 7, status: 'running', progress: 5 }));
    const c = client({ authGraceMs: 60_000 });
    const updates: TaskUpdate[] = [];
    c.on('task', (update) => updates.push(update));
    await c.connect();
    await expect
      .poll(() => updates.map((u) => [u.taskId, u.status, u.progress]))
      .toEqual([[7, 'running', 5]]);
  });

  it('returns the same promise to a second connect while connecting', async () => {
    const c = client({ authGraceMs: 20 });
    const first = c.connect();
    expect(c.connect()).toBe(first);
    await first;
    expect(harness.server.sockets).toHaveLength(1);
    await expect(c.connect()).resolves.toBeUndefined();
  });

  it('works on Node without a global WebSocket and with ws passed explicitly', async () => {
    expect(typeof (globalThis as { WebSocket?: unknown }).WebSocket === 'function').toBe(
      Number(process.versions.node.split('.')[0]) >= 22,
    );
    const implicit = client({ authGraceMs: 10 });
    await implicit.connect();
    const explicit = client({ authGraceMs: 10, WebSocket: WebSocket as never });
    await explicit.connect();
    expect(harness.server.sockets).toHaveLength(2);
  });

  it('reads the token function on every attempt, with its reason', async () => {
    const reasons: string[] = [];
    const c = client({
      authGraceMs: 10,
      token: async ({ reason }) => {
        reasons.push(reason);
        return `tok-${reasons.length}`;
      },
    });
    await c.connect();
    await c.reconnect();
    expect(reasons).toEqual(['connect', 'reconnect']);
    expect(requestedTokens(harness.server)).toEqual(['tok-1', 'tok-2']);
  });

  it('can connect again after close', async () => {
    const c = client({ authGraceMs: 10 });
    await c.connect();
    await c.close();
    expect(c.state).toBe('closed');
    await c.connect();
    expect(c.state).toBe('open');
  });

  it('rejects a pending connect with CONNECTION_CLOSED when closed, and is closed at once', async () => {
    const c = client({ authGraceMs: 60_000 });
    const connecting = c.connect();
    const closing = c.close();
    expect(c.state).toBe('closed');
    await expect(connecting).rejects.toSatisfy((e) => isTaskStatusError(e, 'CONNECTION_CLOSED'));
    await closing;
    expect(c.close()).toBe(closing);
  });

  it('is an eventemitter3 emitter with once, off, listenerCount and eventNames', async () => {
    const c = client({ authGraceMs: 10 });
    const seen: string[] = [];
    const onState = (state: string) => seen.push(state);
    c.on('state', onState);
    c.once('open', () => seen.push('open-once'));
    expect(c.listenerCount('state')).toBe(1);
    expect(c.eventNames().sort()).toEqual(['open', 'state']);
    await c.connect();
    c.off('state', onState);
    await c.close();
    expect(seen).toEqual(['connecting', 'open', 'open-once']);
    expect(c.listenerCount('open')).toBe(0);
  });
});

describe('a WebSocket constructor that throws', () => {
  it('fails connect() at once with CONNECTION_ERROR: a retry would throw the same', async () => {
    let constructed = 0;
    class Refusing {
      constructor(url: string) {
        constructed++;
        throw new Error(`An insecure WebSocket connection may not be initiated: ${url}`);
      }
    }
    const c = client({
      WebSocket: Refusing as unknown as WebSocketConstructor,
      reconnect: { initialDelayMs: 1, maxDelayMs: 1 },
    });
    const reconnecting = record(c, ['reconnecting']);
    const error = await c.connect().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isTaskStatusError(error, 'CONNECTION_ERROR')).toBe(true);
    expect((error as Error).message).toMatch(/^Could not create the WebSocket: An insecure/);
    expect((error as Error).message).not.toContain('tok-abc');
    expect(constructed).toBe(1);
    expect(reconnecting).toEqual([]);
    expect(c.state).toBe('closed');
  });

  it('reports a thrown value with no message as CONNECTION_ERROR, not as a crash', async () => {
    class Throwing {
      constructor() {
        throw Object.create(null);
      }
    }
    const c = client({ WebSocket: Throwing as unknown as WebSocketConstructor });
    const error = await c.connect().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isTaskStatusError(error, 'CONNECTION_ERROR')).toBe(true);
    expect((error as Error).message).toBe('Could not create the WebSocket: unknown error');
    expect(c.state).toBe('closed');
  });
});

describe('the connected ack', () => {
  /** Acks with `ackUserId`, then sends one task update. */
  function ackAs(ackUserId: unknown) {
    harness.server.onSocket = (ws) => {
      ws.send(JSON.stringify({ type: 'connected', user_id: ackUserId }));
      ws.send(JSON.stringify({ type: 'task_update', task_id: 1, status: 'running' }));
    };
  }

  it('reports an ack that names another numeric user, and keeps the connection', async () => {
    ackAs(3);
    const c = client({ authGraceMs: 60_000 });
    const errors = record(c, ['error']);
    await c.connect();
    await expect.poll(() => c.getTask(1)?.status).toBe('running');
    expect(c.state).toBe('open');
    expect(errors).toHaveLength(1);
    const [, error] = errors[0] ?? [];
    expect(isTaskStatusError(error, 'PROTOCOL_ERROR')).toBe(true);
    expect((error as Error).message).toMatch(/user 3 .*user 2/);
    expect((error as Error).message).not.toContain('tok-abc');
  });

  it.each([
    ['the same id as a string', 2, '2'],
    ['a numeric id on a username route', 'alice', 17],
    ['a username on a numeric route', 2, 'alice'],
    ['no user id', 2, null],
  ])('accepts %s without a report', async (_name, userId, ackUserId) => {
    ackAs(ackUserId);
    const c = client({ authGraceMs: 60_000, userId });
    const errors = record(c, ['error']);
    await c.connect();
    await expect.poll(() => c.getTask(1)?.status).toBe('running');
    expect(errors).toEqual([]);
  });
});

/** Stands in for undici's argument checks, which Node's own class calls. */
const webidl = { brandCheck(_value: unknown) {} };

describe("on Node with a global WebSocket of Node's own (22+)", () => {
  // Node 20 has none: a class of the same make stands in for it (undici's, in JavaScript).
  const own = (globalThis as { WebSocket?: unknown }).WebSocket;
  beforeEach(() => {
    if (own !== undefined) return;
    globalThis.WebSocket = class WebSocket extends EventTarget {
      constructor() {
        super();
        webidl.brandCheck(this);
        throw new Error("Node's own WebSocket was used");
      }
    } as unknown as typeof globalThis.WebSocket;
  });
  afterEach(() => {
    if (own === undefined) delete (globalThis as { WebSocket?: unknown }).WebSocket;
  });

  it('uses ws by default, which shows the status of a refused upgrade and can drop a dead socket', async () => {
    harness.server.onUpgrade = (_request, socket) => {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    };
    const c = client({ reconnect: false });
    // Node's own WebSocket hides the status (an opaque close 1006, CONNECTION_ERROR).
    await expect(c.connect()).rejects.toMatchObject({ code: 'AUTH_FAILED', httpStatus: 403 });
  });

  it('uses a global that a mock has replaced (msw wraps the class in a Proxy), not ws', () => {
    const seen: string[] = [];
    const original = globalThis.WebSocket;
    globalThis.WebSocket = new Proxy(original, {
      construct(target, args) {
        seen.push(String(args[0]));
        return Reflect.construct(target, args);
      },
    });
    try {
      const c = client({ reconnect: false });
      void c.connect().catch(() => {});
      expect(seen).toHaveLength(1);
      void c.close();
    } finally {
      globalThis.WebSocket = original;
    }
  });

  it("uses a test double of the app's own set as the global, though it extends EventTarget", async () => {
    const urls: string[] = [];
    const original = globalThis.WebSocket;
    globalThis.WebSocket = class WebSocket extends EventTarget {
      readyState = 0;
      binaryType = 'blob';
      constructor(url: string) {
        super();
        urls.push(url);
      }
      send() {}
      close() {}
    } as unknown as typeof globalThis.WebSocket;
    try {
      const c = client({ reconnect: false });
      void c.connect().catch(() => {});
      expect(urls).toEqual([
        `ws://127.0.0.1:${harness.server.port}/api/v1/ws/tasks/2?token=tok-abc`,
      ]);
      await c.close();
    } finally {
      globalThis.WebSocket = original;
    }
  });
});
