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
