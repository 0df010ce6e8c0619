import { TaskStatusError } from '../errors.js';
import { isTaskId, PING_FRAME } from '../protocol/parse.js';
import type { TaskUpdate } from '../protocol/types.js';
import type { WebSocketConstructor } from '../transport/websocket.js';
import { DEFAULT_TASK_STATUS_PATH } from '../url.js';
import type { ResyncFunction } from './resync.js';
import type { StandardSchemaV1 } from './standard-schema.js';

/** Why the token function is being called. */
export type TokenReason = 'connect' | 'reconnect' | 'auth-retry';

/** What the token function is told on each call. */
export interface TokenContext {
  /** `connect` for a first attempt, `reconnect` after a drop, `auth-retry` after a refused token. */
  readonly reason: TokenReason;
  /**
   * Consecutive failed attempts so far that led to a backoff wait (0 on a first try). A refused
   * token does not count: the `auth-retry` call has the count as it was before the refusal.
   */
  readonly attempt: number;
  /** The failure that led to this call, if any. */
  readonly error?: Error;
  /**
   * Aborted when the client stops waiting for this call: the client is closed or aborted, or the
   * call took longer than `connectTimeoutMs`. Pass it on to `fetch` to cancel a token request.
   */
  readonly signal: AbortSignal;
}

/** A token, or a function that returns the current one (called on every connect attempt). */
export type TokenSource = string | ((context: TokenContext) => string | Promise<string>);

/** Jitter applied to reconnect delays. */
export type JitterMode = 'full' | 'equal' | 'none';

/**
 * An options group with every field set: what the client runs with once the defaults are
 * filled in (`HEARTBEAT_DEFAULTS`, `RECONNECT_DEFAULTS`).
 */
export type Complete<T> = { readonly [K in keyof T]-?: Exclude<T[K], undefined> };

/** Heartbeat settings. */
export interface HeartbeatOptions {
  /**
   * How often the client sends its ping (`message`) on an open connection.
   * @default 25000
   */
  intervalMs?: number | undefined;
  /**
   * How long after a ping the client waits for any frame before it calls the connection dead.
   * Only one ping is out at a time: a `timeoutMs` longer than `intervalMs` delays the next ping.
   * @default 10000
   */
  timeoutMs?: number | undefined;
  /**
   * The ping frame the client sends. Use `'ping'` for a server that answers only a plain-text
   * `ping` (with `pong`): an idle server that ignores the client's ping is taken for dead after
   * `timeoutMs`. A `pong` in either form completes the round trip.
   * @default '{"type":"ping"}'
   */
  message?: string | undefined;
}

/** Reconnect settings. */
export interface ReconnectOptions {
  /**
   * Base delay before the first reconnect (the first retry waits a random time below it).
   * @default 1000, or `maxDelayMs` when that is set lower
   */
  initialDelayMs?: number | undefined;
  /**
   * Largest delay between attempts.
   * @default 5000
   */
  maxDelayMs?: number | undefined;
  /**
   * Growth of the delay per failed attempt.
   * @default 2
   */
  factor?: number | undefined;
  /**
   * How many reconnect attempts in a row may fail before the client gives up with
   * `RECONNECT_EXHAUSTED`, once it has been connected (after a drop, a restart, a network
   * change). The failure that started the run is not counted: with `2`, a drop is followed by at
   * most two reconnect attempts.
   * @default Infinity
   */
  maxAttempts?: number | undefined;
  /**
   * How many reconnect attempts in a row may fail before `connect()` gives up with
   * `RECONNECT_EXHAUSTED` when no connection since it was called has shown a sign of life: a
   * valid frame (an ack, an update, a pong; plain text is not one), or staying open for
   * `stableAfterMs`. A browser sees an upgrade
   * the server refuses exactly as a server that is down (close 1006), and a server may accept,
   * check the token for longer than `authGraceMs` and close without a word; this keeps both from
   * retrying forever. The lower of this and `maxAttempts` applies.
   * @default 6
   */
  maxInitialAttempts?: number | undefined;
  /**
   * `full`: random in [0, cap]; `equal`: cap/2 plus random in [0, cap/2]; `none`: the cap.
   * @default 'full'
   */
  jitter?: JitterMode | undefined;
  /**
   * How long a connection must stay open before the attempt counter starts again from zero.
   * @default 5000
   */
  stableAfterMs?: number | undefined;
}

/** What `shouldReconnect` is told about a close. */
export interface CloseInfo {
  /** WebSocket close code (1006 when the connection dropped or never opened). */
  readonly code: number;
  /** Close reason (with any token masked). */
  readonly reason: string;
  /** Whether the closing handshake completed. */
  readonly wasClean: boolean;
  /** The error the client derived from the close. */
  readonly error: TaskStatusError;
}

/** Options of {@link TaskStatusClient}. */
export interface TaskStatusClientOptions<TUpdate extends TaskUpdate = TaskUpdate> {
  /**
   * Where the backend lives; see `buildTaskStatusUrl`. Relative values work in browsers.
   * @example 'https://api.example.com'
   */
  baseUrl: string;
  /** The user whose tasks to follow. */
  userId: number | string;
  /**
   * The JWT, or a function returning it; the function is called on every connect attempt and
   * once more, with reason `auth-retry`, when the server refuses a token.
   */
  token: TokenSource;
  /**
   * Route template; `{userId}` marks the user id. A path alone: query parameters go on `baseUrl`.
   * @default '/api/v1/ws/tasks/{userId}'
   */
  path?: string | undefined;
  /**
   * WebSocket constructor to use: the DOM's `WebSocket` and `ws`'s class fit as they are. In
   * Node, a subclass of `ws`'s class that passes options to it can trust a private CA (`ca`),
   * as `docs/connection.md` shows under "TLS".
   * @default `globalThis.WebSocket` (in Node, only one a mock such as msw has installed), else
   * `ws` (looked up on each connect)
   */
  WebSocket?: WebSocketConstructor | undefined;
  /**
   * Time allowed for the opening handshake plus the server's auth verdict, and, apart from that,
   * for a token function's promise to settle. After each handshake timeout in a row, the next
   * handshake is allowed twice as long, up to 4 × this (and at most 2^31 - 1 ms, the longest a
   * timer waits), so a backend slowed by load can drain the upgrades it queued; an accepted
   * connection starts again from this.
   * @default 10000
   */
  connectTimeoutMs?: number | undefined;
  /**
   * For servers that send no `connected` frame: quiet time after the socket opens that counts as
   * "token accepted" (`0`: the open itself). Until a valid frame arrives, that verdict is only
   * presumed: an error or text frame and a close still make it a refusal.
   * @default 1000, or half of `connectTimeoutMs` when that is below 2000, so the verdict fits
   */
  authGraceMs?: number | undefined;
  /**
   * Heartbeat settings, or `false` to send no pings.
   * @default { intervalMs: 25000, timeoutMs: 10000, message: '{"type":"ping"}' }
   */
  heartbeat?: false | HeartbeatOptions | undefined;
  /**
   * Reconnect settings, or `false` to never reconnect.
   * @default { initialDelayMs: 1000, maxDelayMs: 5000, factor: 2, maxAttempts: Infinity, maxInitialAttempts: 6, jitter: 'full', stableAfterMs: 5000 }
   */
  reconnect?: false | ReconnectOptions | undefined;
  /**
   * Decides whether to reconnect after a close the client did not ask for; overrides the
   * close-code policy (a user `close()` never reconnects). If it throws, the policy decides and
   * the error is thrown again from a microtask, as a throwing listener's is.
   * @default the policy in `docs/connection.md`
   */
  shouldReconnect?: ((info: CloseInfo) => boolean) | undefined;
  /**
   * Closes the client when aborted, as `close()` does but with `ABORTED`, in any state: an idle
   * client too. A client made with a signal already aborted starts `closed`.
   * @default undefined
   */
  signal?: AbortSignal | undefined;
  /**
   * Random source in [0, 1) for jitter; inject one for deterministic tests. Values outside
   * [0, 1) are clamped; if it throws, `Math.random` stands in for that delay and the error is
   * thrown again from a microtask.
   * @default Math.random
   */
  random?: (() => number) | undefined;
  /**
   * Frames longer than this many bytes are dropped and reported as `FRAME_TOO_LARGE`.
   * @default 1048576
   */
  maxFrameBytes?: number | undefined;
  /**
   * A Standard Schema run on every update after the built-in check; its output is what `task`
   * listeners receive. `withResult(schema)` (from `task-status-client/schemas`) checks and types
   * the task payload, `result`, alone; a zod schema extending `taskUpdateSchema` checks the whole
   * update again. Must validate synchronously.
   * @default undefined
   */
  taskSchema?: StandardSchemaV1<TaskUpdate, TUpdate> | undefined;
  /**
   * Statuses after which a task changes no more; `waitForTask` and `watchTask` end on them.
   * @default ['completed', 'failed', 'cancelled']
   */
  terminalStatuses?: readonly string[] | undefined;
  /**
   * Most tasks the task table (`client.tasks`) holds. Past it, the finished tasks (a terminal
   * status) first seen longest ago are forgotten, a tenth of `maxTasks` at a time, so that a
   * client that runs for days does not keep every task it ever saw. Tasks that are not finished
   * are never forgotten. `Infinity` keeps them all.
   * @default 10000
   */
  maxTasks?: number | undefined;
  /**
   * Called after every reconnect (not the first connect) to fetch what changed while the socket
   * was down; its updates go through the task table like live ones.
   * @default undefined
   */
  resync?: ResyncFunction<TUpdate> | undefined;
}

/** Statuses after which a task changes no more, by default. */
export const TERMINAL_STATUSES: readonly string[] = Object.freeze([
  'completed',
  'failed',
  'cancelled',
]);

/** Default heartbeat settings. */
export const HEARTBEAT_DEFAULTS: Complete<HeartbeatOptions> = Object.freeze({
  intervalMs: 25_000,
  timeoutMs: 10_000,
  message: PING_FRAME,
});

/** Default reconnect settings. */
export const RECONNECT_DEFAULTS: Complete<ReconnectOptions> = Object.freeze({
  initialDelayMs: 1_000,
  maxDelayMs: 5_000,
  factor: 2,
  maxAttempts: Number.POSITIVE_INFINITY,
  maxInitialAttempts: 6,
  jitter: 'full',
  stableAfterMs: 5_000,
});

/** Defaults of the top-level options that are numbers: timings and limits. */
export const CONNECT_DEFAULTS = Object.freeze({
  connectTimeoutMs: 10_000,
  authGraceMs: 1_000,
  maxFrameBytes: 1_048_576,
  maxTasks: 10_000,
});

/** Options after `resolveOptions`: every field present and checked. */
export interface ResolvedOptions<TUpdate extends TaskUpdate = TaskUpdate> {
  readonly baseUrl: string;
  readonly userId: number | string;
  readonly token: TokenSource;
  readonly path: string;
  readonly WebSocket: WebSocketConstructor | undefined;
  readonly connectTimeoutMs: number;
  readonly authGraceMs: number;
  readonly heartbeat: Complete<HeartbeatOptions> | false;
  readonly reconnect: Complete<ReconnectOptions> | false;
  readonly shouldReconnect: ((info: CloseInfo) => boolean) | undefined;
  readonly signal: AbortSignal | undefined;
  readonly random: () => number;
  readonly maxFrameBytes: number;
  readonly taskSchema: StandardSchemaV1<TaskUpdate, TUpdate> | undefined;
  readonly terminalStatuses: ReadonlySet<string>;
  readonly maxTasks: number;
  readonly resync: ResyncFunction<TUpdate> | undefined;
}

type Rule = readonly [check: (value: unknown) => boolean, expected: string];

const isFunction = (value: unknown) => typeof value === 'function';
const atLeast =
  (min: number) =>
  (value: unknown): boolean =>
    typeof value === 'number' && value >= min && value < Number.POSITIVE_INFINITY;
/** The longest delay a timer takes (2^31 - 1 ms, about 24.8 days): a longer one fires at once. */
export const MAX_DELAY_MS = 2_147_483_647;
/** A delay a timer will wait out: `min` to {@link MAX_DELAY_MS} ms. */
const ms = (min: number): Rule => [
  (value) => typeof value === 'number' && value >= min && value <= MAX_DELAY_MS,
  `a number of ms from ${min} to ${MAX_DELAY_MS}`,
];
const isCount = (value: unknown) =>
  value === Number.POSITIVE_INFINITY || (Number.isInteger(value) && (value as number) >= 0);
const SIGNAL: Rule = [
  (value) =>
    typeof (value as AbortSignal | null)?.addEventListener === 'function' &&
    typeof (value as AbortSignal).aborted === 'boolean',
  'an AbortSignal',
];
const TASK_ID = 'a task id (an integer from 0 to 2^53 - 1 or a non-empty string)';
const isGroup = (value: unknown) =>
  value === false || (typeof value === 'object' && value !== null && !Array.isArray(value));

const RULES: Readonly<Record<string, Rule>> = {
  baseUrl: [(v) => typeof v === 'string', 'a string'],
  userId: [(v) => typeof v === 'number' || typeof v === 'string', 'a number or a string'],
  token: [
    (v) => isFunction(v) || (typeof v === 'string' && v.trim() !== ''),
    'a non-empty string or a function returning one',
  ],
  path: [(v) => typeof v === 'string' && v.trim() !== '', 'a non-empty string'],
  WebSocket: [isFunction, 'a WebSocket constructor'],
  connectTimeoutMs: ms(1),
  authGraceMs: ms(0),
  heartbeat: [isGroup, 'false or an object'],
  reconnect: [isGroup, 'false or an object'],
  shouldReconnect: [isFunction, 'a function'],
  signal: SIGNAL,
  random: [isFunction, 'a function'],
  maxFrameBytes: [atLeast(1), 'a finite number >= 1'],
  taskSchema: [
    (v) => isFunction((v as StandardSchemaV1 | null)?.['~standard']?.validate),
    'a Standard Schema (e.g. a zod schema)',
  ],
  terminalStatuses: [
    (v) => Array.isArray(v) && v.length > 0 && v.every((s) => typeof s === 'string'),
    'a non-empty array of strings',
  ],
  maxTasks: [
    (v) => v === Number.POSITIVE_INFINITY || (Number.isInteger(v) && (v as number) >= 1),
    'an integer >= 1, or Infinity',
  ],
  resync: [isFunction, 'a function'],
};

const HEARTBEAT_RULES: Readonly<Record<string, Rule>> = {
  intervalMs: ms(1),
  timeoutMs: ms(1),
  message: [(v) => typeof v === 'string' && v !== '', 'a non-empty string'],
};

const RECONNECT_RULES: Readonly<Record<string, Rule>> = {
  initialDelayMs: ms(0),
  maxDelayMs: ms(0),
  factor: [atLeast(1), 'a finite number >= 1'],
  maxAttempts: [isCount, 'a non-negative integer or Infinity'],
  maxInitialAttempts: [isCount, 'a non-negative integer or Infinity'],
  jitter: [(v) => v === 'full' || v === 'equal' || v === 'none', "'full', 'equal' or 'none'"],
  stableAfterMs: [atLeast(0), 'a finite number >= 0'],
};

const WATCH_RULES: Readonly<Record<string, Rule>> = {
  signal: SIGNAL,
  bufferSize: [(v) => Number.isInteger(v) && (v as number) >= 1, 'an integer >= 1'],
  overflow: [(v) => v === 'drop-oldest' || v === 'error', "'drop-oldest' or 'error'"],
};

/** The options each call takes; `watchTask` takes its task id as the first argument only. */
const CALL_RULES: Readonly<
  Record<'updates' | 'watchTask' | 'waitForTask', Readonly<Record<string, Rule>>>
> = {
  updates: {
    ...WATCH_RULES,
    taskId: [
      (v) => isTaskId(v) || (Array.isArray(v) && v.every(isTaskId)),
      `${TASK_ID} or an array of task ids`,
    ],
  },
  watchTask: WATCH_RULES,
  waitForTask: { signal: SIGNAL, timeoutMs: ms(0) },
};

/**
 * Checks the arguments of `updates()` (no task id), `watchTask()` and `waitForTask()`.
 * @throws {TaskStatusError} `INVALID_OPTIONS` naming the call and the argument.
 */
export function checkCall(call: keyof typeof CALL_RULES, options: unknown, taskId?: unknown): void {
  if (call !== 'updates' && !isTaskId(taskId)) {
    const got =
      typeof taskId === 'number' ? taskId : taskId === '' ? 'an empty string' : typeof taskId;
    throw invalid(`${call}(taskId)`, `must be ${TASK_ID}, got ${got}`);
  }
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalid(`${call}(options)`, 'must be an object');
  }
  checkGroup(options, CALL_RULES[call], `${call}.`);
}

/**
 * Turns user options into complete internal ones, rejecting unknown keys and bad values with
 * `INVALID_OPTIONS`. Pure: reads nothing but its argument.
 */
export function resolveOptions<TUpdate extends TaskUpdate>(
  options: TaskStatusClientOptions<TUpdate>,
): ResolvedOptions<TUpdate> {
  if (!isGroup(options) || !options) throw invalid('options', 'must be an object');
  checkGroup(options, RULES, '');
  for (const key of ['baseUrl', 'userId', 'token'] as const) {
    if (options[key] === undefined) throw invalid(key, 'is required');
  }
  const group = options.reconnect;
  let reconnect = group && merge(RECONNECT_DEFAULTS, group, RECONNECT_RULES, 'reconnect.');
  if (group && reconnect && reconnect.maxDelayMs < reconnect.initialDelayMs) {
    // A cap set alone lowers the default first delay to it; a first delay set above it is a mistake.
    if (group.initialDelayMs !== undefined) {
      throw invalid(
        'reconnect.maxDelayMs',
        `must be at least reconnect.initialDelayMs (${reconnect.initialDelayMs})`,
      );
    }
    reconnect = Object.freeze({ ...reconnect, initialDelayMs: reconnect.maxDelayMs });
  }
  const connectTimeoutMs = options.connectTimeoutMs ?? CONNECT_DEFAULTS.connectTimeoutMs;
  // Every field written out, in one literal: the object keeps one shape with its fields inline,
  // which matters when a process holds thousands of clients.
  const resolved: ResolvedOptions<TUpdate> = {
    baseUrl: options.baseUrl,
    userId: options.userId,
    token: options.token,
    path: options.path ?? DEFAULT_TASK_STATUS_PATH,
    WebSocket: options.WebSocket,
    connectTimeoutMs,
    // A grace period as long as the deadline would time out every first attempt against a
    // server that sends no ack: a short deadline leaves half of itself to the handshake.
    authGraceMs:
      options.authGraceMs ?? Math.min(CONNECT_DEFAULTS.authGraceMs, connectTimeoutMs / 2),
    heartbeat:
      options.heartbeat === false
        ? false
        : merge(HEARTBEAT_DEFAULTS, options.heartbeat, HEARTBEAT_RULES, 'heartbeat.'),
    reconnect: reconnect === undefined ? RECONNECT_DEFAULTS : reconnect,
    shouldReconnect: options.shouldReconnect,
    signal: options.signal,
    random: options.random ?? Math.random,
    maxFrameBytes: options.maxFrameBytes ?? CONNECT_DEFAULTS.maxFrameBytes,
    taskSchema: options.taskSchema,
    terminalStatuses:
      options.terminalStatuses === undefined
        ? DEFAULT_TERMINAL_SET
        : new Set(options.terminalStatuses),
    maxTasks: options.maxTasks ?? CONNECT_DEFAULTS.maxTasks,
    resync: options.resync,
  };
  return resolved;
}

/** The default terminal statuses as a set, shared by every client that keeps them. */
const DEFAULT_TERMINAL_SET: ReadonlySet<string> = new Set(TERMINAL_STATUSES);

/** Checks a group's keys and values against its rules, then lays it over the defaults. */
function merge<T extends object>(
  defaults: Readonly<T>,
  value: object | undefined,
  rules: Readonly<Record<string, Rule>>,
  prefix: string,
): Readonly<T> {
  if (value === undefined) return defaults;
  checkGroup(value, rules, prefix);
  return Object.freeze({ ...defaults, ...defined(value) });
}

function checkGroup(value: object, rules: Readonly<Record<string, Rule>>, prefix: string): void {
  for (const [key, item] of Object.entries(value)) {
    // Own keys only: `constructor` or `__proto__` is an unknown option, not a rule.
    const rule = Object.hasOwn(rules, key) ? rules[key] : undefined;
    if (rule === undefined) {
      throw invalid(prefix + key, `is not a known option; known: ${Object.keys(rules).join(', ')}`);
    }
    if (item !== undefined && !rule[0](item)) {
      // Only numbers are echoed: a wrong value may be a secret.
      const got =
        typeof item === 'number' && key !== 'token'
          ? String(item)
          : item === null
            ? 'null'
            : typeof item;
      throw invalid(prefix + key, `must be ${rule[1]}, got ${got}`);
    }
  }
}

/** The entries of `value` that are not `undefined`. */
function defined(value: object): object {
  return Object.fromEntries(Object.entries(value).filter((entry) => entry[1] !== undefined));
}

function invalid(option: string, problem: string): TaskStatusError {
  return new TaskStatusError('INVALID_OPTIONS', `Invalid option "${option}": ${problem}`);
}
