/**
 * What both transports of the testing kit share: the options every server takes (with their
 * defaults and `resolveTaskServerOptions`, which checks them once), the input of `pushUpdate`,
 * and the controls a test uses to script the server.
 */
import {
  type Complete,
  DEFAULT_TASK_STATUS_PATH,
  type HeartbeatFormat,
  type TaskId,
  type TaskStatus,
  type TaskUpdateFrame,
} from 'task-status-client';
import { checkDelay, checkUserId, invalid, shown } from './checks.js';
import {
  type ResolvedSimulation,
  resolveSimulation,
  type Simulation,
  type SimulationOptions,
} from './simulator.js';

/** A user id as the server knows it: the value a token maps to. */
export type UserId = number | string;

/** What a {@link TokenVerifier} is told besides the token. */
export interface VerifyContext {
  /**
   * The user id from the socket's path, percent-decoded; `undefined` for the HTTP status
   * endpoint, which has no user in its path.
   */
  readonly userId: string | undefined;
}

/**
 * A {@link TokenVerifier}'s answer: the token's user id, `true` (valid for any user),
 * `false`/`null`/`undefined` (refused as `auth_failed`), or an {@link AuthRejection} (refused
 * with that code, message and close code).
 */
export type TokenVerdict = UserId | boolean | AuthRejection | null | undefined;

/**
 * Decides whether a token is valid: returns the user id the token belongs to (the server then
 * checks that it matches the path), `true` for "valid for whichever user the path names",
 * `false`/`null`/`undefined` for an invalid token, or an {@link AuthRejection} to refuse it in
 * a way of your own (`{ code: 'token_expired', message: 'Token has expired' }`). May be async. A
 * verifier that throws makes the server send an `internal_error` frame and close with 1011.
 *
 * @example
 * ```ts
 * const verify: TokenVerifier = (token) =>
 *   token === 'stale' ? { code: 'token_expired' } : token.startsWith('user-') ? Number(token.slice(5)) : null;
 * ```
 */
export type TokenVerifier = (
  token: string,
  context: VerifyContext,
) => TokenVerdict | Promise<TokenVerdict>;

/** The tokens a server accepts: a token → user id map (object or `Map`), or a verifier. */
export type AcceptedTokens =
  | Readonly<Record<string, UserId>>
  | ReadonlyMap<string, UserId>
  | TokenVerifier;

/** How the server writes an error frame: `{"type":"error",…}` or a plain-text sentence. */
export type ErrorFormat = 'json' | 'text' | 'detail';

/** The server's own pings. */
export interface ServerHeartbeatOptions {
  /**
   * Time between two server pings on each accepted connection.
   * @default 25000
   */
  intervalMs?: number | undefined;
  /**
   * `json` sends `{"type":"ping"}`, `text` sends `ping`.
   * @default 'json'
   */
  format?: HeartbeatFormat | undefined;
}

/** Options both transports take. Every field is optional. */
export interface TaskServerOptions {
  /**
   * The tokens the server accepts. Without it every non-empty token is accepted for the user
   * its path names.
   * @default undefined (any non-empty token)
   * @example { 'token-of-2': 2, 'token-of-3': 3 }
   */
  tokens?: AcceptedTokens | undefined;
  /**
   * Send `{"type":"connected","user_id":…}` once the token is accepted. Without it a client only
   * knows it was accepted when its `authGraceMs` passes quietly.
   * @default true
   */
  ack?: boolean | undefined;
  /**
   * How auth errors are written: `json` as `{"type":"error","code":"auth_failed","message":…}`,
   * `text` as a plain sentence (`Authentication failed: …`), like some FastAPI backends, and
   * `detail` as FastAPI's own `{"detail":…}`, with no type and no code.
   * @default 'json'
   */
  errorFormat?: ErrorFormat | undefined;
  /**
   * Close code after an auth error frame. 1008 is the usual choice; Starlette's default is 1000.
   * @default 1008
   */
  errorCloseCode?: number | undefined;
  /**
   * The server's own pings on accepted connections, or `false` for none.
   * @default false
   */
  heartbeat?: false | ServerHeartbeatOptions | undefined;
  /**
   * Send a newly accepted connection the latest update of each of its user's tasks.
   * @default false
   */
  snapshotOnConnect?: boolean | undefined;
  /**
   * Route template; `{userId}` (or `{user_id}`) marks the user id. Unlike in the client's `path`,
   * it must be one whole segment, once (`'/ws/{userId}'`, not `'/ws/user-{userId}'`).
   * @default '/api/v1/ws/tasks/{userId}'
   */
  path?: string | undefined;
  /**
   * Task simulations for demos: each starts when its user's connection is accepted and no run of
   * it is going on; see {@link SimulationOptions}.
   * @default undefined (none)
   */
  simulate?: SimulationOptions | readonly SimulationOptions[] | undefined;
}

/**
 * A task update as a test writes it: camelCase like the SDK's `TaskUpdate`. It goes out
 * snake_case; absent optional fields go out as `null`.
 */
export interface TaskUpdateInput {
  /** The task's id. */
  taskId: TaskId;
  /** The task's status, e.g. `running`. */
  status: TaskStatus;
  /** Progress in percent, 0–100. @default null */
  progress?: number | null | undefined;
  /** A human-readable message. @default null */
  message?: string | null | undefined;
  /** Any JSON result. @default null */
  result?: unknown;
  /** Any JSON error. @default null */
  error?: unknown;
  /**
   * When the task changed. By default the current time, kept strictly increasing per task so a
   * client never takes a newer update for a stale one. A string is read as the client reads it:
   * one without an offset is UTC.
   * @default now (monotonic per task)
   */
  updatedAt?: string | Date | undefined;
}

/** How `rejectNextAuth`, or a {@link TokenVerifier}, refuses a connection. */
export interface AuthRejection {
  /**
   * The error frame's `code`, also the close reason (cut to 123 bytes of UTF-8 there).
   * @default 'auth_failed'
   */
  code?: string | undefined;
  /**
   * The error frame's `message`.
   * @default 'Authentication failed'
   */
  message?: string | undefined;
  /**
   * The close code that follows the error frame.
   * @default the server's `errorCloseCode` (1008)
   */
  closeCode?: number | undefined;
}

/**
 * Where a connection is, as the server sees it:
 * `authenticating → open → closed`, or `authenticating → rejected`.
 */
export type ServerClientState = 'authenticating' | 'open' | 'rejected' | 'closed';

/** One connection as the server sees it. */
export interface ServerClient {
  /** 1 for the first connection of this server, 2 for the next, … */
  readonly id: number;
  /** The user id from the path, percent-decoded. */
  readonly userId: string;
  /** The `token` query parameter, or `null` if there was none. */
  readonly token: string | null;
  /** The path and query the client connected to. */
  readonly url: string;
  /** Where the connection is; see {@link ServerClientState}. */
  readonly state: ServerClientState;
  /** Every text frame the client sent, in order. */
  readonly received: readonly string[];
  /** True after `silence()`: the server sends this connection nothing more. */
  readonly silenced: boolean;
  /** The close code, once closed (by either side). */
  readonly closeCode: number | null;
  /** The close reason, once closed. */
  readonly closeReason: string | null;
}

/** The controls both transports share. */
export interface TaskServerControls {
  /** Connections open now (authenticating or accepted), oldest first. */
  readonly clients: readonly ServerClient[];
  /** Every connection since the server started or was last `reset()`, closed ones included. */
  readonly connections: readonly ServerClient[];
  /** The latest frame of each of a user's tasks, in the order the tasks first appeared. */
  tasks(userId: UserId): readonly TaskUpdateFrame[];
  /**
   * Records an update in the user's task table and sends it to the user's accepted, unsilenced
   * connections. Returns the frame as sent.
   * `42` and `'42'` are one task, as for the client.
   * @throws {TaskStatusError} `INVALID_OPTIONS` when the update would not pass the client's frame
   * check, or cannot be written as JSON. A frame over the client's `maxFrameBytes` is sent as is.
   * @example
   * ```ts
   * server.pushUpdate(2, { taskId: 42, status: 'running', progress: 40 });
   * ```
   */
  pushUpdate(userId: UserId, update: TaskUpdateInput): TaskUpdateFrame;
  /** Sends `status: 'completed'`, `progress: 100` and the result (default `null`). */
  completeTask(userId: UserId, taskId: TaskId, result?: unknown): TaskUpdateFrame;
  /** Sends `status: 'failed'` with the error (default `'Task failed'`), keeping the last progress. */
  failTask(userId: UserId, taskId: TaskId, error?: unknown): TaskUpdateFrame;
  /**
   * Sends any text (or JSON-encoded value) to the user's accepted, unsilenced connections, e.g. a
   * malformed frame to see how a client copes. Bytes (an `ArrayBuffer`, a `Uint8Array`, a
   * `Buffer` or another view) go out as a binary frame, as FastAPI's `send_bytes` sends them.
   */
  sendRaw(userId: UserId, frame: string | ArrayBuffer | ArrayBufferView | object): void;
  /**
   * Closes every open connection with this code and reason.
   * @default code 1000, reason ''
   */
  closeAll(code?: number, reason?: string): void;
  /**
   * Makes the connections open now (of one user, or all) go quiet: no answers, no pings, no
   * updates, while the sockets stay open, as a hung server or a half-open TCP link would. Later
   * connections behave normally.
   */
  silence(userId?: UserId): void;
  /**
   * Refuses the next connection whatever its token (queued: call twice to refuse two), with an
   * error frame then a close. A string is the error code.
   * @example
   * ```ts
   * server.rejectNextAuth('token_expired'); // the client's token function is asked again
   * ```
   */
  rejectNextAuth(rejection?: string | AuthRejection): void;
  /** Starts a task simulation now; see {@link SimulationOptions}. */
  simulate(options: SimulationOptions): Simulation;
  /**
   * Closes open connections (1001 `server reset`), stops simulations, and forgets task tables,
   * connections, queued rejections and silences. Options are kept.
   */
  reset(): void;
}

/** Default server options (`tokens` and `simulate` default to none). */
export const TASK_SERVER_DEFAULTS = Object.freeze({
  ack: true,
  errorFormat: 'json',
  errorCloseCode: 1008,
  heartbeat: false,
  snapshotOnConnect: false,
  path: DEFAULT_TASK_STATUS_PATH,
} as const);

/** Default server heartbeat, used when `heartbeat` is an object. */
export const SERVER_HEARTBEAT_DEFAULTS = Object.freeze({
  intervalMs: 25_000,
  format: 'json',
} as const);

/** Server options after `resolveTaskServerOptions`: every field present and checked. */
export interface ResolvedTaskServerOptions {
  /** `tokens` as one function (a map or the "any token" default become one). */
  readonly verify: TokenVerifier;
  readonly ack: boolean;
  readonly errorFormat: ErrorFormat;
  readonly errorCloseCode: number;
  readonly heartbeat: Complete<ServerHeartbeatOptions> | false;
  readonly snapshotOnConnect: boolean;
  /** Non-empty path segments of the route; `null` marks the user id segment. */
  readonly route: readonly (string | null)[];
  /** The route template as given. */
  readonly path: string;
  readonly simulate: readonly ResolvedSimulation[];
}

const KEYS = [
  'tokens',
  'ack',
  'errorFormat',
  'errorCloseCode',
  'heartbeat',
  'snapshotOnConnect',
  'path',
  'simulate',
];
const PLACEHOLDER = /^\{(userId|user_id)\}$/;

/**
 * Checks server options and fills in defaults; `transportKeys` are the transport's own options,
 * which are let through. Throws `INVALID_OPTIONS` naming the option.
 */
export function resolveTaskServerOptions(
  options: TaskServerOptions,
  transportKeys: readonly string[],
): ResolvedTaskServerOptions {
  if (typeof options !== 'object' || options === null)
    throw invalid('options', 'must be an object');
  const known = new Set([...KEYS, ...transportKeys]);
  for (const key of Object.keys(options)) {
    if (!known.has(key)) {
      throw invalid(key, `is not a known option; known: ${[...known].join(', ')}`);
    }
  }
  const d = TASK_SERVER_DEFAULTS;
  const errorFormat = options.errorFormat ?? d.errorFormat;
  if (errorFormat !== 'json' && errorFormat !== 'text' && errorFormat !== 'detail') {
    const got = JSON.stringify(errorFormat);
    throw invalid('errorFormat', `must be 'json', 'text' or 'detail', got ${got}`);
  }
  const errorCloseCode = options.errorCloseCode ?? d.errorCloseCode;
  checkCloseCode(errorCloseCode, 'errorCloseCode');
  const path = options.path ?? d.path;
  const simulate = options.simulate ?? [];
  return {
    verify: toVerifier(options.tokens),
    ack: flag(options.ack, 'ack', d.ack),
    errorFormat,
    errorCloseCode,
    heartbeat: resolveHeartbeat(options.heartbeat),
    snapshotOnConnect: flag(options.snapshotOnConnect, 'snapshotOnConnect', d.snapshotOnConnect),
    route: parseRoute(path),
    path,
    simulate: (Array.isArray(simulate) ? simulate : [simulate]).map(resolveSimulation),
  };
}

/** Codes a server may send: 1000–1003, 1007–1014 and 3000–4999 (what `ws` accepts too). */
export function checkCloseCode(code: unknown, name: string): asserts code is number {
  const ok =
    typeof code === 'number' &&
    Number.isInteger(code) &&
    ((code >= 1000 && code <= 1003) ||
      (code >= 1007 && code <= 1014) ||
      (code >= 3000 && code <= 4999));
  if (!ok) {
    throw invalid(
      name,
      `must be a close code a server may send (1000–1003, 1007–1014, 3000–4999), got ${String(code)}`,
    );
  }
}

/**
 * The user id in `pathname` if it is exactly the route, as Starlette matches it: case-sensitive,
 * no empty segment, no trailing slash, and `{userId}` one segment that percent-decodes to a
 * non-empty id with no `/` in it. Else `undefined`.
 */
export function matchRoute(
  route: readonly (string | null)[],
  pathname: string,
): string | undefined {
  const parts = pathname.split('/');
  if (parts.length !== route.length + 1 || parts[0] !== '') return undefined;
  let userId: string | undefined;
  for (let index = 0; index < route.length; index++) {
    const expected = route[index];
    const part = parts[index + 1] as string;
    if (expected === null) userId = decodeUserSegment(part);
    else if (expected !== part) return undefined;
  }
  return userId;
}

/**
 * The user id a path segment names: percent-decoded, or `undefined` when it is empty, cannot be
 * decoded, or holds a `/` (Starlette decodes the path before matching, so `a%2Fb` is two segments).
 */
export function decodeUserSegment(segment: string): string | undefined {
  let userId: string;
  try {
    userId = decodeURIComponent(segment);
  } catch {
    return undefined;
  }
  return userId === '' || userId.includes('/') ? undefined : userId;
}

function parseRoute(path: unknown): (string | null)[] {
  if (typeof path !== 'string' || path.trim() === '') {
    throw invalid('path', 'must be a non-empty route template such as "/api/v1/ws/tasks/{userId}"');
  }
  const route = path
    .split('/')
    .filter((part) => part !== '')
    .map((part) => (PLACEHOLDER.test(part) ? null : part));
  if (route.filter((part) => part === null).length !== 1) {
    throw invalid('path', `must hold {userId} exactly once as a whole segment, got "${path}"`);
  }
  return route;
}

function toVerifier(tokens: AcceptedTokens | undefined): TokenVerifier {
  if (tokens === undefined) return () => true;
  if (typeof tokens === 'function') return tokens;
  if (tokens instanceof Map) {
    for (const [token, userId] of tokens) checkUserId(userId, `tokens.get(${shown(token)})`);
    return (token) => tokens.get(token) ?? null;
  }
  if (typeof tokens === 'object' && tokens !== null && !Array.isArray(tokens)) {
    const table = tokens as Readonly<Record<string, UserId>>;
    // A value that is no user id would silently refuse its token (an object reads as a refusal).
    for (const [token, userId] of Object.entries(table)) {
      checkUserId(userId, `tokens[${shown(token)}]`);
    }
    return (token) => (Object.hasOwn(table, token) ? (table[token] ?? null) : null);
  }
  throw invalid('tokens', 'must be a token → user id object or Map, or a verify function');
}

function resolveHeartbeat(
  value: false | ServerHeartbeatOptions | undefined,
): Complete<ServerHeartbeatOptions> | false {
  if (value === undefined || value === false) return false;
  if (typeof value !== 'object' || value === null)
    throw invalid('heartbeat', 'must be an object or false');
  for (const key of Object.keys(value)) {
    if (!(key in SERVER_HEARTBEAT_DEFAULTS)) {
      throw invalid(`heartbeat.${key}`, 'is not a known option; known: intervalMs, format');
    }
  }
  const intervalMs = value.intervalMs ?? SERVER_HEARTBEAT_DEFAULTS.intervalMs;
  checkDelay(intervalMs, 'heartbeat.intervalMs', 1);
  const format = value.format ?? SERVER_HEARTBEAT_DEFAULTS.format;
  if (format !== 'json' && format !== 'text') {
    throw invalid('heartbeat.format', `must be 'json' or 'text', got ${JSON.stringify(format)}`);
  }
  return Object.freeze({ intervalMs, format });
}

function flag(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalid(name, `must be a boolean, got ${typeof value}`);
  return value;
}
