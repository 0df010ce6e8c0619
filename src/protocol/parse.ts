/**
 * The per-frame hot path: `JSON.parse` plus a hand-written guard that accepts exactly what the
 * zod schemas in `schemas.ts` accept (a property test holds the two together). It never throws.
 */
import { TaskStatusError, type TaskStatusIssue, truncate } from '../errors.js';
import { ISO_DATE_TIME } from './date-time.js';
import type { ConnectedFrame, ErrorFrame, TaskUpdate } from './types.js';

/** How a heartbeat frame was written: JSON (`{"type":"ping"}`) or plain text (`ping`). */
export type HeartbeatFormat = 'json' | 'text';

/** What `parseServerFrame` made of one text frame. Discriminated by `kind`. */
export type ParsedFrame =
  /** The server's ack: it accepted the token. */
  | {
      /** A `{"type":"connected"}` frame. */
      readonly kind: 'connected';
      /** The frame as received. */
      readonly frame: ConnectedFrame;
    }
  /** A valid task update. */
  | {
      /** A `{"type":"task_update"}` frame. */
      readonly kind: 'task_update';
      /** The update, camelCase, absent optional fields as `null`. */
      readonly update: TaskUpdate;
    }
  /** The server reported an error, e.g. a refused token. */
  | {
      /** A `{"type":"error"}` frame. */
      readonly kind: 'error';
      /** The frame's `code` as a string, e.g. `auth_failed`; `null` when absent. */
      readonly code: string | null;
      /** The frame's `message`, else a string `detail`; `null` when neither. */
      readonly message: string | null;
      /** The frame as received. */
      readonly frame: ErrorFrame;
    }
  /** A heartbeat from the server, to answer with a pong. */
  | {
      /** A ping, JSON or plain text. */
      readonly kind: 'ping';
      /** How the ping was written; answer in the same form. */
      readonly format: HeartbeatFormat;
    }
  /** The answer to a ping. */
  | {
      /** A pong, JSON or plain text. */
      readonly kind: 'pong';
      /** How the pong was written. */
      readonly format: HeartbeatFormat;
    }
  /** A frame that is not JSON, e.g. a plain-text auth error. */
  | {
      /** A plain-text frame (or a bare JSON string). */
      readonly kind: 'text';
      /** The text, a JSON string decoded. */
      readonly text: string;
    }
  /** A JSON object whose `type` this client does not know. */
  | {
      /** A JSON object with an unknown `type`. */
      readonly kind: 'unknown';
      /** The frame's `type`. */
      readonly type: string;
      /** The frame as received. */
      readonly frame: Record<string, unknown>;
    }
  /** Malformed JSON, or a frame that fails its schema: `error.code` is `PROTOCOL_ERROR`. */
  | {
      /** A frame that could not be read. */
      readonly kind: 'invalid';
      /** The `PROTOCOL_ERROR`, naming the field at fault. */
      readonly error: TaskStatusError;
    };

// Shared by every heartbeat frame, hence frozen.
const PING_JSON: ParsedFrame = Object.freeze({ kind: 'ping', format: 'json' });
const PING_TEXT: ParsedFrame = Object.freeze({ kind: 'ping', format: 'text' });
const PONG_JSON: ParsedFrame = Object.freeze({ kind: 'pong', format: 'json' });
const PONG_TEXT: ParsedFrame = Object.freeze({ kind: 'pong', format: 'text' });

/** The client's heartbeat frame. */
export const PING_FRAME = '{"type":"ping"}';
/** The client's answer to a JSON ping. */
export const PONG_FRAME = '{"type":"pong"}';

/** A decoded JSON object, with the fields the guard reads named. */
interface RawFrame {
  type?: unknown;
  task_id?: unknown;
  status?: unknown;
  progress?: unknown;
  message?: unknown;
  result?: unknown;
  error?: unknown;
  updated_at?: unknown;
  detail?: unknown;
  [field: string]: unknown;
}

/** One checked field: its name, its test (absent and `null` pass when optional), the problem. */
type Field = readonly [
  name: string,
  ok: (value: unknown) => boolean,
  problem: string,
  optional: boolean,
];

const isString = (value: unknown) => typeof value === 'string';
const isNumberOrString = (value: unknown) => isString(value) || Number.isFinite(value);

/** A `task_id` this client accepts: an integer from 0 to 2^53 − 1, or a non-empty string. */
export const isTaskId = (value: unknown): boolean =>
  isString(value) ? value !== '' : Number.isSafeInteger(value) && (value as number) >= 0;

const TASK_FIELDS: readonly Field[] = [
  ['task_id', isTaskId, 'a non-negative integer or a non-empty string', false],
  ['status', (v) => isString(v) && v !== '', 'a non-empty string', false],
  ['progress', (v) => typeof v === 'number' && v >= 0 && v <= 100, 'a number from 0 to 100', true],
  ['message', isString, 'a string', true],
  [
    'updated_at',
    (v) => isString(v) && ISO_DATE_TIME.test(v as string),
    'an ISO-8601 date-time string',
    true,
  ],
];
const CONNECTED_FIELDS: readonly Field[] = [
  ['user_id', isNumberOrString, 'a number or a string', true],
];
const ERROR_FIELDS: readonly Field[] = [
  ['code', isNumberOrString, 'a string or a number', true],
  ['message', isString, 'a string', true],
];

/**
 * Parses one text frame from the server into a typed {@link ParsedFrame}. Never throws: bad
 * input comes back as `{ kind: 'invalid' }` with a `PROTOCOL_ERROR` naming the field.
 *
 * @example
 * ```ts
 * const parsed = parseServerFrame('{"type":"task_update","task_id":42,"status":"running"}');
 * if (parsed.kind === 'task_update') console.log(parsed.update.taskId); // 42
 * ```
 */
export function parseServerFrame(text: string): ParsedFrame {
  const first = text.charCodeAt(0);
  // `{` or `[`: JSON. Anything else is plain text unless it turns out to be JSON after all.
  if (first === 123 || first === 91) return parseJson(text, text);
  const trimmed = text.trim();
  if (trimmed === 'ping') return PING_TEXT;
  if (trimmed === 'pong') return PONG_TEXT;
  try {
    const data: unknown = JSON.parse(trimmed);
    if (typeof data !== 'string') return parseFrameValue(data, text);
    // A bare JSON string is plain text (`send_json("Invalid token")`), unless it holds a pong
    // (`send_json("pong")`) or a JSON object: a frame encoded twice (`send_json(json.dumps(…))`).
    // A ping so written stays text: a server that reads JSON could not read the answer.
    const inner = data.trim();
    if (inner === 'pong') return PONG_TEXT;
    const held = readJsonObject(inner);
    return held === undefined ? { kind: 'text', text: data } : parseFrameValue(held, inner);
  } catch {
    return { kind: 'text', text };
  }
}

/**
 * The first half of `parseServerFrame`, for the frames of a socket read: `JSON.parse` of a frame
 * that starts as a JSON object. `undefined` (which no JSON text parses to) leaves the frame to
 * `parseServerFrame` whole: one that is not an object, or not JSON after all.
 */
export function readJsonObject(text: string): unknown {
  if (text.charCodeAt(0) !== 123) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function parseJson(json: string, text: string): ParsedFrame {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch {
    // Not the engine's message: it quotes the frame, which may hold a secret.
    return invalid(text, [{ path: [], message: 'malformed JSON' }]);
  }
  return parseFrameValue(data, text);
}

/**
 * A decoded frame checked and typed; `text` is the frame as received, for error messages. The
 * second half of `parseServerFrame`, after `readJsonObject`.
 */
export function parseFrameValue(data: unknown, text: string): ParsedFrame {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return invalid(text, [{ path: [], message: 'expected a JSON object' }]);
  }
  const frame = data as RawFrame;
  const type = frame.type;
  if (type === 'task_update') return readTaskUpdate(frame, text);
  if (type === 'ping') return PING_JSON;
  if (type === 'pong') return PONG_JSON;
  const fields =
    type === 'error' ? ERROR_FIELDS : type === 'connected' ? CONNECTED_FIELDS : undefined;
  if (fields === undefined) {
    return isString(type)
      ? { kind: 'unknown', type: type as string, frame }
      : invalid(text, [{ path: ['type'], message: 'expected a string frame type' }]);
  }
  for (const field of fields) {
    const value = frame[field[0]];
    if (!(field[3] && value == null) && !field[1](value))
      return invalid(text, issues(frame, fields));
  }
  if (type === 'connected') return { kind: 'connected', frame: frame as ConnectedFrame };
  const { code, message, detail } = frame;
  return {
    kind: 'error',
    code: code == null ? null : String(code),
    message: (message as string | undefined) ?? (isString(detail) ? (detail as string) : null),
    frame: frame as ErrorFrame,
  };
}

/**
 * The hot path: the same checks as `TASK_FIELDS`, written out as plain property reads (a loop
 * over the table costs about a third of a `JSON.parse` per frame in keyed loads and calls).
 */
function readTaskUpdate(frame: RawFrame, text: string): ParsedFrame {
  const { task_id: taskId, status, progress, message, updated_at: updatedAt } = frame;
  if (
    (typeof taskId === 'string'
      ? taskId !== ''
      : Number.isSafeInteger(taskId) && (taskId as number) >= 0) &&
    typeof status === 'string' &&
    status !== '' &&
    (progress == null || (typeof progress === 'number' && progress >= 0 && progress <= 100)) &&
    (message == null || typeof message === 'string') &&
    (updatedAt == null || (typeof updatedAt === 'string' && ISO_DATE_TIME.test(updatedAt)))
  ) {
    const update: TaskUpdate = {
      taskId: taskId as TaskUpdate['taskId'],
      status,
      progress: progress ?? null,
      message: message ?? null,
      result: frame.result ?? null,
      error: frame.error ?? null,
      updatedAt: updatedAt ?? null,
      raw: frame,
    };
    return { kind: 'task_update', update };
  }
  return invalid(text, issues(frame, TASK_FIELDS));
}

/**
 * What is wrong with a task update's fields, by the frame check's rules, or nothing. For updates
 * that come from elsewhere than a frame (a `resync` result), written with the frame's names.
 */
export function taskUpdateIssues(frame: RawFrame): TaskStatusIssue[] {
  return issues(frame, TASK_FIELDS);
}

/** Slow path, only for frames that failed: every wrong field, in order. */
function issues(frame: RawFrame, fields: readonly Field[]): TaskStatusIssue[] {
  return fields
    .filter(([name, ok, , optional]) => !(optional && frame[name] == null) && !ok(frame[name]))
    .map(([name, , problem]) => ({ path: [name], message: `expected ${problem}` }));
}

function invalid(text: string, found: TaskStatusIssue[]): ParsedFrame {
  return { kind: 'invalid', error: invalidFrameError(text, found) };
}

/**
 * The `PROTOCOL_ERROR` for a bad frame: the issues, then the frame shortened. Mask secrets in
 * `text` before calling, so none survives half-cut.
 */
export function invalidFrameError(
  text: string,
  issues: readonly TaskStatusIssue[],
): TaskStatusError {
  const where = issues
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ` : '') + issue.message)
    .join('; ');
  const frame = truncate(text);
  return new TaskStatusError('PROTOCOL_ERROR', `Invalid frame from server (${where}): ${frame}`, {
    issues,
    frame,
  });
}
