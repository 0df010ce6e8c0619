import { TaskStatusError } from '../errors.js';
import type { TaskId, TaskUpdate } from '../protocol/types.js';
import { onAbort } from './shared-abort.js';

/** What to do when an iterator's buffer is full. */
export type OverflowMode = 'drop-oldest' | 'error';

/** Options of `client.updates()`. */
export interface UpdatesOptions {
  /**
   * Only updates of this task, or of these tasks.
   * @default all tasks
   */
  taskId?: TaskId | readonly TaskId[] | undefined;
  /**
   * Ends the iterator with an `AbortError` when aborted.
   * @default undefined
   */
  signal?: AbortSignal | undefined;
  /**
   * Most updates held for a slow consumer.
   * @default 1024
   */
  bufferSize?: number | undefined;
  /**
   * `drop-oldest` keeps the newest updates; `error` ends the iterator with `BUFFER_OVERFLOW`.
   * @default 'drop-oldest'
   */
  overflow?: OverflowMode | undefined;
}

/** Default buffer size of an update iterator. */
export const DEFAULT_BUFFER_SIZE = 1024;

/** How a stream is wired to its client; the client calls `end`/`fail` on close or fatal error. */
export interface StreamSource<T extends TaskUpdate> {
  /** Called once, by the constructor: the client holds the stream until `unsubscribe`. */
  subscribe(stream: UpdateStream<T>, listener: (update: T) => void): void;
  /** Called once, when the stream is finished, so the client forgets it. */
  unsubscribe(stream: UpdateStream<T>, listener: (update: T) => void): void;
}

type Waiter<T> = {
  resolve: (result: IteratorResult<T, undefined>) => void;
  reject: (error: unknown) => void;
};

/**
 * What `updates()` and `watchTask()` return: an async iterator of updates, and its losses. It ends
 * with `{ done: true, value: undefined }` (the lib's `AsyncIterableIterator<T>` would type that
 * value `any`), and always has `return()` and `throw()`.
 */
export interface TaskUpdateIterator<T extends TaskUpdate = TaskUpdate>
  extends AsyncIterator<T, undefined, undefined> {
  /** The iterator itself, so that `for await` takes it. */
  [Symbol.asyncIterator](): TaskUpdateIterator<T>;
  /** The next update, or `done` once the iterator has ended; rejects when it ends with an error. */
  next(): Promise<IteratorResult<T, undefined>>;
  /** Ends the iterator and removes its listener at once (a `break` calls it); safe to repeat. */
  return(): Promise<IteratorResult<T, undefined>>;
  /** Ends the iterator as `return()` does, then rejects with `error`. */
  throw(error?: unknown): Promise<IteratorResult<T, undefined>>;
  /** Updates this iterator's buffer dropped so far under `overflow: 'drop-oldest'`. */
  readonly dropped: number;
}

/** The options of `watchTask()`: those of `updates()`, without `taskId` (its first argument). */
export type WatchTaskOptions = Omit<UpdatesOptions, 'taskId'>;

/**
 * A bounded async iterator of task updates. `return()` (a `break`) unsubscribes at once; the
 * client's close ends it; a fatal client error rejects after the buffered updates are read.
 */
export class UpdateStream<T extends TaskUpdate> implements TaskUpdateIterator<T> {
  readonly #source: StreamSource<T>;
  readonly #filter: ((update: T) => boolean) | undefined;
  readonly #signal: AbortSignal | undefined;
  /** Stops listening to `#signal`. */
  #stopAbort: (() => void) | undefined;
  readonly #bufferSize: number;
  readonly #overflow: OverflowMode;
  readonly #isLast: ((update: T) => boolean) | undefined;
  #buffer: T[] = [];
  #head = 0;
  /** Pending `next()` calls, oldest first; only ever non-empty while the buffer is empty. */
  #waiters: Waiter<T>[] = [];
  /** `undefined` while live; `null` when done; an error to throw after the buffer drains. */
  #end: unknown = undefined;
  #dropped = 0;

  constructor(
    source: StreamSource<T>,
    options: UpdatesOptions,
    isLast?: (update: T) => boolean,
    first?: T,
  ) {
    this.#source = source;
    this.#filter = idFilter(options.taskId);
    this.#signal = options.signal;
    this.#bufferSize = options.bufferSize ?? DEFAULT_BUFFER_SIZE;
    this.#overflow = options.overflow ?? 'drop-oldest';
    this.#isLast = isLast;
    if (first !== undefined) this.#buffer.push(first);
    source.subscribe(this, this.#push);
    if (this.#signal?.aborted) this.#onAbort();
    else if (this.#signal !== undefined) this.#stopAbort = onAbort(this.#signal, this.#onAbort);
  }

  /** Updates dropped by `drop-oldest` so far. */
  get dropped(): number {
    return this.#dropped;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.#head < this.#buffer.length) {
      const value = this.#take();
      return Promise.resolve({ value, done: false });
    }
    if (this.#end !== undefined) {
      const end = this.#end;
      this.#end = null;
      return end === null ? done() : Promise.reject(end);
    }
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
    });
  }

  return(): Promise<IteratorResult<T, undefined>> {
    this.#discard();
    return done();
  }

  throw(error?: unknown): Promise<IteratorResult<T, undefined>> {
    this.#discard();
    return Promise.reject(error);
  }

  /** The client closed: done after the buffer drains. */
  end(): void {
    this.#finish(null);
  }

  /** The client failed for good: the error after the buffer drains. */
  fail(error: unknown): void {
    this.#finish(error);
  }

  readonly #push = (update: T): void => {
    // An earlier `task` listener may have ended this stream during the event that calls this.
    if (this.#end !== undefined) return;
    if (this.#filter !== undefined && !this.#filter(update)) return;
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      waiter.resolve({ value: update, done: false });
    } else if (!this.#enqueue(update)) {
      return;
    }
    if (this.#isLast?.(update)) this.#finish(null);
  };

  /**
   * The consumer ends it: what is buffered goes, and so does an end still owed (an abort, an
   * overflow, a fatal error), so every later `next()` is done.
   */
  #discard(): void {
    this.#finish(null);
    this.#end = null;
    this.#buffer = [];
    this.#head = 0;
  }

  /** Buffers an update; false when the buffer overflowed in `error` mode. */
  #enqueue(update: T): boolean {
    if (this.#buffer.length - this.#head >= this.#bufferSize) {
      if (this.#overflow === 'error') {
        this.#finish(
          new TaskStatusError(
            'BUFFER_OVERFLOW',
            `Update iterator buffer overflowed (bufferSize ${this.#bufferSize}): the consumer is too slow`,
          ),
        );
        return false;
      }
      this.#take();
      this.#dropped++;
    }
    this.#buffer.push(update);
    return true;
  }

  #take(): T {
    const value = this.#buffer[this.#head] as T;
    this.#head++;
    if (this.#head === this.#buffer.length) {
      this.#buffer = [];
      this.#head = 0;
    } else if (this.#head >= 512 && this.#head * 2 >= this.#buffer.length) {
      this.#buffer = this.#buffer.slice(this.#head);
      this.#head = 0;
    }
    return value;
  }

  /** Stops listening; the end (done or error) is delivered once the buffer is drained. */
  #finish(end: unknown): void {
    if (this.#end !== undefined) return;
    this.#end = end;
    this.#source.unsubscribe(this, this.#push);
    this.#stopAbort?.();
    this.#stopAbort = undefined;
    const waiters = this.#waiters;
    if (waiters.length === 0) return;
    // Waiters exist only when the buffer is empty: the end is theirs. The first gets the error,
    // the rest (and later calls) are done.
    this.#waiters = [];
    this.#end = null;
    for (const [index, waiter] of waiters.entries()) {
      if (index === 0 && end !== null) waiter.reject(end);
      else waiter.resolve({ value: undefined, done: true });
    }
  }

  readonly #onAbort = (): void => {
    this.#buffer = [];
    this.#head = 0;
    this.#finish(abortError(this.#signal));
  };
}

function idFilter<T extends TaskUpdate>(
  taskId: UpdatesOptions['taskId'],
): ((update: T) => boolean) | undefined {
  if (taskId === undefined) return undefined;
  const ids = new Set<string>((Array.isArray(taskId) ? taskId : [taskId]).map(String));
  return (update) => ids.has(String(update.taskId));
}

function done<T>(): Promise<IteratorResult<T, undefined>> {
  return Promise.resolve({ value: undefined, done: true });
}

/** The signal's reason when it is an AbortError, else a fresh `AbortError`. */
function abortError(signal: AbortSignal | undefined): unknown {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error && reason.name === 'AbortError') return reason;
  const error = new Error('The operation was aborted', { cause: reason });
  error.name = 'AbortError';
  return error;
}
