import type { EventEmitter } from 'eventemitter3';
import { TaskStatusError } from '../errors.js';
import type { TaskId, TaskUpdate } from '../protocol/types.js';
import type { TaskStatusEvents } from './events.js';
import type { ResolvedOptions } from './options.js';
import { normaliseResyncUpdate } from './resync.js';
import { TaskTable } from './task-table.js';
import { type StreamSource, UpdateStream, type UpdatesOptions } from './update-stream.js';
import { type WaitForTaskOptions, waitForTask } from './wait-for-task.js';

type Emitter<T extends TaskUpdate> = EventEmitter<TaskStatusEvents<T>>;
type FeedOptions<T extends TaskUpdate> = Pick<
  ResolvedOptions<T>,
  'taskSchema' | 'terminalStatuses' | 'resync'
>;

/**
 * The task side of a client: validated updates into the task table, `task` events out, and the
 * iterators, waits and resyncs built on them. The connection side never sees any of it.
 */
export class TaskFeed<T extends TaskUpdate> {
  readonly table = new TaskTable<T>();
  readonly #emitter: Emitter<T>;
  readonly #options: FeedOptions<T>;
  readonly #scrub: (text: string) => string;
  readonly #streams = new Set<UpdateStream<T>>();
  readonly #source: StreamSource<T>;
  #resyncAbort: AbortController | undefined;
  /** Why the client last ended, for waits that outlive it. */
  lastError: TaskStatusError | undefined;

  constructor(emitter: Emitter<T>, options: FeedOptions<T>, scrub: (text: string) => string) {
    this.#emitter = emitter;
    this.#options = options;
    this.#scrub = scrub;
    this.#source = {
      subscribe: (listener) => emitter.on('task', listener),
      unsubscribe: (listener) => emitter.off('task', listener),
      release: (stream) => this.#streams.delete(stream),
    };
  }

  readonly isTerminal = (update: T): boolean => this.#options.terminalStatuses.has(update.status);

  /** The per-frame path: schema (if any), table, `task` event. */
  receive(update: TaskUpdate): void {
    const schema = this.#options.taskSchema;
    if (schema === undefined) {
      if (this.table.apply(update as T)) this.#emitter.emit('task', update as T);
      return;
    }
    const result = schema['~standard'].validate(update);
    if (result instanceof Promise) {
      this.#problem('taskSchema must validate synchronously; update dropped');
    } else if (result.issues === undefined) {
      if (this.table.apply(result.value)) this.#emitter.emit('task', result.value);
    } else {
      const issues = result.issues.map((issue) => ({
        path: (issue.path ?? []).map((key) => String(typeof key === 'object' ? key.key : key)),
        message: issue.message,
      }));
      const where = issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      this.#problem(
        `Task ${String(update.taskId)} failed taskSchema (${where}); update dropped`,
        issues,
      );
    }
  }

  /** A new iterator; `ended` makes it done at once (after `first`, if given). */
  stream(
    options: UpdatesOptions,
    ended: boolean,
    isLast?: (update: T) => boolean,
    first?: T,
  ): UpdateStream<T> {
    const stream = new UpdateStream(this.#source, options, isLast, first);
    this.#streams.add(stream);
    if (ended) stream.end();
    return stream;
  }

  watch(taskId: TaskId, options: Omit<UpdatesOptions, 'taskId'>, closed: boolean): UpdateStream<T> {
    const held = this.table.get(taskId);
    const finished = held !== undefined && this.isTerminal(held);
    return this.stream({ ...options, taskId }, closed || finished, this.isTerminal, held);
  }

  wait(taskId: TaskId, options: WaitForTaskOptions, closed: () => boolean): Promise<T> {
    return waitForTask(
      (signal) => this.watch(taskId, { signal }, closed()),
      this.isTerminal,
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
    for (const stream of [...this.#streams]) {
      if (fatal) stream.fail(error);
      else stream.end();
    }
  }

  /** Runs the user's `resync` after a reconnect and feeds its updates through the table. */
  async resync(): Promise<void> {
    const resync = this.#options.resync;
    if (resync === undefined) return;
    this.#resyncAbort?.abort();
    const controller = new AbortController();
    this.#resyncAbort = controller;
    try {
      const items = await resync({ tasks: this.table.tasks, signal: controller.signal });
      if (controller.signal.aborted) return;
      let applied = 0;
      for (const item of items) {
        const update = normaliseResyncUpdate<T>(item);
        if (this.table.apply(update)) {
          applied++;
          this.#emitter.emit('task', update);
        }
      }
      this.#emitter.emit('resynced', { applied, stale: items.length - applied });
    } catch (cause) {
      if (controller.signal.aborted) return;
      const message = cause instanceof Error ? this.#scrub(cause.message) : String(cause);
      // No `cause`: the user's error may carry a token; the masked message is what remains.
      this.#emitter.emit(
        'error',
        new TaskStatusError('RESYNC_FAILED', `resync failed: ${message}`),
      );
    } finally {
      if (this.#resyncAbort === controller) this.#resyncAbort = undefined;
    }
  }

  #problem(message: string, issues?: TaskStatusError['issues']): void {
    this.#emitter.emit(
      'error',
      new TaskStatusError('PROTOCOL_ERROR', message, issues ? { issues } : {}),
    );
  }
}
