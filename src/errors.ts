/**
 * Every failure the client reports is a {@link TaskStatusError} with one of these codes. (An
 * `updates()` iterator whose own `signal` aborts ends with an `AbortError`, as `fetch` does.)
 *
 * | code | meaning | fatal |
 * | --- | --- | --- |
 * | `INVALID_OPTIONS` | an option or argument has a wrong value | thrown at once |
 * | `PROTOCOL_ERROR` | a frame is not valid JSON or fails its schema, or the ack names another user | no |
 * | `UNKNOWN_FRAME` | a JSON frame with a `type` this client does not know | no |
 * | `FRAME_TOO_LARGE` | a frame longer than `maxFrameBytes` was dropped | no |
 * | `AUTH_FAILED` | the server refused the token (error frame, auth close code, HTTP 401/403) | yes, after one retry with a token function |
 * | `TOKEN_ERROR` | the `token` function threw, gave no usable token, or outlasted `connectTimeoutMs` | no (after a refusal, `maxInitialAttempts` in a row end it as `AUTH_FAILED`) |
 * | `HANDSHAKE_TIMEOUT` | no open socket and auth verdict within the handshake deadline | no |
 * | `HANDSHAKE_REJECTED` | the HTTP upgrade was answered with a non-101 status | no |
 * | `CONNECTION_ERROR` | the socket failed (refused, reset, DNS, opaque 1006) | no (yes if the `WebSocket` constructor threw) |
 * | `CONNECTION_LOST` | the server closed or dropped an open connection, or the socket failed | no |
 * | `HEARTBEAT_TIMEOUT` | nothing was received for `heartbeat.timeoutMs` after a ping | no |
 * | `RECONNECT_EXHAUSTED` | `reconnect.maxAttempts` attempts failed in a row (`maxInitialAttempts` before any connection showed a sign of life) | yes |
 * | `CONNECTION_CLOSED` | the client was closed with `close()` | yes |
 * | `ABORTED` | the client's `signal` or a `waitForTask` `signal` was aborted | yes |
 * | `BUFFER_OVERFLOW` | an iterator's buffer overflowed with `overflow: 'error'` | iterator only |
 * | `TASK_TIMEOUT` | `waitForTask` timed out | call only |
 * | `SERVER_ERROR` | the server sent an error frame on an open connection | no |
 * | `RESYNC_FAILED` | the `resync` function threw or returned bad items | no |
 * | `NO_PROVIDER` | a React hook or Vue composable was used with no client provided above it | thrown at once |
 */
export type TaskStatusErrorCode =
  | 'INVALID_OPTIONS'
  | 'PROTOCOL_ERROR'
  | 'UNKNOWN_FRAME'
  | 'FRAME_TOO_LARGE'
  | 'AUTH_FAILED'
  | 'TOKEN_ERROR'
  | 'HANDSHAKE_TIMEOUT'
  | 'HANDSHAKE_REJECTED'
  | 'CONNECTION_ERROR'
  | 'CONNECTION_LOST'
  | 'HEARTBEAT_TIMEOUT'
  | 'RECONNECT_EXHAUSTED'
  | 'CONNECTION_CLOSED'
  | 'ABORTED'
  | 'BUFFER_OVERFLOW'
  | 'TASK_TIMEOUT'
  | 'SERVER_ERROR'
  | 'RESYNC_FAILED'
  | 'NO_PROVIDER';

/** One problem found in a frame or an option: where, and what. */
export interface TaskStatusIssue {
  /** Path to the offending field, e.g. `['progress']`. Empty for the frame as a whole. */
  readonly path: readonly (string | number)[];
  /** What is wrong, in plain words. */
  readonly message: string;
}

/** Extra context carried by a {@link TaskStatusError}. */
export interface TaskStatusErrorDetails {
  /** The underlying error, if any (never carries a token). */
  cause?: unknown;
  /** WebSocket close code that led to the error. */
  closeCode?: number;
  /** WebSocket close reason that led to the error. */
  closeReason?: string;
  /** Error code sent by the server in an error frame, e.g. `auth_failed`. */
  serverCode?: string;
  /** Message sent by the server in an error frame (or a plain-text frame). */
  serverMessage?: string;
  /** HTTP status of a rejected upgrade, where the platform exposes it. */
  httpStatus?: number;
  /** Field-level problems, for `PROTOCOL_ERROR` and `INVALID_OPTIONS`. */
  issues?: readonly TaskStatusIssue[];
  /** A shortened copy of the offending frame (`PROTOCOL_ERROR`, `UNKNOWN_FRAME`). */
  frame?: string;
}

/**
 * The one error class of the SDK. Check `code` to decide what to do.
 *
 * @example
 * ```ts
 * try { await client.connect(); }
 * catch (error) {
 *   if (isTaskStatusError(error, 'AUTH_FAILED')) redirectToLogin();
 * }
 * ```
 */
export class TaskStatusError extends Error {
  /** Always `'TaskStatusError'`: what {@link isTaskStatusError} checks across realms. */
  override readonly name = 'TaskStatusError';
  /** Machine-readable reason, see {@link TaskStatusErrorCode}. */
  readonly code: TaskStatusErrorCode;
  /** WebSocket close code that led to the error. */
  declare readonly closeCode?: number;
  /** WebSocket close reason that led to the error. */
  declare readonly closeReason?: string;
  /** Error code the server sent in its error frame. */
  declare readonly serverCode?: string;
  /** Message the server sent in its error frame. */
  declare readonly serverMessage?: string;
  /** HTTP status of a rejected upgrade. */
  declare readonly httpStatus?: number;
  /** Field-level problems. */
  declare readonly issues?: readonly TaskStatusIssue[];
  /** A shortened copy of the offending frame. */
  declare readonly frame?: string;

  /**
   * An error with `code` and `message`; `details.cause` becomes the standard `Error.cause`, and
   * the other details become fields of the error.
   */
  constructor(code: TaskStatusErrorCode, message: string, details: TaskStatusErrorDetails = {}) {
    const { cause, ...context } = details;
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    Object.assign(this, context);
  }

  /** A plain object for logs and `JSON.stringify` (never holds a token). */
  toJSON(): Record<string, unknown> {
    return { ...(this as unknown as Record<string, unknown>), message: this.message };
  }
}

/**
 * True when `value` is a {@link TaskStatusError} (also across realms and bundle copies, by
 * `name`), optionally with the given `code`, to which it then narrows `value.code`.
 */
export function isTaskStatusError<C extends TaskStatusErrorCode = TaskStatusErrorCode>(
  value: unknown,
  code?: C,
): value is TaskStatusError & { readonly code: C } {
  if (!(value instanceof TaskStatusError)) {
    if (typeof value !== 'object' || value === null) return false;
    const candidate = value as { name?: unknown; code?: unknown };
    if (candidate.name !== 'TaskStatusError' || typeof candidate.code !== 'string') return false;
  }
  return code === undefined || (value as TaskStatusError).code === code;
}

/** Shortens `text` for an error message so a huge frame never floods a log. */
export function truncate(text: string, max = 200): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} chars)`;
}
