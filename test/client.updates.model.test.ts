import { getEventListeners } from 'node:events';
import * as fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  isTaskStatusError,
  type OverflowMode,
  TaskStatusClient,
  type TaskUpdate,
  type TaskUpdateIterator,
} from '../src/index.js';
import { at } from './helpers/frames.js';
import { collectUncaught, modelRuns } from './helpers/model-runs.js';
import { type TimerWatch, watchTimers } from './helpers/timers.js';
import { startWsServer, type TestServer } from './helpers/ws-server.js';

/**
 * A model-based test of the update consumers: random interleavings of the server's updates
 * (new, repeated, stale, without a time), drops and reconnects with a `resync` that returns,
 * throws or hangs, and the user's iterators, watches, waits, signals, `close()` and `connect()`,
 * against a real `ws` server. A model of the table and of each consumer, kept from what the
 * server sent and the user did, says what every consumer must have received at each quiet point.
 * The server sends one frame at a time and waits for the client to see it, so that each frame is
 * one batch for the consumers (a resync's items are one batch too); a wait's timeout is checked
 * only against what came before it fired. Fatal errors and `maxTasks` are left to other files.
 */

type TaskId = number | string;
const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

/** An update as the model knows it; `message` is a label unique to each frame or resync item. */
interface Expected {
  readonly taskId: TaskId;
  readonly status: string;
  readonly progress: number | null;
  readonly message: string;
  readonly updatedAt: string | null;
}

type Time = 'next' | 'same' | 'older' | 'none';
interface FrameSpec {
  readonly taskId: TaskId;
  readonly status: string;
  readonly progress: number | null;
  readonly time: Time;
}
type ResyncMode = 'return' | 'return-async' | 'throw' | 'hang' | 'hang-forever';
interface ResyncSpec {
  readonly mode: ResyncMode;
  readonly items: readonly (FrameSpec | { readonly copyOf: TaskId })[];
}

/** A signal shared by any number of consumers and waits; replaced once aborted. */
interface Shared {
  readonly controller: AbortController;
  readonly reason: Error;
}

/** What a consumer's `next()`, `return()` or `throw()` gave: `v:<label>`, `done`, `err:<code>`. */
type Outcome = string;

let server: TestServer;
let timers: TimerWatch;
let world: World;

function describeError(error: unknown, reason?: Error): string {
  if (isTaskStatusError(error)) {
    if (error.code === 'ABORTED' && error.cause !== reason) return 'err:ABORTED(wrong cause)';
    return `err:${error.code}`;
  }
  const e = error as Error;
  if (e.name === 'AbortError') {
    return e.cause === reason || e === reason ? 'err:AbortError' : 'err:AbortError(wrong cause)';
  }
  return `err:${e.message}`;
}

/** Stale by the documented rule: older by `updatedAt` when both have one, or an exact copy. */
function isStale(held: Expected, next: Expected): boolean {
  if (held.updatedAt !== null && next.updatedAt !== null && held.updatedAt !== next.updatedAt) {
    return next.updatedAt < held.updatedAt;
  }
  if (held.updatedAt !== next.updatedAt) return false;
  return (
    held.status === next.status && held.progress === next.progress && held.message === next.message
  );
}

/** An iterator from `updates()`, `watchTask()` or the client, read by hand or by a loop. */
class Consumer {
  readonly iterator: TaskUpdateIterator;
  // The model: what the iterator holds and owes.
  buffer: Expected[] = [];
  /** Slots of `next()` calls still pending, oldest first. */
  pending: number[] = [];
  /** `live`, an end still to deliver (`done` or `err:…`), or `finished`. */
  end: 'live' | 'finished' | Outcome = 'live';
  dropped = 0;
  readonly expected: (Outcome | undefined)[] = [];
  // The real side.
  readonly outcomes: (Outcome | undefined)[] = [];

  constructor(
    readonly label: string,
    make: () => TaskUpdateIterator,
    readonly filter: ReadonlySet<string> | undefined,
    readonly watch: boolean,
    readonly bufferSize: number,
    readonly overflow: OverflowMode,
    readonly shared: Shared | undefined,
    /** A `for await` loop that stops after this many updates (`Infinity`: never), and how. */
    readonly loop: { readonly stopAt: number; readonly how: 'break' | 'throw' | 'return' } | null,
    held: Expected | undefined,
    ended: boolean,
  ) {
    if (held !== undefined) this.buffer.push(held);
    if (watch && held !== undefined && TERMINAL.has(held.status)) ended = true;
    if (ended) this.end = 'done';
    this.iterator = make();
    if (loop === null) return;
    void this.#runLoop(loop.stopAt, loop.how);
    this.drain();
  }

  get listening(): boolean {
    return this.end === 'live';
  }

  async #runLoop(stopAt: number, how: 'break' | 'throw' | 'return'): Promise<void> {
    let count = 0;
    try {
      for await (const update of this.iterator) {
        this.outcomes.push(`v:${update.message}`);
        if (++count !== stopAt) continue;
        if (how === 'break') break;
        if (how === 'throw') throw new Error('stop');
        await this.iterator.return();
      }
      this.outcomes.push('done');
    } catch (error) {
      this.outcomes.push(describeError(error, this.shared?.reason));
    }
  }

  /** The model of an update the client emitted. */
  deliver(update: Expected): void {
    if (this.end !== 'live') return;
    if (this.filter !== undefined && !this.filter.has(String(update.taskId))) return;
    const slot = this.pending.shift();
    if (slot !== undefined) {
      this.expected[slot] = `v:${update.message}`;
    } else if (this.buffer.length >= this.bufferSize) {
      if (this.overflow === 'error') {
        this.end = 'err:BUFFER_OVERFLOW';
        return;
      }
      this.buffer.shift();
      this.dropped++;
      this.buffer.push(update);
    } else {
      this.buffer.push(update);
    }
    if (this.watch && TERMINAL.has(update.status)) this.stop('done');
  }

  /** The model of an end (close, abort, terminal update, overflow): owed `next()`s get it. */
  stop(end: Outcome): void {
    if (this.end !== 'live') return;
    const slots = this.pending.splice(0);
    if (slots.length === 0) {
      this.end = end;
      return;
    }
    for (const [index, slot] of slots.entries()) {
      this.expected[slot] = index === 0 ? end : 'done';
    }
    this.end = 'finished';
  }

  abort(): void {
    if (this.end !== 'live') return;
    this.buffer = [];
    this.stop('err:AbortError');
  }

  /** The model of one `next()` into `slot`. */
  #next(slot: number): void {
    const update = this.buffer.shift();
    if (update !== undefined) this.expected[slot] = `v:${update.message}`;
    else if (this.end === 'live') this.pending.push(slot);
    else if (this.end === 'finished') this.expected[slot] = 'done';
    else {
      this.expected[slot] = this.end;
      this.end = 'finished';
    }
  }

  /** A loop reads on until it waits, stops or ends (what its microtasks do after a batch). */
  drain(): void {
    const loop = this.loop;
    if (loop === null) return;
    for (;;) {
      if (this.pending.length > 0) return;
      const last = this.expected.at(-1);
      if (last !== undefined && !last.startsWith('v:')) return;
      const values = this.expected.filter((outcome) => outcome?.startsWith('v:')).length;
      if (last !== undefined && values === loop.stopAt) {
        this.buffer = [];
        this.stop('done');
        this.end = 'finished';
        this.expected.push(loop.how === 'throw' ? 'err:stop' : 'done');
        return;
      }
      const slot = this.expected.length;
      this.expected.push(undefined);
      this.#next(slot);
    }
  }

  /** `n` calls of `next()` at once, by hand. */
  read(n: number): void {
    for (let i = 0; i < n; i++) {
      const slot = this.expected.length;
      this.expected.push(undefined);
      this.outcomes.push(undefined);
      this.#next(slot);
      this.iterator.next().then(
        (result) => {
          this.outcomes[slot] = result.done ? 'done' : `v:${result.value.message}`;
        },
        (error: unknown) => {
          this.outcomes[slot] = describeError(error, this.shared?.reason);
        },
      );
    }
  }

  /** `return()` or `throw()` by hand: owed `next()`s are done, and so is every later one. */
  finish(how: 'return' | 'throw'): void {
    const slot = this.expected.length;
    this.expected.push(undefined);
    this.outcomes.push(undefined);
    if (this.end === 'live') this.stop('done');
    this.buffer = [];
    this.end = 'finished';
    this.expected[slot] = how === 'return' ? 'done' : 'err:thrown';
    const call =
      how === 'return' ? this.iterator.return() : this.iterator.throw(new Error('thrown'));
    call.then(
      (result) => {
        this.outcomes[slot] = result.done ? 'done' : 'v:?';
      },
      (error: unknown) => {
        this.outcomes[slot] = describeError(error);
      },
    );
  }
}

/** A `waitForTask()`: what decides it comes at a known point of the run; its timeout does not. */
class Wait {
  /** What the model says settles it, and when (`world.epoch`). */
  fate: { readonly outcome: Outcome; readonly epoch: number } | undefined;
  real: { readonly outcome: Outcome; readonly epoch: number } | undefined;

  constructor(
    readonly taskId: TaskId,
    readonly timeoutMs: number | undefined,
    readonly shared: Shared | undefined,
    promise: Promise<TaskUpdate>,
  ) {
    promise.then(
      (update) => {
        this.real = { outcome: `v:${update.message}`, epoch: world.epoch };
      },
      (error: unknown) => {
        this.real = { outcome: describeError(error, shared?.reason), epoch: world.epoch };
      },
    );
  }

  decide(outcome: Outcome): void {
    if (this.fate === undefined) this.fate = { outcome, epoch: ++world.epoch };
  }

  /** Whether it still holds a listener and a timer. */
  get pending(): boolean {
    return this.real === undefined;
  }

  check(): void {
    const { real, fate } = this;
    if (real?.outcome === 'err:TASK_TIMEOUT') {
      expect(this.timeoutMs, 'timed out without a timeoutMs').toBeDefined();
      // The timeout fired first: what decides the wait came later, if at all.
      if (fate !== undefined)
        expect(fate.epoch, 'timed out after it was decided').toBeGreaterThan(real.epoch);
    } else if (fate !== undefined) {
      expect(real?.outcome, `waitForTask(${this.taskId})`).toBe(fate.outcome);
    } else {
      expect(real, `waitForTask(${this.taskId}) settled undecided`).toBeUndefined();
    }
  }
}

/** One run: a fresh client on the shared server, the model and the consumers. */
class World {
  readonly client: TaskStatusClient;
  /** Counts the model's events, so a wait's timeout can be placed among them. */
  epoch = 0;
  readonly table = new Map<string, { key: TaskId; update: Expected }>();
  readonly emitted: string[] = [];
  readonly seen: string[] = [];
  readonly frames = new Map<string, FrameSpec & { at: string | null }>();
  readonly frameTexts: string[] = [];
  readonly consumers: Consumer[] = [];
  readonly waits: Wait[] = [];
  readonly shared: Shared[] = [newShared(), newShared()];
  readonly retired: Shared[] = [];
  readonly violations: string[] = [];
  clock = 10;
  labels = 0;
  applied = 0;
  stale = 0;
  open = false;
  /** Closed by the user and not connected again: new consumers are done at once. */
  ended = false;
  everOpened = false;
  opens = 0;
  resync: ResyncSpec = { mode: 'return', items: [] };
  resyncCalls = 0;
  resyncEnds = 0;
  resyncItems: Expected[] | undefined;
  /** `close` listeners armed and not yet run. */
  closeListeners = 0;

  constructor() {
    this.client = new TaskStatusClient({
      baseUrl: server.baseUrl,
      userId: 2,
      token: 'tok',
      heartbeat: false,
      authGraceMs: 0,
      reconnect: { initialDelayMs: 1, maxDelayMs: 5 },
      resync: ({ signal }) => this.#fetch(signal),
    });
    // First listeners of all: the model moves before any consumer sees the event.
    this.client.on('message', (frame) => {
      if (frame.kind !== 'task_update') return;
      const spec = this.frames.get(String(frame.update.message));
      if (spec === undefined) this.violations.push(`unknown frame ${frame.update.message}`);
      else this.batch([this.#expected(spec, spec.at, String(frame.update.message))]);
    });
    this.client.on('task', (update) => this.seen.push(`${update.taskId}:${update.message}`));
    this.client.on('close', () => {
      this.closeListeners = 0;
    });
    this.client.on('open', () => {
      this.opens++;
    });
    this.client.on('resynced', (info) => {
      this.resyncEnds++;
      const items = this.resyncItems ?? [];
      this.resyncItems = undefined;
      const before = this.applied;
      this.batch(items);
      const applied = this.applied - before;
      if (info.applied !== applied || info.stale !== items.length - applied) {
        this.violations.push(`resynced ${JSON.stringify(info)}, model applied ${applied}`);
      }
    });
    this.client.on('error', (error) => {
      if (error.code !== 'RESYNC_FAILED') return;
      this.resyncEnds++;
      if (this.resync.mode !== 'throw') this.violations.push(`resync failed: ${error.message}`);
    });
  }

  #expected(spec: FrameSpec, at: string | null, message: string): Expected {
    return {
      taskId: spec.taskId,
      status: spec.status,
      progress: spec.progress,
      message,
      updatedAt: at,
    };
  }

  /** The time a new update of `taskId` carries. */
  time(taskId: TaskId, time: Time): string | null {
    const held = this.table.get(String(taskId))?.update.updatedAt ?? null;
    switch (time) {
      case 'next':
        return at(++this.clock);
      case 'same':
        return held ?? at(this.clock);
      case 'older':
        return at((held === null ? this.clock : seconds(held)) - 3);
      case 'none':
        return null;
    }
  }

  label(prefix: string): string {
    return `${prefix}${++this.labels}`;
  }

  #fetch(signal: AbortSignal): Promise<Expected[]> | Expected[] {
    this.resyncCalls++;
    const { mode, items } = this.resync;
    if (mode === 'throw') throw new Error('resync down');
    if (mode === 'hang') {
      return new Promise((_resolve, reject) =>
        signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }),
      );
    }
    if (mode === 'hang-forever') return new Promise(() => {});
    const result: Expected[] = [];
    for (const item of items) {
      if ('copyOf' in item) {
        const held = this.table.get(String(item.copyOf))?.update;
        if (held !== undefined) result.push({ ...held });
      } else {
        result.push(this.#expected(item, this.time(item.taskId, item.time), this.label('r')));
      }
    }
    this.resyncItems = result;
    return mode === 'return' ? result : Promise.resolve(result);
  }

  /** Updates the client handles in one go: the table, the `task` events, every consumer. */
  batch(updates: readonly Expected[]): void {
    for (const update of updates) {
      const id = String(update.taskId);
      const held = this.table.get(id);
      if (held !== undefined && isStale(held.update, update)) {
        this.stale++;
        continue;
      }
      this.table.set(id, { key: held?.key ?? update.taskId, update });
      this.applied++;
      this.emitted.push(`${update.taskId}:${update.message}`);
      this.epoch++;
      for (const consumer of this.consumers) consumer.deliver(update);
      if (TERMINAL.has(update.status)) {
        for (const wait of this.waits) {
          if (String(wait.taskId) === id) wait.decide(`v:${update.message}`);
        }
      }
    }
    for (const consumer of this.consumers) consumer.drain();
  }

  closeModel(): void {
    this.open = false;
    this.ended = true;
    this.epoch++;
    for (const consumer of this.consumers) consumer.stop('done');
    for (const wait of this.waits) wait.decide('err:CONNECTION_CLOSED');
    for (const consumer of this.consumers) consumer.drain();
  }

  abort(index: number): void {
    const shared = this.shared[index % this.shared.length] as Shared;
    this.epoch++;
    for (const consumer of this.consumers) if (consumer.shared === shared) consumer.abort();
    for (const wait of this.waits) if (wait.shared === shared) wait.decide('err:ABORTED');
    for (const consumer of this.consumers) consumer.drain();
    shared.controller.abort(shared.reason);
    this.retired.push(shared);
    this.shared[index % this.shared.length] = newShared();
  }

  /** Waits for the model and the client to agree; fails on what does not settle so. */
  async quiet(): Promise<void> {
    await vi.waitFor(
      () => {
        expect(this.violations).toEqual([]);
        expect(this.seen, 'task events').toEqual(this.emitted);
        expect(this.client.stats).toMatchObject({ applied: this.applied, stale: this.stale });
        const tasks = [...this.client.tasks].map(([key, u]) => `${key}=${u.taskId}:${u.message}`);
        const model = [...this.table.values()].map(
          ({ key, update }) => `${key}=${update.taskId}:${update.message}`,
        );
        expect(tasks, 'client.tasks').toEqual(model);
        for (const consumer of this.consumers) {
          // A loop's `next()` still pending has no outcome yet, and no place in its list.
          const expected = consumer.expected.filter(
            (outcome, index) =>
              consumer.loop === null ||
              outcome !== undefined ||
              index !== consumer.expected.length - 1,
          );
          expect(consumer.outcomes, consumer.label).toEqual(expected);
          expect(consumer.iterator.dropped, `${consumer.label}: dropped`).toBe(consumer.dropped);
        }
        for (const wait of this.waits) wait.check();
        const listening =
          this.consumers.filter((c) => c.listening).length +
          this.waits.filter((w) => w.pending).length;
        expect(this.client.listenerCount('task'), "'task' listeners").toBe(1 + listening);
        expect(this.client.listenerCount('close'), "'close' listeners").toBe(
          1 + this.closeListeners,
        );
        for (const shared of [...this.shared, ...this.retired]) {
          const users =
            this.consumers.filter((c) => c.shared === shared && c.listening).length +
            this.waits.filter((w) => w.shared === shared && w.pending).length;
          expect(getEventListeners(shared.controller.signal, 'abort').length).toBe(
            users === 0 ? 0 : 1,
          );
        }
      },
      { timeout: 2_000, interval: 2 },
    );
  }

  /** After `close()`: every wait settled, no timer left. */
  async checkClosed(): Promise<void> {
    await this.quiet();
    expect(this.waits.filter((w) => w.pending).length, 'waits left pending').toBe(0);
    await vi.waitFor(() => expect(timers.live(), 'timers left').toBe(0), {
      timeout: 2_000,
      interval: 5,
    });
  }

  /** Waits for the open that follows a drop or a `connect()`, and for its resync to finish. */
  async reopened(opens: number, resyncs: number): Promise<void> {
    const ends = this.resyncEnds;
    await vi.waitFor(() => expect(this.opens).toBeGreaterThan(opens), {
      timeout: 2_000,
      interval: 2,
    });
    this.open = true;
    if (!this.everOpened) {
      this.everOpened = true;
      return;
    }
    await vi.waitFor(() => expect(this.resyncCalls).toBe(resyncs + 1), {
      timeout: 2_000,
      interval: 2,
    });
    const { mode } = this.resync;
    if (mode === 'hang' || mode === 'hang-forever') return;
    await vi.waitFor(() => expect(this.resyncEnds).toBe(ends + 1), {
      timeout: 2_000,
      interval: 2,
    });
  }

  serverSocket() {
    return server.sockets.at(-1);
  }
}

/** The `at()` argument of a time. */
function seconds(time: string): number {
  return (Date.parse(time) - Date.parse(at(0))) / 1000;
}

function newShared(): Shared {
  return { controller: new AbortController(), reason: new Error('the user left') };
}

interface Model {
  open: boolean;
}

function cmd(
  label: string,
  run: () => Promise<void> | void,
  check: (m: Model) => boolean = () => true,
) {
  return {
    check,
    async run(m: Model) {
      await run();
      m.open = world.open;
      await world.quiet();
    },
    toString: () => label,
  };
}

const taskIds = fc.constantFrom<TaskId>(1, 2, 3, '2');
const statuses = fc.constantFrom(
  'running',
  'running',
  'queued',
  'completed',
  'failed',
  'cancelled',
);
const frameSpec = fc.record({
  taskId: taskIds,
  status: statuses,
  progress: fc.option(fc.integer({ min: 0, max: 100 }), { nil: null }),
  time: fc.constantFrom<Time>('next', 'next', 'next', 'same', 'older', 'none'),
});

const sendCommand = frameSpec.map((spec) =>
  cmd(
    `server sends ${JSON.stringify(spec)}`,
    async () => {
      const message = world.label('s');
      const updatedAt = world.time(spec.taskId, spec.time);
      world.frames.set(message, { ...spec, at: updatedAt });
      const frame = JSON.stringify({
        type: 'task_update',
        task_id: spec.taskId,
        status: spec.status,
        message,
        ...(spec.progress === null ? {} : { progress: spec.progress }),
        ...(updatedAt === null ? {} : { updated_at: updatedAt }),
      });
      world.frameTexts.push(frame);
      await sendAndSee(frame);
    },
    (m) => m.open,
  ),
);
const repeatCommand = fc.nat().map((n) =>
  cmd(
    `server repeats an earlier frame (${n})`,
    async () => {
      const frame = world.frameTexts.at(-1 - (n % Math.max(1, world.frameTexts.length)));
      if (frame !== undefined) await sendAndSee(frame);
    },
    (m) => m.open,
  ),
);

/** Sends a frame and waits for the client to have handled it. */
async function sendAndSee(frame: string): Promise<void> {
  let seen = false;
  const onMessage = () => {
    seen = true;
  };
  world.client.on('message', onMessage);
  try {
    world.serverSocket()?.send(frame);
    await vi.waitFor(() => expect(seen).toBe(true), { timeout: 2_000, interval: 1 });
  } finally {
    world.client.off('message', onMessage);
  }
}

const dropCommand = fc.constant(
  cmd(
    'server drops the socket',
    async () => {
      const { opens, resyncCalls } = world;
      world.serverSocket()?.terminate();
      await world.reopened(opens, resyncCalls);
    },
    (m) => m.open,
  ),
);
const resyncCommand = fc
  .record({
    mode: fc.constantFrom<ResyncMode>(
      'return',
      'return',
      'return-async',
      'throw',
      'hang',
      'hang-forever',
    ),
    items: fc.array(fc.oneof(frameSpec, fc.record({ copyOf: taskIds })), { maxLength: 4 }),
  })
  .map((spec) =>
    cmd(`resync: ${JSON.stringify(spec)}`, () => {
      world.resync = spec;
    }),
  );
const closeCommand = fc.constant(
  cmd(
    'close()',
    async () => {
      world.closeModel();
      const closing = world.client.close();
      await closing;
      await world.checkClosed();
    },
    (m) => m.open,
  ),
);
const connectCommand = fc.constant(
  cmd(
    'connect()',
    async () => {
      const { opens, resyncCalls } = world;
      world.ended = false;
      await world.client.connect();
      await world.reopened(opens, resyncCalls);
    },
    (m) => !m.open,
  ),
);

const iteratorOptions = fc.record({
  bufferSize: fc.integer({ min: 1, max: 3 }),
  overflow: fc.constantFrom<OverflowMode>('drop-oldest', 'error'),
  signal: fc.option(fc.nat({ max: 1 }), { nil: undefined }),
  loop: fc.option(
    fc.record({
      stopAt: fc.oneof(fc.constant(Number.POSITIVE_INFINITY), fc.integer({ min: 1, max: 4 })),
      how: fc.constantFrom<'break' | 'throw' | 'return'>('break', 'throw', 'return'),
    }),
    { nil: null },
  ),
});

const updatesCommand = fc
  .record({
    taskId: fc.option(fc.constantFrom<TaskId | TaskId[]>(1, '2', [1, 3], [2, '3']), {
      nil: undefined,
    }),
    options: iteratorOptions,
  })
  .map(({ taskId, options }) =>
    cmd(`updates(${JSON.stringify({ taskId, ...options })})`, () => {
      const shared = options.signal === undefined ? undefined : world.shared[options.signal];
      const filter =
        taskId === undefined
          ? undefined
          : new Set((Array.isArray(taskId) ? taskId : [taskId]).map(String));
      world.consumers.push(
        new Consumer(
          `updates #${world.consumers.length}`,
          () =>
            world.client.updates({
              ...(taskId === undefined ? {} : { taskId }),
              bufferSize: options.bufferSize,
              overflow: options.overflow,
              ...(shared === undefined ? {} : { signal: shared.controller.signal }),
            }),
          filter,
          false,
          options.bufferSize,
          options.overflow,
          shared,
          options.loop,
          undefined,
          world.ended,
        ),
      );
    }),
  );
const watchCommand = fc
  .record({ taskId: taskIds, options: iteratorOptions })
  .map(({ taskId, options }) =>
    cmd(`watchTask(${JSON.stringify(taskId)}, ${JSON.stringify(options)})`, () => {
      const shared = options.signal === undefined ? undefined : world.shared[options.signal];
      world.consumers.push(
        new Consumer(
          `watchTask #${world.consumers.length}`,
          () =>
            world.client.watchTask(taskId, {
              bufferSize: options.bufferSize,
              overflow: options.overflow,
              ...(shared === undefined ? {} : { signal: shared.controller.signal }),
            }),
          new Set([String(taskId)]),
          true,
          options.bufferSize,
          options.overflow,
          shared,
          options.loop,
          world.table.get(String(taskId))?.update,
          world.ended,
        ),
      );
    }),
  );
const clientLoopCommand = fc.constant(
  cmd('for await (const update of client)', () => {
    world.consumers.push(
      new Consumer(
        `client #${world.consumers.length}`,
        () => world.client[Symbol.asyncIterator](),
        undefined,
        false,
        1024,
        'drop-oldest',
        undefined,
        { stopAt: Number.POSITIVE_INFINITY, how: 'break' },
        undefined,
        world.ended,
      ),
    );
  }),
);
const readCommand = fc
  .record({ index: fc.nat(), n: fc.integer({ min: 1, max: 3 }) })
  .map(({ index, n }) =>
    cmd(`a consumer reads ${n} (${index})`, () => {
      const manual = world.consumers.filter((c) => c.loop === null);
      manual[index % Math.max(1, manual.length)]?.read(n);
    }),
  );
const finishCommand = fc
  .record({ index: fc.nat(), how: fc.constantFrom<'return' | 'throw'>('return', 'throw') })
  .map(({ index, how }) =>
    cmd(`a consumer calls ${how}() (${index})`, () => {
      const manual = world.consumers.filter((c) => c.loop === null);
      manual[index % Math.max(1, manual.length)]?.finish(how);
    }),
  );
const waitCommand = fc
  .record({
    taskId: taskIds,
    timeoutMs: fc.option(fc.constantFrom(5, 30, 5_000), { nil: undefined }),
    signal: fc.option(fc.nat({ max: 1 }), { nil: undefined }),
  })
  .map(({ taskId, timeoutMs, signal }) =>
    cmd(`waitForTask(${JSON.stringify({ taskId, timeoutMs, signal })})`, () =>
      startWait(taskId, timeoutMs, signal),
    ),
  );

function startWait(
  taskId: TaskId,
  timeoutMs: number | undefined,
  signal: number | undefined,
): void {
  const shared = signal === undefined ? undefined : world.shared[signal];
  const held = world.table.get(String(taskId))?.update;
  const promise = world.client.waitForTask(taskId, {
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    ...(shared === undefined ? {} : { signal: shared.controller.signal }),
  });
  const wait = new Wait(taskId, timeoutMs, shared, promise);
  world.waits.push(wait);
  if (held !== undefined && TERMINAL.has(held.status)) wait.decide(`v:${held.message}`);
  else if (world.ended) wait.decide('err:CONNECTION_CLOSED');
}

// On a drop the client goes on; on `close()` it has ended: what the listener starts ends too.
const closeListenerCommand = taskIds.map((taskId) =>
  cmd(`a close listener starts updates() and waitForTask(${JSON.stringify(taskId)})`, () => {
    world.client.once('close', () => {
      world.consumers.push(
        new Consumer(
          `updates in close #${world.consumers.length}`,
          () => world.client.updates({ bufferSize: 2 }),
          undefined,
          false,
          2,
          'drop-oldest',
          undefined,
          null,
          undefined,
          world.ended,
        ),
      );
      startWait(taskId, undefined, undefined);
    });
    world.closeListeners++;
  }),
);
const abortCommand = fc
  .nat({ max: 1 })
  .map((index) => cmd(`shared signal ${index} aborts`, () => world.abort(index)));
// Lets wait timeouts fire meanwhile; nothing waits on it.
const pauseCommand = fc
  .integer({ min: 2, max: 40 })
  .map((ms) => cmd(`${ms} ms pass`, () => new Promise<void>((resolve) => setTimeout(resolve, ms))));

const commands = fc.commands(
  [
    sendCommand,
    sendCommand,
    sendCommand,
    sendCommand,
    repeatCommand,
    dropCommand,
    resyncCommand,
    closeCommand,
    connectCommand,
    updatesCommand,
    updatesCommand,
    watchCommand,
    watchCommand,
    clientLoopCommand,
    readCommand,
    readCommand,
    readCommand,
    finishCommand,
    waitCommand,
    waitCommand,
    abortCommand,
    pauseCommand,
    closeListenerCommand,
  ],
  { maxCommands: 40, size: '+1' },
);

beforeAll(async () => {
  server = await startWsServer((ws) => ws.send('{"type":"connected","user_id":2}'));
});

afterAll(async () => {
  await server.close();
});

describe('update consumers under random interleavings', () => {
  it('hand out what the table applied, as documented, and leave nothing behind', async () => {
    timers = watchTimers();
    await collectUncaught(async (uncaught) => {
      await fc.assert(
        fc.asyncProperty(commands, async (cmds) => {
          world = new World();
          try {
            await world.client.connect();
            await world.reopened(0, 0);
            await fc.asyncModelRun(
              () => ({ model: { open: true } satisfies Model, real: {} }),
              cmds,
            );
            if (world.client.state !== 'closed') {
              world.closeModel();
              await world.client.close();
            }
            await world.checkClosed();
            expect(uncaught).toEqual([]);
          } finally {
            if (world.client.state !== 'closed') await world.client.close();
            server.dropAll();
          }
        }),
        { ...modelRuns(60), endOnFailure: false },
      );
    });
  }, 120_000);
});
