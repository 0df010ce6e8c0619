import type { EventEmitter } from 'eventemitter3';
import { TaskStatusError, truncate } from '../errors.js';
import type { TaskId, TaskUpdate } from '../protocol/types.js';
import type { TaskStatusEvents } from './events.js';
import type { ResolvedOptions } from './options.js';
import { normaliseResyncUpdate } from './resync.js';
import { TaskTable } from './task-table.js';
import {
  type StreamSource,
  UpdateStream,
  type UpdatesOptions,
  type WatchTaskOptions,
} from './update-stream.js';
import { type WaitForTaskOptions, waitForTask } from './wait-for-task.js';

type Emitter<T extends TaskUpdate> = EventEmitter<TaskStatusEvents<T>>;
type FeedOptions<T extends TaskUpdate> = Pick<
  ResolvedOptions<T>,
  'taskSchema' | 'terminalStatuses' | 'maxTasks' | 'resync'
>;

/**
 * The task side of a client: validated updates into the task table, `task` events out, and the
 * iterators, waits and resyncs built on them. The connection side never sees any of it. It is
 * also the source its iterators subscribe through. An idle client pays for none of the
 * iterator machinery: the set of live streams is made on first use.
 */
export class TaskFeed<T extends TaskUpdate> implements StreamSource<T> {
  readonly table: TaskTable<T>;
  readonly #emitter: Emitter<T>;
  readonly #options: FeedOptions<T>;
  readonly #describe: (owner: object, cause: unknown) => string;
  #streams: Set<UpdateStream<T>> | undefined;
  #resyncAbort: AbortController | undefined;
  /**
   * Why the client last ended, for waits that outlive it; set while it stays ended (`connect()`
   * clears it), so a consumer made then is done at once. It is set before the state is `closed`,
   * which a `close` listener of `close()` runs ahead of.
   */
  lastError: TaskStatusError | undefined;

  /** `describe` says what a thrown value says, token masked: one function for every client. */
  constructor(
    emitter: Emitter<T>,
    options: FeedOptions<T>,
    describe: (owner: object, cause: unknown) => string,
  ) {
    this.#emitter = emitter;
    this.#options = options;
    this.#describe = describe;
    this.table = new TaskTable(options);
  }

  subscribe(stream: UpdateStream<T>, listener: (update: T) => void): void {
    this.#streams ??= new Set();
    this.#streams.add(stream);
    this.#emitter.on('task', listener);
  }

  unsubscribe(stream: UpdateStream<T>, listener: (update: T) => void): void {
    this.#streams?.delete(stream);
    this.#emitter.off('task', listener);
  }

  isTerminal(update: T): boolean {
    return this.#options.terminalStatuses.has(update.status);
  }

  /** The per-frame path: schema (if any), table, `task` event. */
  receive(update: TaskUpdate): void {
    const schema = this.#options.taskSchema;
    if (schema === undefined) {
      if (this.table.apply(update as T)) this.#emitter.emit('task', update as T);
      return;
    }
    let result: ReturnType<(typeof schema)['~standard']['validate']>;
    try {
      result = schema['~standard'].validate(update);
    } catch (cause) {
      // The schema's own code failed on what the server sent: reported as that frame's problem.
      const what = this.#describe(this.#emitter, cause);
      this.#problem(
        `Task ${this.#id(update)}: taskSchema threw (${truncate(what, 500)}); update dropped`,
      );
      return;
    }
    if (result instanceof Promise) {
      // Dropped either way; a rejection left unhandled would end a Node process.
      result.catch(() => {});
      // zod answers with a promise when a transform throws: it runs the schema again, async.
      this.#problem(
        'taskSchema must validate synchronously (an async check, or a zod transform that threw); update dropped',
      );
    } else if (this.lastError !== undefined) {
      // The schema's own code closed the client: `connect()` cleared `lastError`, `end` set it.
    } else if (result.issues === undefined) {
      if (this.table.apply(result.value)) this.#emitter.emit('task', result.value);
    } else {
      // Issues may quote what the server sent (valibot writes the value received, a record's
      // keys are in the path), and so echo a token: masked, as a thrown message is.
      const scrub = (text: unknown) => this.#describe(this.#emitter, String(text));
      const issues = result.issues.map((issue) => ({
        path: (issue.path ?? []).map((key) => scrub(typeof key === 'object' ? key.key : key)),
        message: scrub(issue.message),
      }));
      const where = issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      this.#problem(
        `Task ${this.#id(update)} failed taskSchema (${truncate(where, 500)}); update dropped`,
        issues,
      );
    }
  }

  /**
   * A new iterator, done at once (after `first`, if given) when `finished`, or when the client
   * has ended and not connected again.
   */
  stream(
    options: UpdatesOptions,
    finished = false,
    isLast?: (update: T) => boolean,
    first?: T,
  ): UpdateStream<T> {
    const stream = new UpdateStream(this, options, isLast, first);
    if (finished || this.lastError !== undefined) stream.end();
    return stream;
  }

  watch(taskId: TaskId, options: WatchTaskOptions): UpdateStream<T> {
    const held = this.table.get(taskId);
    const finished = held !== undefined && this.isTerminal(held);
    return this.stream({ ...options, taskId }, finished, (update) => this.isTerminal(update), held);
  }

  wait(taskId: TaskId, options: WaitForTaskOptions): Promise<T> {
    return waitForTask(
      (signal) => this.watch(taskId, { signal }),
      (update) => this.isTerminal(update),
      taskId,
      () => this.lastError ?? new TaskStatusError('CONNECTION_CLOSED', 'The client was closed'),
      options,
    );
  }

  /** The client ended: iterators finish (`done` on close, the error when fatal). */
  end(error: TaskStatusError, fatal: boolean): void {
    this.lastError = error;
    this.#resyncAbort?.abort();
    this.#resyncAbort = undefined;
    for (const stream of [...(this.#streams ?? [])]) {
      if (fatal) stream.fail(error);
      else stream.end();
    }
  }

  /**
   * Runs the user's `resync` after a reconnect and feeds its updates through the table. Resolves
   * with what the function threw, as `{ cause }` (the client reports it with the token masked);
   * a resync cut short by a newer one or by the end of the client resolves with `undefined`.
   */
  async resync(): Promise<{ readonly cause: unknown } | undefined> {
    const resync = this.#options.resync;
    if (resync === undefined) return undefined;
    this.#resyncAbort?.abort();
    const controller = new AbortController();
    this.#resyncAbort = controller;
    try {
      const items = await resync({ tasks: this.table.tasks, signal: controller.signal });
      if (controller.signal.aborted) return undefined;
      if (!Array.isArray(items)) {
        const got = items === null ? 'null' : typeof items;
        throw new TaskStatusError('RESYNC_FAILED', `resync must return an array, got ${got}`);
      }
      // All checked before any is applied: a bad result changes nothing. `Array.from` visits the
      // holes of a sparse array too, which `map` would skip and leave for the loop to trip on.
      const updates = Array.from(items, (item, index) =>
        normaliseResyncUpdate(item, index, this.table),
      );
      let applied = 0;
      for (const update of updates) {
        // A `task` listener that closes the client ends the resync too.
        if (controller.signal.aborted) return undefined;
        if (this.table.apply(update)) {
          applied++;
          this.#emitter.emit('task', update);
        }
      }
      if (controller.signal.aborted) return undefined;
      this.#emitter.emit('resynced', { applied, stale: items.length - applied });
      return undefined;
    } catch (cause) {
      return controller.signal.aborted ? undefined : { cause };
    } finally {
      if (this.#resyncAbort === controller) this.#resyncAbort = undefined;
    }
  }

  /** A task id for a message: masked, as the server may send anything as one, and cut. */
  #id(update: TaskUpdate): string {
    return truncate(this.#describe(this.#emitter, String(update.taskId)), 50);
  }

  #problem(message: string, issues?: TaskStatusError['issues']): void {
    this.#emitter.emit(
      'error',
      new TaskStatusError('PROTOCOL_ERROR', message, issues ? { issues } : {}),
    );
  }
}
