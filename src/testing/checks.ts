/**
 * Argument checks that the testing kit's options and controls share, so that both transports
 * refuse a bad value alike: a `TaskStatusError` with code `INVALID_OPTIONS` naming the argument.
 */
import { TaskStatusError } from 'task-status-client';

/** The longest delay a timer waits out (2^31 - 1 ms, about 24.8 days): a longer one fires at once. */
export const MAX_DELAY_MS = 2_147_483_647;

/** The error for a bad option or argument: `Invalid option "<name>": <problem>`. */
export function invalid(name: string, problem: string): TaskStatusError {
  return new TaskStatusError('INVALID_OPTIONS', `Invalid option "${name}": ${problem}`);
}

/** A wait of the server's: `min` to {@link MAX_DELAY_MS} ms; NaN and Infinity are refused. */
export function checkDelay(value: unknown, name: string, min = 0): asserts value is number {
  if (typeof value !== 'number' || !(value >= min && value <= MAX_DELAY_MS)) {
    throw invalid(
      name,
      `must be a number of ms from ${min} to ${MAX_DELAY_MS}, got ${String(value)}`,
    );
  }
}

/** A value as an error message shows it: strings quoted, objects by kind. */
export function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'function') return 'a function';
  return String(value);
}

/** An object (not `null`, not an array) whose keys are all `known`; `keyName` names a key. */
export function checkObject(
  value: unknown,
  name: string,
  known: readonly string[],
  keyName = (key: string) => `${name}.${key}`,
): asserts value is Readonly<Record<string, unknown>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(name, `must be an object with ${known.join(', ')}, got ${shown(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw invalid(keyName(key), `is not a known key; known: ${known.join(', ')}`);
    }
  }
}

/** A user id: a safe integer from 0, or a non-empty string, as the client takes it. */
export function checkUserId(value: unknown, name: string): asserts value is number | string {
  const ok =
    (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) ||
    (typeof value === 'string' && value !== '');
  if (!ok) {
    throw invalid(name, `must be an integer from 0 or a non-empty string, got ${shown(value)}`);
  }
}

/** A string or `undefined`. */
export function checkString(value: unknown, name: string): asserts value is string | undefined {
  if (value !== undefined && typeof value !== 'string') {
    throw invalid(name, `must be a string, got ${shown(value)}`);
  }
}
