import { TaskStatusError } from '../errors.js';
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
  /** Consecutive failed attempts so far (0 on a first try). */
  readonly attempt: number;
  /** The failure that led to this call, if any. */
  readonly error?: Error;
}

/** A token, or a function that returns the current one (called on every connect attempt). */
export type TokenSource = string | ((context: TokenContext) => string | Promise<string>);

/** Jitter applied to reconnect delays. */
export type JitterMode = 'full' | 'equal' | 'none';

/** Heartbeat settings. */
export interface HeartbeatOptions {
  /**
   * How often the client sends `{"type":"ping"}` on an open connection.
   * @default 25000
   */
  intervalMs?: number;
  /**
   * How long after a ping the client waits for any frame before it calls the connection dead.
   * @default 10000
   */
  timeoutMs?: number;
}

/** Reconnect settings. */
export interface ReconnectOptions {
  /**
   * Base delay before the first reconnect (the first retry waits a random time below it).
   * @default 1000
   */
  initialDelayMs?: number;
  /**
   * Largest delay between attempts.
   * @default 5000
   */
  maxDelayMs?: number;
  /**
   * Growth of the delay per failed attempt.
   * @default 2
   */
  factor?: number;
  /**
   * Failed attempts in a row before the client gives up with `RECONNECT_EXHAUSTED`.
   * @default Infinity
   */
  maxAttempts?: number;
  /**
   * `full`: random in [0, cap]; `equal`: cap/2 plus random in [0, cap/2]; `none`: the cap.
   * @default 'full'
   */
  jitter?: JitterMode;
  /**
   * How long a connection must stay open before the attempt counter starts again from zero.
   * @default 5000
   */
  stableAfterMs?: number;
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
   * Route template; `{userId}` marks the user id.
   * @default '/api/v1/ws/tasks/{userId}'
   */
  path?: string;
  /**
   * WebSocket constructor to use.
   * @default `globalThis.WebSocket`, else `ws` (looked up on each connect)
   */
  WebSocket?: WebSocketConstructor;
  /**
   * Time allowed for the opening handshake plus the server's auth verdict.
   * @default 10000
   */
  connectTimeoutMs?: number;
  /**
   * For servers that send no `connected` frame: quiet time after the socket opens that counts as
   * "token accepted".
   * @default 1000
   */
  authGraceMs?: number;
  /**
   * Heartbeat settings, or `false` to send no pings.
   * @default { intervalMs: 25000, timeoutMs: 10000 }
   */
  heartbeat?: false | HeartbeatOptions;
  /**
   * Reconnect settings, or `false` to never reconnect.
   * @default { initialDelayMs: 1000, maxDelayMs: 5000, factor: 2, maxAttempts: Infinity, jitter: 'full', stableAfterMs: 5000 }
   */
  reconnect?: false | ReconnectOptions;
  /**
   * Decides whether to reconnect after a close the client did not ask for; overrides the
   * close-code policy (a user `close()` never reconnects).
   * @default the policy in `docs/connection.md`
   */
  shouldReconnect?: (info: CloseInfo) => boolean;
  /**
   * Closes the client when aborted.
   * @default undefined
   */
  signal?: AbortSignal;
  /**
   * Random source in [0, 1) for jitter; inject one for deterministic tests.
   * @default Math.random
   */
  random?: () => number;
  /**
   * Frames longer than this many bytes are dropped and reported as `FRAME_TOO_LARGE`.
   * @default 1048576
   */
  maxFrameBytes?: number;
  /**
   * A Standard Schema (e.g. a zod schema extending `taskUpdateSchema`) run on every update after
   * the built-in check; its output is what `task` listeners receive. Must validate synchronously.
   * @default undefined
   */
  taskSchema?: StandardSchemaV1<TaskUpdate, TUpdate>;
  /**
   * Statuses after which a task changes no more; `waitForTask` and `watchTask` end on them.
   * @default ['completed', 'failed', 'cancelled']
   */
  terminalStatuses?: readonly string[];
  /**
   * Called after every reconnect (not the first connect) to fetch what changed while the socket
   * was down; its updates go through the task table like live ones.
   * @default undefined
   */
  resync?: ResyncFunction<TUpdate>;
}

/** Statuses after which a task changes no more, by default. */
export const TERMINAL_STATUSES: readonly string[] = Object.freeze([
  'completed',
  'failed',
  'cancelled',
]);

/** Default heartbeat settings. */
export const HEARTBEAT_DEFAULTS: Readonly<Required<HeartbeatOptions>> = Object.freeze({
  intervalMs: 25_000,
  timeoutMs: 10_000,
});

/** Default reconnect settings. */
export const RECONNECT_DEFAULTS: Readonly<Required<ReconnectOptions>> = Object.freeze({
  initialDelayMs: 1_000,
  maxDelayMs: 5_000,
  factor: 2,
  maxAttempts: Number.POSITIVE_INFINITY,
  jitter: 'full',
  stableAfterMs: 5_000,
});

/** Default top-level timings. */
export const CONNECT_DEFAULTS = Object.freeze({
  connectTimeoutMs: 10_000,
  authGraceMs: 1_000,
  maxFrameBytes: 1_048_576,
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
  readonly heartbeat: Readonly<Required<HeartbeatOptions>> | false;
  readonly reconnect: Readonly<Required<ReconnectOptions>> | false;
  readonly shouldReconnect: ((info: CloseInfo) => boolean) | undefined;
  readonly signal: AbortSignal | undefined;
  readonly random: () => number;
  readonly maxFrameBytes: number;
  readonly taskSchema: StandardSchemaV1<TaskUpdate, TUpdate> | undefined;
  readonly terminalStatuses: ReadonlySet<string>;
  readonly resync: ResyncFunction<TUpdate> | undefined;
}

const TOP_LEVEL_KEYS = new Set([
  'baseUrl',
  'userId',
  'token',
  'path',
  'WebSocket',
  'connectTimeoutMs',
  'authGraceMs',
  'heartbeat',
  'reconnect',
  'shouldReconnect',
  'signal',
  'random',
  'maxFrameBytes',
  'taskSchema',
  'terminalStatuses',
  'resync',
]);

/**
 * Turns user options into complete internal ones, rejecting unknown keys and bad values with
 * `INVALID_OPTIONS`. Pure: reads nothing but its argument.
 */
export function resolveOptions<TUpdate extends TaskUpdate>(
  options: TaskStatusClientOptions<TUpdate>,
): ResolvedOptions<TUpdate> {
  if (typeof options !== 'object' || options === null) {
    throw invalid('options', 'must be an object');
  }
  rejectUnknown(options, TOP_LEVEL_KEYS, '');
  const o = options as TaskStatusClientOptions<TUpdate>;
  if (typeof o.baseUrl !== 'string') throw invalid('baseUrl', 'must be a string');
  if (typeof o.userId !== 'number' && typeof o.userId !== 'string') {
    throw invalid('userId', 'must be a number or a string');
  }
  checkToken(o.token);
  optional(o.path, 'path', (v) => typeof v === 'string' && v.trim() !== '', 'a non-empty string');
  optional(o.WebSocket, 'WebSocket', (v) => typeof v === 'function', 'a WebSocket constructor');
  optional(o.shouldReconnect, 'shouldReconnect', (v) => typeof v === 'function', 'a function');
  optional(o.random, 'random', (v) => typeof v === 'function', 'a function');
  optional(o.signal, 'signal', isAbortSignal, 'an AbortSignal');
  optional(o.taskSchema, 'taskSchema', isStandardSchema, 'a Standard Schema (e.g. a zod schema)');
  optional(o.resync, 'resync', (v) => typeof v === 'function', 'a function');
  optional(o.terminalStatuses, 'terminalStatuses', isStringList, 'a non-empty array of strings');
  return {
    baseUrl: o.baseUrl,
    userId: o.userId,
    token: o.token,
    path: o.path ?? DEFAULT_TASK_STATUS_PATH,
    WebSocket: o.WebSocket,
    connectTimeoutMs: duration(
      o.connectTimeoutMs,
      'connectTimeoutMs',
      CONNECT_DEFAULTS.connectTimeoutMs,
      1,
    ),
    authGraceMs: duration(o.authGraceMs, 'authGraceMs', CONNECT_DEFAULTS.authGraceMs, 0),
    heartbeat: resolveHeartbeat(o.heartbeat),
    reconnect: resolveReconnect(o.reconnect),
    shouldReconnect: o.shouldReconnect,
    signal: o.signal,
    random: o.random ?? Math.random,
    maxFrameBytes: duration(o.maxFrameBytes, 'maxFrameBytes', CONNECT_DEFAULTS.maxFrameBytes, 1),
    taskSchema: o.taskSchema,
    terminalStatuses: new Set(o.terminalStatuses ?? TERMINAL_STATUSES),
    resync: o.resync,
  };
}

function resolveHeartbeat(value: false | HeartbeatOptions | undefined) {
  if (value === false) return false;
  if (value === undefined) return HEARTBEAT_DEFAULTS;
  group(value, 'heartbeat', HEARTBEAT_DEFAULTS);
  const intervalMs = duration(
    value.intervalMs,
    'heartbeat.intervalMs',
    HEARTBEAT_DEFAULTS.intervalMs,
    1,
  );
  const timeoutMs = duration(
    value.timeoutMs,
    'heartbeat.timeoutMs',
    HEARTBEAT_DEFAULTS.timeoutMs,
    1,
  );
  return Object.freeze({ intervalMs, timeoutMs });
}

function resolveReconnect(value: false | ReconnectOptions | undefined) {
  if (value === false) return false;
  if (value === undefined) return RECONNECT_DEFAULTS;
  group(value, 'reconnect', RECONNECT_DEFAULTS);
  const d = RECONNECT_DEFAULTS;
  const initialDelayMs = duration(
    value.initialDelayMs,
    'reconnect.initialDelayMs',
    d.initialDelayMs,
    0,
  );
  const maxDelayMs = duration(value.maxDelayMs, 'reconnect.maxDelayMs', d.maxDelayMs, 0);
  if (maxDelayMs < initialDelayMs) {
    throw invalid(
      'reconnect.maxDelayMs',
      `must be at least reconnect.initialDelayMs (${initialDelayMs}), got ${maxDelayMs}`,
    );
  }
  const factor = value.factor ?? d.factor;
  if (typeof factor !== 'number' || !Number.isFinite(factor) || factor < 1) {
    throw invalid('reconnect.factor', `must be a finite number >= 1, got ${String(factor)}`);
  }
  const maxAttempts = value.maxAttempts ?? d.maxAttempts;
  if (
    typeof maxAttempts !== 'number' ||
    Number.isNaN(maxAttempts) ||
    maxAttempts < 0 ||
    (Number.isFinite(maxAttempts) && !Number.isInteger(maxAttempts))
  ) {
    throw invalid(
      'reconnect.maxAttempts',
      `must be a non-negative integer or Infinity, got ${String(maxAttempts)}`,
    );
  }
  const jitter = value.jitter ?? d.jitter;
  if (jitter !== 'full' && jitter !== 'equal' && jitter !== 'none') {
    throw invalid(
      'reconnect.jitter',
      `must be 'full', 'equal' or 'none', got ${JSON.stringify(jitter)}`,
    );
  }
  const stableAfterMs = duration(
    value.stableAfterMs,
    'reconnect.stableAfterMs',
    d.stableAfterMs,
    0,
  );
  return Object.freeze({ initialDelayMs, maxDelayMs, factor, maxAttempts, jitter, stableAfterMs });
}

function checkToken(token: unknown): void {
  if (typeof token === 'function') return;
  if (typeof token !== 'string') {
    throw invalid(
      'token',
      `must be a string or a function returning one, got ${token === null ? 'null' : typeof token}`,
    );
  }
  if (token.trim() === '') throw invalid('token', 'must not be empty');
}

function duration(value: unknown, name: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw invalid(name, `must be a finite number >= ${min}, got ${String(value)}`);
  }
  return value;
}

function group(value: unknown, name: string, defaults: object): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(name, 'must be an object or false');
  }
  rejectUnknown(value, new Set(Object.keys(defaults)), `${name}.`);
}

function rejectUnknown(value: object, known: ReadonlySet<string>, prefix: string): void {
  for (const key of Object.keys(value)) {
    if (!known.has(key)) {
      throw invalid(`${prefix}${key}`, `is not a known option; known: ${[...known].join(', ')}`);
    }
  }
}

function optional(
  value: unknown,
  name: string,
  ok: (value: unknown) => boolean,
  what: string,
): void {
  if (value !== undefined && !ok(value)) throw invalid(name, `must be ${what}`);
}

function isAbortSignal(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AbortSignal).aborted === 'boolean' &&
    typeof (value as AbortSignal).addEventListener === 'function'
  );
}

function isStringList(value: unknown): boolean {
  return (
    Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string')
  );
}

function isStandardSchema(value: unknown): boolean {
  const standard = (value as { '~standard'?: { validate?: unknown } } | null)?.['~standard'];
  return (
    typeof standard === 'object' && standard !== null && typeof standard.validate === 'function'
  );
}

function invalid(option: string, problem: string): TaskStatusError {
  return new TaskStatusError('INVALID_OPTIONS', `Invalid option "${option}": ${problem}`);
}
