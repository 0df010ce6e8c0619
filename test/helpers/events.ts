import type { EventEmitter } from 'eventemitter3';
import type { TaskStatusError } from '../../src/index.js';

/** Resolves with the arguments of the next `event` (no timers: vitest's test timeout bounds it). */
export function nextEvent<T extends unknown[] = unknown[]>(
  emitter: EventEmitter,
  event: string,
): Promise<T> {
  return new Promise((resolve) => emitter.once(event, (...args: unknown[]) => resolve(args as T)));
}

/** Records every emission of the given events, in order, as `[name, firstArg]`. */
export function record(emitter: EventEmitter, events: readonly string[]): [string, unknown][] {
  const log: [string, unknown][] = [];
  for (const event of events) emitter.on(event, (value: unknown) => log.push([event, value]));
  return log;
}

/** Resolves with the error `promise` rejects with; fails the test if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<TaskStatusError> {
  try {
    await promise;
  } catch (error) {
    return error as TaskStatusError;
  }
  throw new Error('expected the promise to reject');
}
