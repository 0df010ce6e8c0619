import { getEventListeners } from 'node:events';
import * as fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import {
  type ConnectionState,
  TaskStatusClient,
  type TaskStatusError,
  type TaskUpdate,
} from '../src/index.js';
import { collectUncaught, modelRuns } from './helpers/model-runs.js';
import { type TimerWatch, watchTimers } from './helpers/timers.js';
import { startWsServer, type TestServer } from './helpers/ws-server.js';

/**
 * A model-based test of the client's lifecycle: random interleavings of the user's calls, the
 * server's behaviour and listeners that act on the client, against a real `ws` server. What it
 * checks holds whatever the timing: every run ends by closing the client, and a monitor that
 * listens first to every event checks each one as it comes.
 */

const LEGAL: Record<ConnectionState, readonly ConnectionState[]> = {
  idle: ['connecting', 'closed'],
  connecting: ['open', 'reconnecting', 'closed'],
  open: ['reconnecting', 'closed'],
  reconnecting: ['open', 'closed'],
  closed: ['connecting'],
};

const EVENTS = [
  'state',
  'open',
  'close',
  'reconnecting',
  'authError',
  'error',
  'heartbeat',
  'message',
  'task',
] as const;
type EventName = (typeof EVENTS)[number];

/** Codes a `connect()` may reject with: the client gave up. */
const FINAL = new Set(['AUTH_FAILED', 'RECONNECT_EXHAUSTED', 'ABORTED', 'CONNECTION_CLOSED']);

type ServerMode = 'ack' | 'quiet' | 'refuse-frame' | 'refuse-1008' | 'refuse-4001' | 'down';
type TokenMode = 'ok' | 'async' | 'throw' | 'reject' | 'hang';
type Action = 'close' | 'abort' | 'reconnect' | 'connect';

/** What the commands' preconditions read; the real client is checked by the monitor. */
interface Model {
  aborted: boolean;
  serverMode: ServerMode;
  tokenMode: TokenMode;
}

interface Call {
  readonly label: string;
  readonly stateAtCall: ConnectionState;
  readonly opensAtCall: number;
  readonly closedAtCall: number;
  settled: 'resolved' | 'rejected' | undefined;
}

/** Deadlines of a run: roomy, or short enough that handshakes time out and refusals come late. */
interface Timing {
  readonly connectTimeoutMs: number;
  readonly stableAfterMs: number;
}
const timings = fc.constantFrom<Timing>(
  { connectTimeoutMs: 200, stableAfterMs: 150 },
  { connectTimeoutMs: 40, stableAfterMs: 30 },
);

let server: TestServer;
let timers: TimerWatch;

/** One run: a fresh client on the shared server, and everything the monitor has seen. */
class World {
  readonly violations: string[] = [];
  readonly sockets: WebSocket[] = [];
  readonly calls: Call[] = [];
  readonly controller = new AbortController();
  readonly client: TaskStatusClient;
  serverMode: ServerMode = 'ack';
  pong = true;
  tokenMode: TokenMode = 'ok';
  aborted = false;
  lastState: ConnectionState = 'idle';
  opens = 0;
  closed = 0;
  tokens = 0;
  sent = 0;
  /** Why no event may come now: the client was closed by the user or gave up. */
  quiet: string | undefined;
  /** A final failure moved the client to `closed`: its `error` event is still to come. */
  finalErrorDue = false;
  /** A `close()` from an `authError` listener: the refused socket's close still comes, as final. */
  lateCloseAllowed = false;
  /** Depth of the user's `close()` and `abort()` calls under way. */
  userClosing = 0;
  /** An `authError` with `willRetry: true`: the next attempt must be the `auth-retry`. */
  authRetryDue = false;
  /** What the last `close` event promised: an attempt, or a stop. */
  afterClose: 'attempt' | 'stop' | undefined;
  readonly latest = new Map<number, TaskUpdate>();
  readonly closes: Promise<void>[] = [];
  readonly armed: [EventName, () => void][] = [];

  constructor(timing: Timing) {
    const world = this;
    class RecordingWebSocket extends WebSocket {
      constructor(url: string) {
        const live = world.sockets.filter((s) => s.readyState <= WebSocket.OPEN).length;
        if (live !== 0) world.violate(`a socket opened beside ${live} live one(s)`);
        super(url);
        world.sockets.push(this);
      }
    }
    this.client = new TaskStatusClient({
      baseUrl: server.baseUrl,
      userId: 2,
      token: ({ signal, reason }) => this.#token(signal, reason),
      WebSocket: RecordingWebSocket,
      signal: this.controller.signal,
      connectTimeoutMs: timing.connectTimeoutMs,
      authGraceMs: 30,
      heartbeat: { intervalMs: 50, timeoutMs: 50 },
      reconnect: { initialDelayMs: 5, maxDelayMs: 20, stableAfterMs: timing.stableAfterMs },
    });
    // First listeners of all: they see each event before a listener that acts on the client.
    for (const event of EVENTS) {
      this.client.on(event, (...args: unknown[]) => this.#observe(event, args));
    }
  }

  violate(what: string): void {
    this.violations.push(`${what} [state ${this.client.state}]`);
  }

  #token(signal: AbortSignal, reason: string): string | Promise<string> {
    this.tokens++;
    if (this.authRetryDue && reason !== 'auth-retry' && this.userClosing === 0) {
      this.violate(`authError{willRetry:true}, then an attempt for '${reason}'`);
    }
    this.authRetryDue = false;
    if (this.quiet !== undefined) this.violate(`token function called after ${this.quiet}`);
    if (this.afterClose === 'stop') this.violate('an attempt after close{willReconnect:false}');
    this.afterClose = undefined;
    switch (this.tokenMode) {
      case 'ok':
        return `tok${this.tokens}`;
      case 'async':
        return Promise.resolve(`tok${this.tokens}`);
      case 'throw':
        throw new Error('token service down');
      case 'reject':
        return Promise.reject(new Error('token service down'));
      case 'hang':
        // Outlasts connectTimeoutMs; settles only when the client aborts the call.
        return new Promise((_resolve, reject) =>
          signal.addEventListener('abort', () => reject(new Error('aborted'))),
        );
    }
  }

  #observe(event: EventName, args: unknown[]): void {
    if (this.quiet !== undefined) {
      const info = args[0] as { willReconnect?: boolean };
      if (event === 'close' && this.lateCloseAllowed && info.willReconnect === false) {
        this.lateCloseAllowed = false;
      } else this.violate(`'${event}' event after ${this.quiet}`);
    }
    if (this.finalErrorDue && event !== 'state') {
      this.finalErrorDue = false;
      if (event !== 'error') this.violate(`'${event}' before the final error`);
      else if (this.client.state !== 'closed') this.violate('a final error on an unclosed client');
      else this.quiet = 'a final failure';
    }
    switch (event) {
      case 'state':
        this.#onState(args[0] as ConnectionState, args[1] as ConnectionState);
        return;
      case 'open':
        this.opens++;
        if (this.client.state !== 'open') this.violate("'open' while not open");
        return;
      case 'close': {
        const { willReconnect } = args[0] as { willReconnect: boolean };
        if (willReconnect) this.afterClose = 'attempt';
        else if (this.client.state !== 'closed') this.afterClose = 'stop';
        return;
      }
      case 'task':
        this.#onTask(args[0] as TaskUpdate);
        return;
      case 'reconnecting':
        if (this.client.state !== 'reconnecting') this.violate("'reconnecting' while not so");
        return;
      case 'heartbeat':
      case 'message':
        if (this.client.state !== 'open') this.violate(`'${event}' while not open`);
        return;
      case 'authError':
        if ((args[0] as { willRetry: boolean }).willRetry) this.authRetryDue = true;
        return;
      default:
        return;
    }
  }

  #onState(next: ConnectionState, previous: ConnectionState): void {
    if (previous !== this.lastState)
      this.violate(`state event from ${previous}, last ${this.lastState}`);
    if (!LEGAL[previous].includes(next)) this.violate(`illegal transition ${previous} → ${next}`);
    if (this.client.state !== next) this.violate(`state event ${next}, client.state differs`);
    this.lastState = next;
    if (next === 'closed') {
      this.closed++;
      if (this.userClosing === 0) {
        if (this.afterClose === 'attempt') {
          this.violate('closed by itself after close{willReconnect:true}, with no attempt');
        }
        this.finalErrorDue = true;
      }
      this.afterClose = undefined;
    } else if (this.afterClose === 'stop') {
      this.violate(`went ${next} after close{willReconnect:false}`);
    }
  }

  #onTask(update: TaskUpdate): void {
    const id = Number(update.taskId);
    const held = this.latest.get(id);
    if (held !== undefined && String(held.updatedAt) >= String(update.updatedAt)) {
      this.violate(`task ${id}: an old update emitted again`);
    }
    this.latest.set(id, update);
  }

  /** `connect()` or `reconnect()`, from a command or a listener; its promise is watched. */
  start(kind: 'connect' | 'reconnect', where: string): void {
    if (!this.aborted) {
      this.quiet = undefined;
      this.finalErrorDue = false;
      this.lateCloseAllowed = false;
      this.afterClose = undefined;
    }
    this.authRetryDue = false;
    const call: Call = {
      label: `${kind}() ${where}`,
      stateAtCall: this.client.state,
      opensAtCall: this.opens,
      closedAtCall: this.closed,
      settled: undefined,
    };
    this.calls.push(call);
    const promise = kind === 'connect' ? this.client.connect() : this.client.reconnect();
    promise.then(
      () => {
        call.settled = 'resolved';
        if (this.opens === call.opensAtCall && call.stateAtCall !== 'open') {
          this.violate(`${call.label} resolved with no 'open'`);
        }
      },
      (error: TaskStatusError) => {
        call.settled = 'rejected';
        if (!FINAL.has(error.code)) this.violate(`${call.label} rejected with ${error.code}`);
        if (this.closed === call.closedAtCall && call.stateAtCall !== 'closed') {
          this.violate(`${call.label} rejected (${error.code}) while the client never closed`);
        }
      },
    );
  }

  /** `close()` or an abort, from a command or a listener. */
  stop(how: 'close' | 'abort', where: string): boolean {
    // Aborting a signal a second time does nothing, in the middle of the first abort too.
    if (how === 'abort' && this.controller.signal.aborted) return false;
    const wasClosed = this.client.state === 'closed';
    const calls = this.calls.length;
    this.userClosing++;
    try {
      if (how === 'close') this.closes.push(this.client.close());
      else {
        this.aborted = true;
        this.controller.abort();
      }
    } finally {
      this.userClosing--;
    }
    // A `state` listener that calls `connect()` as the client closes starts a new run.
    if (this.calls.length !== calls && !this.aborted) return false;
    if (this.client.state !== 'closed') this.violate(`${how}() ${where} left the client open`);
    if (!wasClosed) {
      this.quiet = `${how}() ${where}`;
      this.finalErrorDue = false;
      this.lateCloseAllowed = where === "in 'authError'";
    }
    this.afterClose = undefined;
    return true;
  }

  /** Removes the listeners that act on the client, so that the end of a run is final. */
  disarm(): void {
    for (const [event, listener] of this.armed) this.client.off(event, listener);
    this.armed.length = 0;
  }

  /** Once, on the next `event`, the listener calls `action`. */
  arm(event: EventName, action: Action): void {
    const listener = () => {
      const where = `in '${event}'`;
      if (action === 'close' || action === 'abort') this.stop(action, where);
      else this.start(action, where);
    };
    this.armed.push([event, listener]);
    this.client.once(event, listener);
  }

  /** The server socket the client talks to now, if one is open. */
  serverSocket(): WebSocket | undefined {
    const socket = server.sockets.at(-1);
    return socket?.readyState === WebSocket.OPEN ? socket : undefined;
  }

  checkTasks(): void {
    for (const [id, update] of this.latest) {
      if (this.client.getTask(id) !== update) this.violate(`task ${id} lost from client.tasks`);
    }
  }

  /** After `close()` or an abort: nothing left running, every promise settled. */
  async checkStopped(): Promise<void> {
    expect(this.client.state).toBe('closed');
    await vi.waitFor(
      async () => {
        await Promise.all(this.closes);
      },
      { timeout: 3_000 },
    );
    await vi.waitFor(
      () => {
        const open = this.calls.filter((c) => c.settled === undefined).map((c) => c.label);
        expect(open, 'connect() promises left pending').toEqual([]);
      },
      { timeout: 1_000, interval: 5 },
    );
    expect(getEventListeners(this.controller.signal, 'abort')).toHaveLength(0);
    await vi.waitFor(
      () => {
        for (const socket of this.sockets) {
          expect(socket.listenerCount('message')).toBe(0);
          expect(socket.listenerCount('open')).toBe(0);
        }
        expect(timers.live(), 'timers left').toBe(0);
      },
      { timeout: 3_000, interval: 10 },
    );
  }
}

let world: World;

function cmd(label: string, run: (m: Model) => Promise<void> | void, check = (_m: Model) => true) {
  return {
    check,
    async run(m: Model) {
      await run(m);
      world.checkTasks();
      expect(world.violations).toEqual([]);
    },
    toString: () => label,
  };
}

const connectCommand = fc.constant(cmd('connect()', () => world.start('connect', 'by the user')));
const reconnectCommand = fc.constant(
  cmd('reconnect()', () => world.start('reconnect', 'by the user')),
);
const closeCommand = fc.constant(
  cmd('close()', async () => {
    if (world.stop('close', 'by the user')) await world.checkStopped();
  }),
);
const abortCommand = fc.constant(
  cmd(
    'abort()',
    async (m) => {
      m.aborted = true;
      if (world.stop('abort', 'by the user')) await world.checkStopped();
    },
    (m) => !m.aborted,
  ),
);
const serverModeCommand = fc
  .constantFrom<ServerMode>('ack', 'quiet', 'refuse-frame', 'refuse-1008', 'refuse-4001', 'down')
  .map((mode) =>
    cmd(`server: ${mode}`, (m) => {
      m.serverMode = mode;
      world.serverMode = mode;
    }),
  );
const pongCommand = fc.boolean().map((on) =>
  cmd(`server answers pings: ${on}`, () => {
    world.pong = on;
  }),
);
const tokenCommand = fc
  .constantFrom<TokenMode>('ok', 'async', 'throw', 'reject', 'hang')
  .map((mode) =>
    cmd(`token: ${mode}`, (m) => {
      m.tokenMode = mode;
      world.tokenMode = mode;
    }),
  );
const sendCommand = fc.integer({ min: 1, max: 3 }).map((taskId) =>
  cmd(`server sends an update of task ${taskId}`, () => {
    world.sent++;
    const at = new Date(Date.UTC(2024, 0, 1, 0, 0, world.sent)).toISOString();
    world
      .serverSocket()
      ?.send(
        JSON.stringify({ type: 'task_update', task_id: taskId, status: 'running', updated_at: at }),
      );
  }),
);
const ackCommand = fc
  .constantFrom('{"type":"connected","user_id":2}', 'Welcome', '{"detail":"x"}')
  .map((frame) => cmd(`server sends ${frame}`, () => world.serverSocket()?.send(frame)));
const dropCommand = fc.constant(
  cmd('server drops the socket', () => world.serverSocket()?.terminate()),
);
const serverCloseCommand = fc
  .constantFrom(1000, 1001, 1011, 1012, 1013, 1008, 4001)
  .map((code) => cmd(`server closes with ${code}`, () => world.serverSocket()?.close(code)));
const lateRefusalCommand = fc.constant(
  cmd('server refuses the token now', () => {
    const socket = world.serverSocket();
    socket?.send('{"type":"error","code":"token_expired","message":"Token has expired"}');
    socket?.close(1000);
  }),
);
const armCommand = fc
  .record({
    event: fc.constantFrom<EventName>(...EVENTS),
    action: fc.constantFrom<Action>('close', 'reconnect', 'connect', 'close', 'reconnect', 'abort'),
  })
  .map(({ event, action }) =>
    cmd(`a listener of '${event}' calls ${action}()`, () => world.arm(event, action)),
  );
const tickCommand = fc.integer({ min: 1, max: 4 }).map((turns) =>
  cmd(`${turns} event-loop turn(s)`, async () => {
    for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
  }),
);
// Lets the client's own timers (grace, heartbeat, backoff) fire meanwhile; nothing waits on it.
const pauseCommand = fc
  .integer({ min: 5, max: 80 })
  .map((ms) => cmd(`${ms} ms pass`, () => new Promise<void>((resolve) => setTimeout(resolve, ms))));
const settleCommand = fc.constant(
  cmd(
    'the client settles',
    async () => {
      const opens = world.opens;
      const closed = world.closed;
      // With a server that lets it in and a working token function, it gets in or gives up.
      await vi.waitFor(
        () => {
          const { state } = world.client;
          const settled =
            state === 'idle' ||
            state === 'open' ||
            state === 'closed' ||
            world.opens > opens ||
            world.closed > closed;
          expect(settled, `stuck ${state}`).toBe(true);
        },
        { timeout: 3_000, interval: 5 },
      );
      if (world.client.state === 'open' || world.client.state === 'closed') {
        await vi.waitFor(() => {
          const { state } = world.client;
          if (state !== 'open' && state !== 'closed') return;
          expect(world.calls.filter((c) => c.settled === undefined)).toEqual([]);
        });
      }
    },
    (m) =>
      !m.aborted && m.serverMode !== 'down' && (m.tokenMode === 'ok' || m.tokenMode === 'async'),
  ),
);

const commands = fc.commands(
  [
    connectCommand,
    connectCommand,
    reconnectCommand,
    closeCommand,
    abortCommand,
    serverModeCommand,
    pongCommand,
    tokenCommand,
    sendCommand,
    sendCommand,
    ackCommand,
    dropCommand,
    serverCloseCommand,
    lateRefusalCommand,
    armCommand,
    armCommand,
    tickCommand,
    pauseCommand,
    pauseCommand,
    settleCommand,
    settleCommand,
  ],
  { maxCommands: 40, size: '+1' },
);

beforeAll(async () => {
  server = await startWsServer((ws) => {
    ws.on('message', (data) => {
      if (world.pong && String(data) === '{"type":"ping"}') ws.send('{"type":"pong"}');
    });
    switch (world.serverMode) {
      case 'ack':
        ws.send('{"type":"connected","user_id":2}');
        return;
      case 'refuse-frame':
        ws.send('{"type":"error","code":"auth_failed","message":"Invalid token"}');
        ws.close(1000);
        return;
      case 'refuse-1008':
        ws.close(1008, 'Invalid token');
        return;
      case 'refuse-4001':
        ws.close(4001, 'Token expired');
        return;
      default:
        return;
    }
  });
  server.onUpgrade = (_request, socket, accept) => {
    if (world.serverMode === 'down') socket.destroy();
    else accept();
  };
});

afterAll(async () => {
  await server.close();
});

describe('the client under random interleavings', () => {
  it('keeps its lifecycle invariants whatever the user, the server and listeners do', async () => {
    timers = watchTimers();
    await collectUncaught(async (uncaught) => {
      await fc.assert(
        fc.asyncProperty(commands, timings, async (cmds, timing) => {
          world = new World(timing);
          try {
            // Most of what is worth testing happens to a client that has been started.
            world.start('connect', 'at the start');
            await fc.asyncModelRun(
              () => ({
                model: { aborted: false, serverMode: 'ack', tokenMode: 'ok' } satisfies Model,
                real: {},
              }),
              cmds,
            );
            world.disarm();
            world.stop('close', 'at the end');
            await world.checkStopped();
            world.checkTasks();
            expect(world.violations).toEqual([]);
            expect(uncaught).toEqual([]);
          } finally {
            if (world.client.state !== 'closed') await world.client.close();
            server.dropAll();
          }
        }),
        { ...modelRuns(40), endOnFailure: false },
      );
    });
  }, 120_000);
});
