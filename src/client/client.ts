import { EventEmitter } from 'eventemitter3';
import { TaskStatusError, truncate } from '../errors.js';
import { CloseCode } from '../protocol/close-codes.js';
import type { TaskId, TaskUpdate } from '../protocol/types.js';
import { pickWebSocket } from '../transport/websocket.js';
import { buildTaskStatusUrl, maskToken, redactUrl, tokenForms } from '../url.js';
import { reconnectDelay } from './backoff.js';
import { authFailure, decideAfterClose } from './close-policy.js';
import { Connection, type ConnectionEnd, type ConnectionListener } from './connection.js';
import type { ConnectionState, MessageFrame, TaskStatusEvents } from './events.js';
import { waitsForOnline } from './online.js';
import {
  checkCall,
  MAX_DELAY_MS,
  type ResolvedOptions,
  resolveOptions,
  type TaskStatusClientOptions,
  type TokenReason,
} from './options.js';
import { rethrowLater } from './rethrow.js';
import { RetryWait } from './retry-wait.js';
import { onAbort } from './shared-abort.js';
import { TaskFeed } from './task-feed.js';
import type { TaskTableStats } from './task-table.js';
import { Timer } from './timers.js';
import type { TaskUpdateIterator, UpdatesOptions, WatchTaskOptions } from './update-stream.js';
import type { WaitForTaskOptions } from './wait-for-task.js';

/** The shared listener serves clients of every update type. */
type AnyClient = TaskStatusClient<TaskUpdate>;

/** Set once by the class's static block, which alone may reach the clients' private members. */
let CONNECTION_LISTENER: ConnectionListener<AnyClient>;
let DESCRIBE: (client: object, cause: unknown) => string;

/** A listener as eventemitter3 keeps it: the function, its `this`, and whether it is `once`. */
interface StoredListener {
  readonly fn: (...args: unknown[]) => void;
  readonly context: unknown;
  readonly once: boolean;
}

/**
 * Where eventemitter3 keeps each event's listeners: one, or an array of several, under the
 * event's name with `EventEmitter.prefixed` before it.
 */
type Stored = { readonly _events: Record<string, StoredListener | StoredListener[] | undefined> };
const PREFIX = EventEmitter.prefixed;

interface Pending {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: TaskStatusError) => void;
}

/**
 * A client for the task-status WebSocket: builds the canonical URL, connects with the token,
 * reads the server's auth verdict, keeps the link alive with heartbeats, reconnects with
 * jittered backoff, and emits typed events.
 *
 * @example
 * ```ts
 * const client = new TaskStatusClient({ baseUrl: 'https://api.example.com', userId: 2, token: () => auth.token });
 * client.on('task', (update) => console.log(update.taskId, update.status, update.progress));
 * await client.connect();
 * ```
 */
export class TaskStatusClient<TUpdate extends TaskUpdate = TaskUpdate> extends EventEmitter<
  TaskStatusEvents<TUpdate>
> {
  readonly #options: ResolvedOptions<TUpdate>;
  /** Made on the first reconnect wait. */
  #wait: RetryWait | undefined;
  #state: ConnectionState = 'idle';
  #connection: Connection<AnyClient> | undefined;
  #pending: Pending | undefined;
  #closing: Promise<void> | undefined;
  /** The closing handshake of a socket `reconnect()` replaced, while it lasts. */
  #replaced: Promise<void> | undefined;
  #generation = 0;
  #failures = 0;
  /**
   * Handshake timeouts in a row since a connection was last accepted. Each doubles the next
   * handshake's deadline, up to 4 × `connectTimeoutMs` and 2^31 - 1 ms: a server too busy to
   * answer in time still works through every upgrade given up on, so retrying at the same
   * deadline only adds load.
   */
  #timeouts = 0;
  /**
   * A refused token was replaced through the token function, and no connection since has stayed
   * open for `stableAfterMs`: the next refusal is final. A valid frame is not enough, since a
   * server may send its ack before it checks the token.
   */
  #authRetried = false;
  /**
   * The refusal whose token the token function has not replaced yet, and how often in a row it
   * failed to: set on a refusal that is retried, cleared once the function gives a usable token
   * (or on `connect()`). Until then `maxInitialAttempts` caps those failures.
   */
  #refused: { readonly end: ConnectionEnd; failures: number } | undefined;
  #everOpened = false;
  /** The `open` event of the current connection has been emitted, so its end gets a `close`. */
  #announced = false;
  /** `reconnect()` was called while no wait was pending yet: the next wait is skipped. */
  #reconnectNow = false;
  /**
   * Since the last `connect()`, no connection was accepted (`none`), one was accepted only by
   * `authGraceMs` of quiet (`presumed`), or one showed a sign of life (`confirmed`): a valid
   * frame, or lasting `stableAfterMs`. Until then reconnects are capped by `maxInitialAttempts`,
   * so a server that accepts and soon closes without a word cannot cause an endless loop.
   */
  #acceptance: 'none' | 'presumed' | 'confirmed' = 'none';
  #openedAt = 0;
  #token = '';
  /** The forms `#scrub` masks, worked out from `#token` on first use. */
  #tokenForms: string[] | undefined;
  /** The token function's call under way, aborted if the client stops waiting for it. */
  #tokenCall: AbortController | undefined;
  /** Bounds that call by `connectTimeoutMs`. */
  #tokenTimer: Timer | undefined;
  readonly #feed: TaskFeed<TUpdate>;
  /** Stops listening to the signal, while the client listens to it. */
  #stopAbort: (() => void) | undefined;

  static {
    // One listener for the connections of every client: an idle client holds no closure of its
    // own for them. Reports of a connection the client no longer owns are ignored.
    CONNECTION_LISTENER = {
      accepted: (client, connection, presumed) => client.#accepted(connection, presumed),
      frame: (client, parsed) => client.#frame(parsed),
      problem: (client, error) => client.emit('error', error),
      roundTrip: (client, rttMs) => client.emit('heartbeat', { rttMs }),
      ended: (client, connection, end) => client.#ended(connection, end),
      scrub: (client, text) => client.#scrub(text),
    };
    DESCRIBE = (client, cause) => (client as AnyClient).#describe(cause);
  }

  /** @throws {TaskStatusError} `INVALID_OPTIONS` for unknown or invalid options. */
  constructor(options: TaskStatusClientOptions<TUpdate>) {
    super();
    this.#options = resolveOptions(options);
    this.#feed = new TaskFeed(this, this.#options, DESCRIBE);
    // Fail fast on a base URL, user id, path or static token that can never work.
    const { token } = this.#options;
    buildTaskStatusUrl({ ...this.#urlParts(), token: typeof token === 'string' ? token : 'token' });
    // An abort closes the client in any state, an idle one too: its waits and iterators end.
    if (this.#options.signal?.aborted) void this.#shutdown(abortedError());
    else this.#attachSignal();
  }

  /**
   * Calls the listeners of `event`, as eventemitter3 does, except that a listener that throws
   * stops neither the client nor the other listeners: every listener still gets the event (the
   * iterators and waits of the client are listeners too), what the client does after the event
   * (its state change, the next reconnect, the next frame) still happens, and the error is thrown
   * again from a microtask of its own, an uncaught exception as a browser reports an event
   * listener's error.
   */
  override emit<T extends EventEmitter.EventNames<TaskStatusEvents<TUpdate>>>(
    event: T,
    ...args: EventEmitter.EventArgs<TaskStatusEvents<TUpdate>, T>
  ): boolean;
  // No call matches this one; it keeps a client assignable to a plain `EventEmitter`, as it was
  // before `emit` had a body of its own here.
  override emit(event: never, ...args: never[]): boolean;
  override emit(event: string, ...args: unknown[]): boolean {
    const stored = (this as unknown as Stored)._events[PREFIX === false ? event : PREFIX + event];
    if (!Array.isArray(stored)) {
      try {
        // The overloads above type the call; eventemitter3's own signature is left behind here.
        return super.emit(event as 'error', ...(args as [TaskStatusError]));
      } catch (error) {
        rethrowLater(error);
        return true;
      }
    }
    // Several listeners: eventemitter3's own loop would stop at the first that throws. This one
    // does what that loop does (a listener added meanwhile waits for the next event; removing
    // one makes a new array), each call on its own.
    for (let i = 0, count = stored.length; i < count; i++) {
      const { fn, context, once } = stored[i] as StoredListener;
      if (once) this.removeListener(event as 'error', fn, undefined, true);
      try {
        fn.apply(context, args);
      } catch (error) {
        rethrowLater(error);
      }
    }
    return true;
  }

  /** The current state; see {@link ConnectionState}. */
  get state(): ConnectionState {
    return this.#state;
  }

  /**
   * Read-only map of the latest update per task id, keyed as the server first sent the id (`7`
   * and `'7'` are one task).
   */
  get tasks(): ReadonlyMap<TaskId, TUpdate> {
    return this.#feed.table.tasks;
  }

  /** Counts of updates applied to the task table and of stale or duplicate ones ignored. */
  get stats(): TaskTableStats {
    return this.#feed.table.stats;
  }

  /** The latest update of a task, or `undefined`; `42` and `'42'` find the same task. */
  getTask(taskId: TaskId): TUpdate | undefined {
    return this.#feed.table.get(taskId);
  }

  /**
   * An async iterator of task updates, optionally of some tasks only, with a bounded buffer.
   * `break` unsubscribes at once; `close()` ends it; a fatal error rejects it after the
   * buffered updates. On a closed client it is already done.
   *
   * @throws {TaskStatusError} `INVALID_OPTIONS` for an unknown or invalid option.
   * @example
   * ```ts
   * for await (const update of client.updates({ taskId: 42 })) render(update);
   * ```
   */
  updates(options: UpdatesOptions = {}): TaskUpdateIterator<TUpdate> {
    checkCall('updates', options);
    return this.#feed.stream(options);
  }

  /**
   * Like `updates({ taskId })`, but first yields the update already held for the task, and
   * ends by itself after the task's terminal update (see `terminalStatuses`).
   *
   * @throws {TaskStatusError} `INVALID_OPTIONS` for a missing task id, one no update can have
   * (`''`, `-1`, `1.5`), or an invalid option.
   */
  watchTask(taskId: TaskId, options: WatchTaskOptions = {}): TaskUpdateIterator<TUpdate> {
    checkCall('watchTask', options, taskId);
    return this.#feed.watch(taskId, options);
  }

  /**
   * Resolves with the task's terminal update, whatever its status (at once if it is already
   * held); rejects with `TASK_TIMEOUT`, `ABORTED`, the error that ended the client, or
   * `INVALID_OPTIONS` for a missing task id, one no update can have, or an invalid option.
   */
  waitForTask(taskId: TaskId, options: WaitForTaskOptions = {}): Promise<TUpdate> {
    try {
      checkCall('waitForTask', options, taskId);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#feed.wait(taskId, options);
  }

  /** Iterates over every update: `for await (const update of client) …`. */
  [Symbol.asyncIterator](): TaskUpdateIterator<TUpdate> {
    return this.updates();
  }

  /**
   * Connects and resolves once the server accepted the token. Transient failures are retried
   * (and reported as `error` events) while this waits; it rejects only when the client gives up:
   * `AUTH_FAILED`, `RECONNECT_EXHAUSTED`, `ABORTED`, `CONNECTION_CLOSED`, or with
   * `reconnect: false` the first failure. Calling it while connecting returns the same promise;
   * while reconnecting, it waits for the reconnect under way.
   */
  connect(): Promise<void> {
    if (this.#options.signal?.aborted) {
      // Handled here too: a connect() fired and forgotten must not be an unhandled rejection.
      const aborted = Promise.reject(abortedError());
      aborted.catch(() => {});
      return aborted;
    }
    if (this.#state === 'open' && this.#connection !== undefined) return Promise.resolve();
    if (this.#pending !== undefined) return this.#pending.promise;
    if (this.#state === 'reconnecting' || this.#state === 'open') {
      // A reconnect is already under way (a backoff wait or an attempt), or about to be (the
      // `close` and `error` events of a dropped socket): wait for it, rather than open a second
      // socket beside it. `reconnect()` is the way to skip the wait.
      this.#pending = deferred();
      return this.#pending.promise;
    }
    const pending = deferred();
    this.#pending = pending;
    this.#closing = undefined;
    this.#feed.lastError = undefined;
    this.#failures = 0;
    this.#timeouts = 0;
    this.#authRetried = false;
    this.#refused = undefined;
    this.#acceptance = 'none';
    this.#attachSignal();
    // A `state` listener that closes the client has rejected `pending` already.
    if (this.#setState('connecting')) this.#attempt('connect', undefined);
    return pending.promise;
  }

  /**
   * Forces a reconnect attempt now: skips a pending backoff wait, or replaces an open
   * connection. On an idle or closed client it is `connect()`.
   */
  reconnect(): Promise<void> {
    if (this.#state === 'idle' || this.#state === 'closed') return this.connect();
    const pending = this.#pending ?? deferred();
    this.#pending = pending;
    if (this.#state === 'open' && this.#connection !== undefined) {
      const connection = this.#connection;
      this.#connection = undefined;
      this.#settleIfStable(true);
      const replaced = Promise.all([
        this.#replaced,
        connection.close(CloseCode.Normal, 'reconnect'),
      ]).then(() => {
        if (this.#replaced === replaced) this.#replaced = undefined;
      });
      this.#replaced = replaced;
      const generation = this.#generation;
      this.emit('close', {
        code: CloseCode.Normal,
        reason: 'reconnect',
        wasClean: true,
        willReconnect: true,
      });
      // A listener that closed the client has rejected `pending` already.
      if (generation === this.#generation && this.#setState('reconnecting')) {
        this.#attempt('reconnect', undefined);
      }
    } else if (this.#wait?.pending) {
      this.#wait.cancel();
      this.#attempt('reconnect', undefined);
    } else {
      // A drop being handled (its `close`, `error` or `state` listeners), or an attempt under
      // way: should it fail, the next attempt comes at once instead of after a wait.
      this.#reconnectNow = true;
    }
    return pending.promise;
  }

  /**
   * Closes the client: no reconnect, every timer and listener cleared, a pending `connect()`
   * rejected with `CONNECTION_CLOSED`. Idempotent; resolves when the socket has closed.
   */
  close(): Promise<void> {
    return this.#shutdown(new TaskStatusError('CONNECTION_CLOSED', 'The client was closed'));
  }

  /**
   * `close()`, for `await using client = new TaskStatusClient(…)`. Defined where the runtime has
   * `Symbol.asyncDispose` (Node 20, current browsers). TypeScript reads `await using` itself with
   * the `esnext.disposable` lib, or `esnext`.
   */
  declare [Symbol.asyncDispose]: () => Promise<void>;

  /** A log-safe summary: never the token. */
  toJSON(): { state: ConnectionState; url: string } {
    return { state: this.#state, url: this.#safeUrl() };
  }

  /** A log-safe summary, `TaskStatusClient(state, url)`: never the token. */
  override toString(): string {
    return `TaskStatusClient(${this.#state}, ${this.#safeUrl()})`;
  }

  #urlParts() {
    const { baseUrl, userId, path } = this.#options;
    return { baseUrl, userId, path };
  }

  #safeUrl(): string {
    try {
      return redactUrl(buildTaskStatusUrl({ ...this.#urlParts(), token: 'x' }));
    } catch {
      return '(invalid url)';
    }
  }

  /**
   * Moves to `next` and emits `state`. False when a listener closed the client (or a later
   * attempt replaced this one) meanwhile: the caller must then stop where it is.
   */
  #setState(next: ConnectionState): boolean {
    const previous = this.#state;
    if (previous === next) return true;
    this.#state = next;
    const generation = this.#generation;
    this.emit('state', next, previous);
    return generation === this.#generation;
  }

  #attempt(reason: TokenReason, error: TaskStatusError | undefined): void {
    const generation = ++this.#generation;
    const source = this.#options.token;
    if (typeof source === 'string') {
      this.#open(source, generation);
      return;
    }
    const call = new AbortController();
    let result: string | Promise<string>;
    try {
      result = source({
        reason,
        attempt: this.#failures,
        signal: call.signal,
        ...(error ? { error } : {}),
      });
    } catch (cause) {
      this.#tokenFailed(cause, generation);
      return;
    }
    if (typeof result === 'string') {
      this.#open(result, generation);
      return;
    }
    Promise.resolve(result).then(
      (token) => this.#open(token, generation),
      (cause: unknown) => this.#tokenFailed(cause, generation),
    );
    if (generation !== this.#generation) {
      // The function closed the client (or aborted its signal) before it awaited anything.
      call.abort();
      return;
    }
    // A token fetch that hangs (a half-open link to the auth server) must not hold the client
    // in `connecting`: after `connectTimeoutMs` the call is aborted and the attempt failed.
    this.#tokenCall = call;
    const ms = this.#options.connectTimeoutMs;
    this.#tokenTimer ??= new Timer();
    this.#tokenTimer.start(ms, () => {
      const timeout = new TaskStatusError(
        'TOKEN_ERROR',
        `The token function did not settle within connectTimeoutMs (${ms} ms)`,
      );
      this.#generation++; // its answer, if one comes, is too late
      this.#tokenSettled();
      this.#noToken(timeout);
      call.abort(timeout);
    });
  }

  #tokenFailed(cause: unknown, generation: number): void {
    if (generation !== this.#generation) return;
    this.#tokenSettled();
    const message = this.#describe(cause);
    this.#noToken(new TaskStatusError('TOKEN_ERROR', `The token function failed: ${message}`));
  }

  /**
   * The token function gave no usable token: retried with backoff. While a refused token is
   * still to be replaced, these failures are counted from the refusal and capped by
   * `maxInitialAttempts`: a refresh endpoint that fails for a moment is waited out, a revoked
   * session is not retried forever.
   */
  #noToken(error: TaskStatusError): void {
    if (this.#refused !== undefined) this.#refused.failures++;
    this.#failed(error, undefined);
  }

  #open(token: unknown, generation: number): void {
    if (generation !== this.#generation) return;
    this.#tokenSettled();
    if (typeof token !== 'string' || token.trim() === '') {
      this.#noToken(
        new TaskStatusError(
          'TOKEN_ERROR',
          'The token function returned an empty or non-string value',
        ),
      );
      return;
    }
    let url: string;
    try {
      url = buildTaskStatusUrl({ ...this.#urlParts(), token });
    } catch (error) {
      // The other parts were checked by the constructor: the token function gave a bad token.
      const { message } = error as TaskStatusError;
      this.#noToken(
        new TaskStatusError('TOKEN_ERROR', `The token function's token is unusable: ${message}`),
      );
      return;
    }
    if (token !== this.#token) this.#tokenForms = undefined;
    this.#token = token;
    this.#refused = undefined;
    const options = this.#options;
    let connection: Connection<AnyClient>;
    try {
      connection = new Connection(
        url,
        pickWebSocket(options.WebSocket),
        options,
        CONNECTION_LISTENER,
        this as unknown as AnyClient,
        Math.min(options.connectTimeoutMs * 2 ** Math.min(this.#timeouts, 2), MAX_DELAY_MS),
      );
    } catch (cause) {
      if (generation !== this.#generation) return; // the constructor closed the client
      // The constructor refuses what no retry changes: a bad URL, an insecure `ws:` from an
      // `https:` page. So this is final, not retried. (A port the browser blocks is not
      // refused here: Chromium fails that socket with close 1006, which is retried.)
      const message = this.#describe(cause);
      this.#fail(
        new TaskStatusError('CONNECTION_ERROR', `Could not create the WebSocket: ${message}`),
      );
      return;
    }
    // A `WebSocket` class of the app's own may have closed the client while it was constructed.
    if (generation === this.#generation) this.#connection = connection;
    else void connection.close(CloseCode.Normal, 'client closed');
  }

  #accepted(connection: Connection<AnyClient>, presumed: boolean): void {
    if (connection !== this.#connection) return;
    const reconnected = this.#everOpened;
    this.#everOpened = true;
    if (!presumed) this.#confirm();
    else if (this.#acceptance === 'none') this.#acceptance = 'presumed';
    this.#openedAt = Date.now();
    this.#timeouts = 0;
    this.#announced = false;
    this.#reconnectNow = false;
    // A `state` listener may close the client: then `connect()` rejects, and no `open`, no
    // `close` and no resync follow.
    if (!this.#setState('open')) return;
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.resolve();
    this.#announced = true;
    const generation = this.#generation;
    this.emit('open', { url: this.#safeUrl(), reconnected });
    if (reconnected && generation === this.#generation) void this.#resync();
  }

  async #resync(): Promise<void> {
    const failure = await this.#feed.resync();
    if (failure === undefined) return;
    // No `cause`: the user's error may carry a token; the masked message is what remains.
    const message = this.#describe(failure.cause);
    this.emit('error', new TaskStatusError('RESYNC_FAILED', `resync failed: ${message}`));
  }

  #frame(parsed: MessageFrame): void {
    // Plain text is no sign of life: a slow server may refuse with it and close late.
    if (parsed.kind !== 'text') this.#confirm();
    if (this.listenerCount('message') !== 0) {
      const generation = this.#generation;
      this.emit('message', parsed);
      if (generation !== this.#generation) return; // a listener closed the client
    }
    if (parsed.kind === 'task_update') this.#feed.receive(parsed.update);
    else if (parsed.kind === 'connected') this.#checkAck(parsed.frame.user_id);
  }

  /**
   * An ack naming another user than the route is reported, and the connection kept. Only
   * numeric ids are compared: a server may well ack a username route with the user's number.
   */
  #checkAck(acked: unknown): void {
    const asked = String(this.#options.userId).trim();
    if (!isDigits(asked) || !isDigits(acked) || Number(acked) === Number(asked)) return;
    const user = truncate(String(acked), 50);
    this.emit(
      'error',
      new TaskStatusError(
        'PROTOCOL_ERROR',
        `The server acknowledged user ${user} on the task route of user ${asked}: the token ` +
          'may belong to another user, or the server checks the wrong one',
      ),
    );
  }

  #ended(connection: Connection<AnyClient>, end: ConnectionEnd): void {
    if (connection !== this.#connection) return;
    this.#connection = undefined;
    const decision = decideAfterClose({
      code: end.code,
      userInitiated: false,
      authErrorFrame: end.authError !== undefined,
      authHttpStatus: end.httpStatus === 401 || end.httpStatus === 403,
    });
    if (decision === 'auth') this.#authFailed(end);
    else this.#failed(end.error, end);
  }

  #authFailed(end: ConnectionEnd): void {
    const error = authFailure(end, this.#safeUrl());
    const policy = this.#options.reconnect;
    // Every check below is against this: `shouldReconnect` and each listener may close the client.
    const generation = this.#generation;
    if (policy !== false && this.#override(end, error) === true) {
      if (generation === this.#generation) this.#failed(error, end, true);
      else this.#closedMeanwhile(end);
      return;
    }
    if (generation !== this.#generation) {
      this.#closedMeanwhile(end);
      return;
    }
    // Quiet alone is no sign of life, or a server that refuses later than authGraceMs (or later
    // than stableAfterMs) would have the token refreshed forever.
    this.#settleIfStable(end.accepted && !end.presumed);
    const willRetry =
      policy !== false && typeof this.#options.token === 'function' && !this.#authRetried;
    this.emit('authError', {
      code: end.authError?.code ?? null,
      // A refusal by close alone (`WebSocketException(1008, reason=…)`) says why in its reason.
      message: end.authError?.message ?? (end.reason || null),
      closeCode: error.closeCode,
      httpStatus: end.httpStatus,
      willRetry,
    });
    if (generation === this.#generation) this.#emitClose(end, willRetry);
    else this.#closedMeanwhile(end);
    if (generation !== this.#generation) return; // a listener closed the client
    if (!willRetry) {
      this.#fail(error);
      return;
    }
    this.#authRetried = true;
    this.#refused = { end, failures: 0 };
    this.emit('error', error);
    if (generation !== this.#generation) return;
    if (this.#state === 'open' && !this.#setState('reconnecting')) return;
    this.#attempt('auth-retry', error);
  }

  /** A transient failure: reconnect per policy, or give up. */
  #failed(error: TaskStatusError, end: ConnectionEnd | undefined, forced = false): void {
    const policy = this.#options.reconnect;
    // Every check below is against this: `shouldReconnect`, `random` and each listener may close
    // the client.
    const generation = this.#generation;
    let willReconnect = policy !== false;
    if (willReconnect && !forced && end !== undefined) {
      willReconnect = this.#override(end, error) ?? true;
      if (generation !== this.#generation) {
        this.#closedMeanwhile(end);
        return;
      }
    }
    if (policy === false || !willReconnect) {
      if (end !== undefined) this.#emitClose(end, false);
      if (generation === this.#generation) this.#fail(error); // unless a listener closed it
      return;
    }
    if (end !== undefined) this.#settleIfStable(end.accepted);
    this.#failures += 1;
    this.#timeouts = error.code === 'HANDSHAKE_TIMEOUT' ? this.#timeouts + 1 : 0;
    const confirmed = this.#acceptance === 'confirmed';
    const refused = this.#refused;
    const limit =
      confirmed && refused === undefined
        ? policy.maxAttempts
        : Math.min(policy.maxAttempts, policy.maxInitialAttempts);
    if ((refused?.failures ?? this.#failures) > limit) {
      if (end !== undefined) this.#emitClose(end, false);
      if (generation === this.#generation) this.emit('error', error);
      if (generation !== this.#generation) return; // a listener closed the client
      if (refused !== undefined) {
        // The token function never replaced the refused token: that is why it is over.
        this.#fail(authFailure(refused.end, this.#safeUrl(), error));
        return;
      }
      const which = confirmed
        ? ''
        : this.#acceptance === 'none'
          ? ' without ever connecting'
          : ' in which no connection showed a sign of life';
      // A connection that was accepted and then dropped is a failure too, which is not obvious.
      const why = end?.accepted
        ? ` (a connection that closes within stableAfterMs (${policy.stableAfterMs} ms) counts as failed)`
        : '';
      this.#fail(
        new TaskStatusError(
          'RECONNECT_EXHAUSTED',
          `Gave up after ${limit} failed reconnect attempt${limit === 1 ? '' : 's'} in a row${which}${why}; last: ${error.message}`,
          { cause: error },
        ),
      );
      return;
    }
    if (end !== undefined) this.#emitClose(end, true);
    if (generation === this.#generation) this.emit('error', error);
    if (generation !== this.#generation) return; // a listener closed the client
    let delayMs: number;
    try {
      delayMs = reconnectDelay(policy, this.#failures - 1, this.#options.random);
    } catch (cause) {
      // A `random` that throws is reported like a listener's error; the jitter still happens.
      rethrowLater(cause);
      delayMs = reconnectDelay(policy, this.#failures - 1, Math.random);
    }
    if (generation !== this.#generation || !this.#setState('reconnecting')) return;
    const attempt = this.#failures;
    if (this.#reconnectNow) {
      // `reconnect()` was called from a listener of this drop: no wait.
      this.#reconnectNow = false;
      this.emit('reconnecting', { attempt, delayMs: 0, offline: false, reason: error });
      if (generation === this.#generation) this.#attempt('reconnect', error);
      return;
    }
    // The wait starts before the event, so that a `reconnect()` from a listener can cut it short.
    this.#wait ??= new RetryWait();
    this.#wait.start(delayMs, () => this.#attempt('reconnect', error));
    const offline = waitsForOnline();
    this.emit('reconnecting', { attempt, delayMs, offline, reason: error });
  }

  /** A sign of life: reconnects are no longer capped by `maxInitialAttempts`. */
  #confirm(): void {
    this.#acceptance = 'confirmed';
  }

  /**
   * A connection that had been accepted and stayed up for `stableAfterMs`, however it ends: the
   * failure count starts again from zero, and the token has shown it works, so a later refusal
   * may have it refreshed once again.
   */
  #settleIfStable(accepted: boolean): void {
    const policy = this.#options.reconnect;
    if (!accepted || policy === false || Date.now() - this.#openedAt < policy.stableAfterMs) return;
    this.#failures = 0;
    this.#authRetried = false;
    this.#confirm();
  }

  /**
   * The `shouldReconnect` verdict on a close, or `undefined` when there is no predicate or it
   * threw: its error is then thrown again from a microtask, as a listener's is, and the default
   * policy decides.
   */
  #override(end: ConnectionEnd, error: TaskStatusError): boolean | undefined {
    const predicate = this.#options.shouldReconnect;
    if (predicate === undefined) return undefined;
    try {
      return Boolean(
        predicate({ code: end.code, reason: end.reason, wasClean: end.wasClean, error }),
      );
    } catch (cause) {
      rethrowLater(cause);
      return undefined;
    }
  }

  /**
   * The close of a socket that user code (`shouldReconnect`, an `authError` listener) cut short
   * by closing the client before the close was reported: reported now, as final, unless that
   * code also began a new run.
   */
  #closedMeanwhile(end: ConnectionEnd): void {
    if (this.#state === 'closed') this.#emitClose(end, false);
  }

  #emitClose(end: ConnectionEnd, willReconnect: boolean): void {
    if (!end.opened) return;
    this.emit('close', {
      code: end.code,
      reason: end.reason,
      wasClean: end.wasClean,
      willReconnect,
    });
  }

  /**
   * A final failure: state `closed`, `connect()` rejected, nothing left running. Everything is
   * settled before the events, so a listener that calls `connect()` starts a new run cleanly.
   */
  #fail(error: TaskStatusError): void {
    this.#teardown();
    this.#detachSignal();
    const pending = this.#pending;
    this.#pending = undefined;
    this.#feed.end(error, true);
    this.#setState('closed');
    pending?.reject(error);
    this.emit('error', error);
  }

  /** `close()` and an abort: as `#fail`, everything is settled before the events. */
  #shutdown(error: TaskStatusError): Promise<void> {
    if (this.#closing !== undefined) {
      // From a `close` listener of this very close: the client is closed now, as promised.
      if (this.#state !== 'closed') this.#closed(error);
      return this.#closing;
    }
    const connection = this.#connection;
    const wasOpen = this.#state === 'open';
    this.#teardown();
    // It resolves when every socket is closed, a replaced one still saying goodbye included.
    const closing = Promise.all([
      connection?.close(CloseCode.Normal, 'client closed'),
      this.#replaced,
    ]).then(() => {});
    this.#closing = closing;
    this.#feed.end(error, false);
    // Before the state change, as for a final drop: a `state` listener may start a new run, whose
    // events must not come before this socket's end. A `connect()` or `reconnect()` from this
    // listener is part of the run being closed, and is rejected with it.
    const generation = this.#generation;
    if (connection !== undefined && wasOpen && this.#announced) {
      this.emit('close', {
        code: CloseCode.Normal,
        reason: 'client closed',
        wasClean: true,
        willReconnect: false,
      });
      this.#reconnectNow = false;
    }
    // Unless a `close()` from that listener closed it, and a `state` listener began a new run.
    if (generation === this.#generation) {
      // Only now: an abort from that listener closes the client at once too.
      this.#detachSignal();
      this.#closed(error);
    }
    return closing;
  }

  /** The last step of `#shutdown`: state `closed`, and the pending `connect()` rejected. */
  #closed(error: TaskStatusError): void {
    const pending = this.#pending;
    this.#pending = undefined;
    this.#setState('closed');
    pending?.reject(error);
  }

  #teardown(): void {
    this.#generation++;
    this.#reconnectNow = false;
    this.#wait?.cancel();
    const call = this.#tokenCall;
    this.#tokenSettled();
    call?.abort();
    this.#connection = undefined;
  }

  #tokenSettled(): void {
    this.#tokenTimer?.clear();
    this.#tokenCall = undefined;
  }

  #attachSignal(): void {
    const signal = this.#options.signal;
    if (signal === undefined || this.#stopAbort !== undefined) return;
    this.#stopAbort = onAbort(signal, () => void this.#shutdown(abortedError()));
  }

  #detachSignal(): void {
    this.#stopAbort?.();
    this.#stopAbort = undefined;
  }

  /**
   * What a value thrown by the app's code says, token masked. Only an error's message or a string
   * is read: `String()` of other values may throw, or call the app's code again.
   */
  #describe(cause: unknown): string {
    const text = cause instanceof Error ? cause.message : cause;
    return typeof text === 'string' ? this.#scrub(text) : 'unknown error';
  }

  #scrub(text: string): string {
    this.#tokenForms ??= tokenForms(this.#token);
    return maskToken(redactUrl(text), this.#tokenForms);
  }
}

/**
 * Creates a {@link TaskStatusClient}; the same as `new TaskStatusClient(options)`.
 */
export function createTaskStatusClient<TUpdate extends TaskUpdate = TaskUpdate>(
  options: TaskStatusClientOptions<TUpdate>,
): TaskStatusClient<TUpdate> {
  return new TaskStatusClient(options);
}

function isDigits(value: unknown): boolean {
  return (typeof value === 'number' || typeof value === 'string') && /^\d+$/.test(String(value));
}

function abortedError(): TaskStatusError {
  return new TaskStatusError('ABORTED', 'The client was closed by its AbortSignal');
}

function deferred(): Pending {
  let resolve!: () => void;
  let reject!: (error: TaskStatusError) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // connect() may be fired and forgotten; its failures are also `error` events.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

declare global {
  interface SymbolConstructor {
    /**
     * The key of the method `await using` calls, as `esnext.disposable` declares it: declared here
     * too, so that the client's type names it whatever `lib` a project has.
     */
    readonly asyncDispose: unique symbol;
  }
}

if (typeof Symbol.asyncDispose === 'symbol') {
  Object.defineProperty(TaskStatusClient.prototype, Symbol.asyncDispose, {
    value(this: TaskStatusClient) {
      return this.close();
    },
  });
}
