import type { TaskUpdate } from '../../index.js';
import { describeError, type WatchReporter } from './reporter.js';

/**
 * One JSON object per line for every event, for machines and pipes (`jq`, log shippers). Each
 * line has `event` and `time` (ISO 8601) first; the rest is the event's payload. The last line is
 * `{"event":"exit",…}`. Every string, and every line, goes through `scrub`, so no token is
 * ever written.
 */
export function createNdjsonReporter(
  write: (line: string) => void,
  scrub: (text: string) => string,
): WatchReporter {
  // Each string is masked before encoding, whose escaping would hide the token's JSON-escaped
  // forms (a message holding `\u00fc` is written `\\u00fc`). The line is masked once more, for
  // keys, which the replacer does not see (a task's `result` is the server's own object).
  const mask = (_key: string, value: unknown) => (typeof value === 'string' ? scrub(value) : value);
  const emit = (event: string, payload: object = {}) =>
    write(
      `${scrub(JSON.stringify({ event, time: new Date().toISOString(), ...payload }, mask))}\n`,
    );
  return {
    start: () => {},
    state: (state, previous) => emit('state', { state, previous }),
    open: (info) => emit('open', info),
    close: (info) => emit('close', info),
    reconnecting: ({ attempt, delayMs, reason }) =>
      emit('reconnecting', { attempt, delayMs, reason: describeError(reason) }),
    // Always both fields: `closeCode` is null for a refused upgrade (no socket, so no close),
    // `httpStatus` for a refusal after the accept.
    authError: (info) =>
      emit('authError', {
        ...info,
        closeCode: info.closeCode ?? null,
        httpStatus: info.httpStatus ?? null,
      }),
    error: (error) => emit('error', describeError(error)),
    heartbeat: (info) => emit('heartbeat', info),
    task: (update) => emit('task', taskPayload(update)),
    end: ({ exitCode, reason, tasks, error }) =>
      emit('exit', {
        exitCode,
        reason,
        tasks,
        ...(error === undefined ? {} : { error: describeError(error) }),
      }),
  };
}

/** A task update without `raw` (the frame as received, which repeats the same fields). */
export function taskPayload(update: TaskUpdate): Omit<TaskUpdate, 'raw'> {
  const { raw: _raw, ...fields } = update;
  return fields;
}
