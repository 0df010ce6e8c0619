/**
 * The per-frame hot path: `JSON.parse` plus a hand-written guard that accepts exactly what the
 * zod schemas in `schemas.ts` accept (a property test holds the two together). It never throws.
 */
import { TaskStatusError, type TaskStatusIssue, truncate } from '../errors.js';
import { ISO_DATE_TIME } from './date-time.js';
import type { ConnectedFrame, ErrorFrame, TaskUpdate, TaskUpdateFrame } from './types.js';

/** How a heartbeat frame was written: JSON (`{"type":"ping"}`) or plain text (`ping`). */
export type HeartbeatFormat = 'json' | 'text';

/** What `parseServerFrame` made of one text frame. Discriminated by `kind`. */
export type ParsedFrame =
  | { readonly kind: 'connected'; readonly frame: ConnectedFrame }
  | { readonly kind: 'task_update'; readonly update: TaskUpdate }
  | {
      readonly kind: 'error';
      readonly code: string | null;
      readonly message: string | null;
      readonly frame: ErrorFrame;
    }
  | { readonly kind: 'ping'; readonly format: HeartbeatFormat }
  | { readonly kind: 'pong'; readonly format: HeartbeatFormat }
  /** A frame that is not JSON, e.g. a plain-text auth error. */
  | { readonly kind: 'text'; readonly text: string }
  /** A JSON object whose `type` this client does not know. */
  | { readonly kind: 'unknown'; readonly type: string; readonly frame: Record<string, unknown> }
  /** Malformed JSON, or a frame that fails its schema: `error.code` is `PROTOCOL_ERROR`. */
  | { readonly kind: 'invalid'; readonly error: TaskStatusError };

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
  user_id?: unknown;
  code?: unknown;
  detail?: unknown;
  [field: string]: unknown;
}

const OPEN_BRACE = 123;
const OPEN_BRACKET = 91;

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
  if (first !== OPEN_BRACE && first !== OPEN_BRACKET) return parseNonJson(text);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return invalid(text, [{ path: [], message: `malformed JSON (${(error as Error).message})` }]);
  }
  return parseValue(data, text);
}

function parseNonJson(text: string): ParsedFrame {
  const trimmed = text.trim();
  if (trimmed === 'ping') return PING_TEXT;
  if (trimmed === 'pong') return PONG_TEXT;
  const first = trimmed.charCodeAt(0);
  if (first === OPEN_BRACE || first === OPEN_BRACKET) return parseServerFrame(trimmed);
  // A bare JSON scalar: a string (`"Invalid token"`, as `send_json("…")` writes it) is read as
  // text; `42`, `true` or `null` is JSON that fails the schema.
  let data: unknown;
  try {
    data = JSON.parse(trimmed);
  } catch {
    return { kind: 'text', text };
  }
  return typeof data === 'string' ? { kind: 'text', text: data } : parseValue(data, text);
}

function parseValue(data: unknown, text: string): ParsedFrame {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return invalid(text, [{ path: [], message: 'expected a JSON object' }]);
  }
  const frame = data as RawFrame;
  switch (frame.type) {
    case 'task_update':
      return readTaskUpdate(frame, text);
    case 'ping':
      return PING_JSON;
    case 'pong':
      return PONG_JSON;
    case 'connected':
      return readConnected(frame, text);
    case 'error':
      return readError(frame, text);
    default:
      if (typeof frame.type === 'string') return { kind: 'unknown', type: frame.type, frame };
      return invalid(text, [{ path: ['type'], message: 'expected a string frame type' }]);
  }
}

function readTaskUpdate(frame: RawFrame, text: string): ParsedFrame {
  const taskId = frame.task_id;
  const status = frame.status;
  const progress = frame.progress;
  const message = frame.message;
  const updatedAt = frame.updated_at;
  if (
    isTaskId(taskId) &&
    typeof status === 'string' &&
    status.length > 0 &&
    (progress == null || isProgress(progress)) &&
    (message == null || typeof message === 'string') &&
    (updatedAt == null || isDateTime(updatedAt))
  ) {
    const update: TaskUpdate = {
      taskId,
      status,
      progress: progress ?? null,
      message: message ?? null,
      result: frame.result ?? null,
      error: frame.error ?? null,
      updatedAt: updatedAt ?? null,
      raw: frame as TaskUpdateFrame,
    };
    return { kind: 'task_update', update };
  }
  return invalid(text, taskUpdateIssues(frame));
}

/** Slow path, only for frames that failed: say exactly which fields are wrong. */
function taskUpdateIssues(frame: RawFrame): TaskStatusIssue[] {
  const issues: TaskStatusIssue[] = [];
  if (!isTaskId(frame.task_id)) {
    issues.push({
      path: ['task_id'],
      message: 'expected a non-negative integer or a non-empty string',
    });
  }
  if (typeof frame.status !== 'string' || frame.status.length === 0) {
    issues.push({ path: ['status'], message: 'expected a non-empty string' });
  }
  if (frame.progress != null && !isProgress(frame.progress)) {
    issues.push({ path: ['progress'], message: 'expected a number from 0 to 100' });
  }
  if (frame.message != null && typeof frame.message !== 'string') {
    issues.push({ path: ['message'], message: 'expected a string' });
  }
  if (frame.updated_at != null && !isDateTime(frame.updated_at)) {
    issues.push({ path: ['updated_at'], message: 'expected an ISO-8601 date-time string' });
  }
  return issues;
}

function readConnected(frame: RawFrame, text: string): ParsedFrame {
  const userId = frame.user_id;
  if (userId == null || typeof userId === 'string' || isFiniteNumber(userId)) {
    return { kind: 'connected', frame: frame as ConnectedFrame };
  }
  return invalid(text, [{ path: ['user_id'], message: 'expected a number or a string' }]);
}

function readError(frame: RawFrame, text: string): ParsedFrame {
  const code = frame.code;
  const message = frame.message;
  const issues: TaskStatusIssue[] = [];
  if (code != null && typeof code !== 'string' && !isFiniteNumber(code)) {
    issues.push({ path: ['code'], message: 'expected a string or a number' });
  }
  if (message != null && typeof message !== 'string') {
    issues.push({ path: ['message'], message: 'expected a string' });
  }
  if (issues.length > 0) return invalid(text, issues);
  const detail = frame.detail;
  return {
    kind: 'error',
    code: code == null ? null : String(code),
    message: (message as string | null | undefined) ?? (typeof detail === 'string' ? detail : null),
    frame: frame as ErrorFrame,
  };
}

function isTaskId(value: unknown): value is number | string {
  return typeof value === 'string'
    ? value.length > 0
    : Number.isSafeInteger(value) && (value as number) >= 0;
}

function isProgress(value: unknown): value is number {
  return typeof value === 'number' && value >= 0 && value <= 100;
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function isDateTime(value: unknown): value is string {
  return typeof value === 'string' && ISO_DATE_TIME.test(value);
}

function invalid(text: string, issues: TaskStatusIssue[]): ParsedFrame {
  const where = issues
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ` : '') + issue.message)
    .join('; ');
  const frame = truncate(text);
  const error = new TaskStatusError(
    'PROTOCOL_ERROR',
    `Invalid frame from server (${where}): ${frame}`,
    {
      issues,
      frame,
    },
  );
  return { kind: 'invalid', error };
}
