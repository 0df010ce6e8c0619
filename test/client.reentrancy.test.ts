import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ResyncFunction, TaskUpdate, WebSocketConstructor } from '../src/index.js';
import { nextEvent, record, rejection } from './helpers/events.js';
import { setupWsHarness } from './helpers/harness.js';
import { watchTimers } from './helpers/timers.js';

const harness = setupWsHarness({
  heartbeat: false,
  authGraceMs: 60_000,
  reconnect: { initialDelayMs: 0, maxDelayMs: 0 },
});

/** A `resync` that records each call and returns no task states. */
function recordingResync(calls: unknown[]): ResyncFunction {
  return (context) => {
    calls.push(context);
    return [];
  };
}

function client(token: string | (() => string)) {
  return harness.client({ token });
}

describe('listeners that act on the client', () => {
  it('stays closed when an error listener calls close() during a drop', async () => {
    harness.server.onSocket = (ws) => ws.send('{"type":"connected"}');
    const c = client('tok');
    await c.connect();
    c.once('error', () => void c.close());
    const reconnecting = record(c, ['reconnecting']);
    const closed = nextEvent(c, 'close');
    harness.server.sockets[0]?.close(1001);
    await closed;
    expect(reconnecting).toEqual([]);
    expect(c.state).toBe('closed');
    expect(harness.server.sockets).toHaveLength(1);
  });

  it('stays closed when an authError listener calls close()', async () => {
    harness.server.onSocket = (ws) => {
      ws.send('{"type":"error","code":"auth_failed"}');
      ws.close(1008);
    };
    let calls = 0;
    const c = client(() => `t${++calls}`);
    c.on('authError', () => void c.close());
    const closes = record(c, ['close']);
    expect((await rejection(c.connect())).code).toBe('CONNECTION_CLOSED');
    expect(calls).toBe(1);
    expect(c.state).toBe('closed');
    // The refused socket's close is still reported, as final.
    expect(closes).toEqual([
      ['close', expect.objectContaining({ code: 1008, willReconnect: false })],
    ]);
  });

  it('is reconnecting, not open, while it re-authenticates after an accepted connection', async () => {
    harness.server.onSocket = (ws, request) => {
      ws.send('{"type":"connected"}');
      if (request.url?.endsWith('token=t1')) {
        setTimeout(() => {
          ws.send('{"type":"error","code":"token_expired"}');
          ws.close(1008);
        }, 5);
      }
    };
    let calls = 0;
    const c = client(() => `t${++calls}`);
    await c.connect();
    await nextEvent(c, 'authError');
    expect(c.state).toBe('reconnecting');
    await nextEvent(c, 'open');
    expect(calls).toBe(2);
  });
});

describe('listeners that close the client while it connects or reconnects', () => {
  /** `ws`, counting the sockets the client creates. */
  function countingWebSocket() {
    const counter = { created: 0, WebSocket: WebSocket as unknown as WebSocketConstructor };
    counter.WebSocket = class extends WebSocket {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        counter.created++;
      }
    } as unknown as WebSocketConstructor;
    return counter;
  }

  it.each(['close', 'abort'])(
    'opens nothing when a state listener calls %s() as it starts connecting',
    async (how) => {
      const timers = watchTimers();
      const sockets = countingWebSocket();
      const controller = new AbortController();
      const c = harness.client({ WebSocket: sockets.WebSocket, signal: controller.signal });
      c.once('state', (state) => {
        if (state !== 'connecting') return;
        if (how === 'close') void c.close();
        else controller.abort();
      });
      const error = await rejection(c.connect());
      expect(error.code).toBe(how === 'close' ? 'CONNECTION_CLOSED' : 'ABORTED');
      expect(sockets.created).toBe(0);
      expect(c.state).toBe('closed');
      expect(timers.live()).toBe(0);
    },
  );

  it('opens nothing when a close listener calls close() during reconnect()', async () => {
    harness.server.onSocket = (ws) => ws.send('{"type":"connected"}');
    const sockets = countingWebSocket();
    const c = harness.client({ WebSocket: sockets.WebSocket });
    await c.connect();
    c.once('close', () => void c.close());
    expect((await rejection(c.reconnect())).code).toBe('CONNECTION_CLOSED');
    expect(sockets.created).toBe(1);
    expect(c.state).toBe('closed');
  });

  it('sends no open and runs no resync when a state listener closes it as it reopens', async () => {
    harness.server.onSocket = (ws) => ws.send('{"type":"connected"}');
    const resyncs: unknown[] = [];
    const c = harness.client({ resync: recordingResync(resyncs) });
    await c.connect();
    const events = record(c, ['open', 'resynced']);
    c.on('state', (state) => state === 'open' && void c.close());
    const closed = new Promise<void>((resolve) =>
      c.on('state', (state) => state === 'closed' && resolve()),
    );
    harness.server.sockets[0]?.terminate();
    await closed;
    expect(events).toEqual([]);
    expect(resyncs).toEqual([]);
    expect(c.state).toBe('closed');
  });

  it('lets a reconnecting listener skip the backoff with reconnect()', async () => {
    harness.server.onSocket = (ws) => ws.send('{"type":"connected"}');
    const c = harness.client({
      reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000, jitter: 'none' },
    });
    await c.connect();
    c.once('reconnecting', () => void c.reconnect());
    const reopened = nextEvent(c, 'open');
    harness.server.sockets[0]?.close(1012);
    await reopened;
    expect(harness.server.sockets).toHaveLength(2);
  });

  it('has connect() from a close listener of a dropped socket wait for the reconnect', async () => {
    harness.server.onSocket = (ws) => ws.send('{"type":"connected"}');
    const c = harness.client();
    await c.connect();
    const again = new Promise<Promise<void>>((resolve) =>
      c.once('close', () => resolve(c.connect())),
    );
    harness.server.sockets[0]?.terminate();
    await await again;
    expect(c.state).toBe('open');
    expect(harness.server.sockets).toHaveLength(2);
  });

  it('starts a new run when a state listener calls connect() as close() ends the last one', async () => {
    harness.server.onSocket = (ws) => ws.send('{"type":"connected"}');
    const timers = watchTimers();
    const c = harness.client();
    await c.connect();
    const again = new Promise<Promise<void>>((resolve) =>
      c.once('state', (state) => state === 'closed' && resolve(c.connect())),
    );
    await c.close();
    await await again;
    expect(c.state).toBe('open');
    expect(harness.server.sockets).toHaveLength(2);
    await c.close();
    expect(c.state).toBe('closed');
    // The server in this process keeps a close timer for a moment after each closing handshake.
    await expect.poll(() => timers.live()).toBe(0);
  });

  it('reports the socket close() ended before a state listener starts a new run', async () => {
    harness.server.onSocket = (ws) => ws.send('{"type":"connected"}');
    const c = harness.client();
    await c.connect();
    const log = record(c, ['state', 'close']);
    const again = new Promise<Promise<void>>((resolve) =>
      c.once('state', (state) => state === 'closed' && resolve(c.connect())),
    );
    await c.close();
    await await again;
    expect(log).toEqual([
      ['close', expect.objectContaining({ reason: 'client closed', willReconnect: false })],
      ['state', 'closed'],
      ['state', 'connecting'],
      ['state', 'open'],
    ]);
  });

  it.each(['close', 'abort'])(
    'is closed at once when a close listener calls %s() as close() ends an open client',
    async (how) => {
      harness.server.onSocket = (ws) => ws.send('{"type":"connected"}');
      const controller = new AbortController();
      const c = harness.client({ signal: controller.signal });
      await c.connect();
      const seen: string[] = [];
      c.once('close', () => {
        if (how === 'close') void c.close();
        else controller.abort();
        seen.push(c.state);
      });
      const connecting = c.connect();
      await c.close();
      expect(seen).toEqual(['closed']);
      await expect(connecting).resolves.toBeUndefined();
      expect(c.state).toBe('closed');
    },
  );
});

describe('option callbacks that close the client', () => {
  it.each(['close', 'abort'])(
    'stays closed when an async token function calls %s() before it awaits',
    async (how) => {
      const timers = watchTimers();
      const controller = new AbortController();
      const signals: AbortSignal[] = [];
      const c = harness.client({
        signal: controller.signal,
        token: async ({ signal }) => {
          signals.push(signal);
          if (how === 'close') void c.close();
          else controller.abort();
          throw new Error('logged out');
        },
      });
      const error = await rejection(c.connect());
      expect(error.code).toBe(how === 'close' ? 'CONNECTION_CLOSED' : 'ABORTED');
      expect(c.state).toBe('closed');
      // No timeout of the token call was left to reopen the client later.
      expect(timers.live()).toBe(0);
      expect(signals.map((signal) => signal.aborted)).toEqual([true]);
      expect(harness.server.sockets).toHaveLength(0);
    },
  );

  it.each([
    // The callback runs before the socket's close is reported: that comes after, as final.
    ['shouldReconnect, on a drop', 'shouldReconnect', 1012, ['state:closed', 'close:false']],
    ['shouldReconnect, on a refusal', 'shouldReconnect', 1008, ['state:closed', 'close:false']],
    // `random` runs once the close has been reported.
    ['random', 'random', 1012, ['close:true', 'error', 'state:closed']],
  ] as const)('stays closed when %s calls close()', async (_, option, code, expected) => {
    let closes = 0;
    /** Closes the client the first time it is called; returns what the callback answers. */
    const closeOnce = <T>(answer: T): T => {
      if (closes++ === 0) void c.close();
      return answer;
    };
    const c = harness.client({
      token: () => 'tok',
      ...(option === 'random'
        ? { random: () => closeOnce(0.5) }
        : { shouldReconnect: () => closeOnce(true) }),
    });
    harness.server.onSocket = (ws) => ws.send('{"type":"connected"}');
    await c.connect();
    const events: string[] = [];
    c.on('state', (state) => events.push(`state:${state}`));
    c.on('close', (info) => events.push(`close:${info.willReconnect}`));
    c.on('authError', () => events.push('authError'));
    c.on('error', () => events.push('error'));
    const closed = new Promise<void>((resolve) => {
      c.on('state', (state) => state === 'closed' && resolve());
    });
    const socket = harness.server.sockets[0];
    if (code === 1008) socket?.send('{"type":"error","code":"token_expired"}');
    socket?.close(code);
    await closed;
    // What follows the callback in the same turn has run by now.
    await Promise.resolve();
    expect(closes).toBe(1);
    expect(events).toEqual(expected);
    expect(c.state).toBe('closed');
  });

  it('stays closed, with no socket left, when its WebSocket class closes it while constructed', async () => {
    harness.server.onSocket = (ws) => ws.send('{"type":"connected"}');
    const sockets: WebSocket[] = [];
    const Closing = class extends WebSocket {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        sockets.push(this);
        void c.close();
      }
    } as unknown as WebSocketConstructor;
    const c = harness.client({ WebSocket: Closing });
    const events = record(c, ['open', 'error']);
    expect((await rejection(c.connect())).code).toBe('CONNECTION_CLOSED');
    expect(c.state).toBe('closed');
    await new Promise((resolve) => sockets[0]?.once('close', resolve));
    expect(events).toEqual([]);
  });
});

describe('close listeners of a final drop', () => {
  it('lets close() win: no error follows it, and a wait sees CONNECTION_CLOSED', async () => {
    harness.server.onSocket = (ws) => ws.send('{"type":"connected"}');
    const c = harness.client({ reconnect: false });
    await c.connect();
    const closed = new Promise<void>((resolve) =>
      c.once('close', () => {
        void c.close();
        resolve();
      }),
    );
    const errors = record(c, ['error']);
    harness.server.sockets[0]?.close(1012);
    await closed;
    await Promise.resolve();
    expect(errors).toEqual([]);
    expect((await rejection(c.waitForTask(1))).code).toBe('CONNECTION_CLOSED');
  });

  it('lets close() and connect() start a new run that opens', async () => {
    harness.server.onSocket = (ws) => ws.send('{"type":"connected"}');
    const c = harness.client({ reconnect: false });
    await c.connect();
    const restarted = new Promise<Promise<void>>((resolve) =>
      c.once('close', () => {
        void c.close();
        resolve(c.connect());
      }),
    );
    harness.server.sockets[0]?.close(1012);
    await await restarted;
    expect(c.state).toBe('open');
    expect(harness.server.sockets).toHaveLength(2);
  });
});

describe('listeners that act on the client, once it is connected', () => {
  it('rejects connect() and sends neither open nor close when a state listener closes it on accept', async () => {
    harness.server.onSocket = (ws) => ws.send('{"type":"connected"}');
    const c = harness.client();
    const events = record(c, ['open', 'close']);
    c.on('state', (state) => state === 'open' && void c.close());
    expect((await rejection(c.connect())).code).toBe('CONNECTION_CLOSED');
    expect(c.state).toBe('closed');
    expect(events).toEqual([]);
  });

  it('runs no resync when an open listener closes it on a reconnect', async () => {
    harness.server.onSocket = (ws) => ws.send('{"type":"connected"}');
    const resyncs: unknown[] = [];
    const c = harness.client({ resync: recordingResync(resyncs) });
    await c.connect();
    const reopened = new Promise<void>((resolve) =>
      c.on('open', () => {
        void c.close();
        resolve();
      }),
    );
    harness.server.sockets[0]?.close(1012);
    await reopened;
    expect(resyncs).toEqual([]);
    expect(c.state).toBe('closed');
  });

  it('drops the update of the frame whose message listener closed the client', async () => {
    harness.server.onSocket = (ws) => ws.send('{"type":"connected"}');
    const c = harness.client();
    await c.connect();
    const events = record(c, ['task']);
    const closed = new Promise<void>((resolve) =>
      c.on('message', (frame) => {
        if (frame.kind !== 'task_update') return;
        void c.close();
        resolve();
      }),
    );
    harness.server.sockets[0]?.send('{"type":"task_update","task_id":7,"status":"running"}');
    await closed;
    expect(events).toEqual([]);
    expect(c.tasks.size).toBe(0);
  });

  it('drops the frame after a held greeting whose message listener closed the client', async () => {
    // Accepted by quiet: a line of text is then held for a second, as a refusal may follow it.
    const c = harness.client({ authGraceMs: 30 });
    await c.connect();
    const events = record(c, ['message', 'task']);
    const closed = new Promise<void>((resolve) =>
      c.on('message', () => {
        void c.close();
        resolve();
      }),
    );
    // The update shows that the token works: the greeting is delivered first, then the update.
    harness.server.sockets[0]?.send('Welcome');
    harness.server.sockets[0]?.send('{"type":"task_update","task_id":7,"status":"running"}');
    await closed;
    expect(events).toEqual([['message', { kind: 'text', text: 'Welcome' }]]);
    expect(c.tasks.size).toBe(0);
  });

  it('drops the update whose taskSchema closed the client', async () => {
    harness.server.onSocket = (ws) => ws.send('{"type":"connected"}');
    let validated!: () => void;
    const checked = new Promise<void>((resolve) => {
      validated = resolve;
    });
    const c = harness.client({
      taskSchema: {
        '~standard': {
          version: 1,
          vendor: 'test',
          validate(value: unknown) {
            void c.close();
            validated();
            return { value: value as TaskUpdate };
          },
        },
      },
    });
    await c.connect();
    const events = record(c, ['task']);
    harness.server.sockets[0]?.send('{"type":"task_update","task_id":7,"status":"running"}');
    await checked;
    expect(events).toEqual([]);
    expect(c.tasks.size).toBe(0);
  });

  it('ends a resync whose task listener closed the client', async () => {
    harness.server.onSocket = (ws) => ws.send('{"type":"connected"}');
    const c = harness.client({
      resync: () => [
        { taskId: 1, status: 'completed' },
        { taskId: 2, status: 'completed' },
      ],
    });
    await c.connect();
    const events = record(c, ['task', 'resynced']);
    const closed = new Promise<void>((resolve) =>
      c.on('task', () => {
        void c.close();
        resolve();
      }),
    );
    harness.server.sockets[0]?.close(1012);
    await closed;
    expect(events.map(([name]) => name)).toEqual(['task']);
    expect(c.getTask(2)).toBeUndefined();
  });

  it.each(['close', 'error'] as const)(
    'lets a %s listener of a dropped socket skip the backoff with reconnect()',
    async (event) => {
      harness.server.onSocket = (ws) => ws.send('{"type":"connected"}');
      const c = harness.client({
        reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000, jitter: 'none' },
      });
      await c.connect();
      c.once(event, () => void c.reconnect());
      const reopened = nextEvent(c, 'open');
      harness.server.sockets[0]?.close(1012);
      await reopened;
      expect(harness.server.sockets).toHaveLength(2);
    },
  );
});
