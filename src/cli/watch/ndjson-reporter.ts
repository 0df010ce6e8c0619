import type { TaskUpdate } from '../../index.js';
import { maskingReplacer, maskKeys } from '../secrets.js';
import { describeError, type WatchReporter } from './reporter.js';

/**
 * One JSON object per line for every event, for machines and pipes (`jq`, log shippers). Each
 * line has `event` and `time` (ISO 8601) first; the rest is the event's payload. The last line is
 * `{"event":"exit",…}`. Every string of the payload, and every key of a task's `result` and
 * `error` (the server's own objects), is masked with `scrub`, so no token is ever written and
 * every line stays valid JSON. `event` and `time` are the command's own and left as they are,
 * so a consumer can always tell the events apart.
 */
export function createNdjsonReporter(
  write: (line: string) => void,
  scrub: (text: string) => string,
): WatchReporter {
  const mask = maskingReplacer(scrub);
  const emit = (event: string, payload: object = {}) => {
    const head = JSON.stringify({ event, time: new Date().toISOString() });
    const body = JSON.stringify(payload, mask);
    write(`${body === '{}' ? head : `${head.slice(0, -1)},${body.slice(1)}`}\n`);
  };
  return {
    start: () => {},
    state: (state, previous) => emit('state', { state, previous }),
    open: (info) => emit('open', info),
    close: (info) => emit('close', info),
    reconnecting: ({ attempt, delayMs, reason }) =>
      emit('reconnecting', {
        attempt,
        delayMs: Math.round(delayMs),
        reason: describeError(reason),
      }),
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
    task: (update) => {
      const fields = taskPayload(update);
      emit('task', {
        ...fields,
        result: maskKeys(fields.result, scrub),
        error: maskKeys(fields.error, scrub),
      });
    },
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
