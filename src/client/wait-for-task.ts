import { TaskStatusError } from '../errors.js';
import type { TaskId, TaskUpdate } from '../protocol/types.js';
import { Timer } from './timers.js';

/** Options of `client.waitForTask()`. */
export interface WaitForTaskOptions {
  /**
   * Rejects with `ABORTED` when aborted.
   * @default undefined
   */
  signal?: AbortSignal;
  /**
   * Rejects with `TASK_TIMEOUT` after this long.
   * @default no timeout
   */
  timeoutMs?: number;
}

/** What a wait needs from its client. */
export interface WaitSource<T> {
  current(taskId: TaskId): T | undefined;
  isTerminal(update: T): boolean;
  subscribe(listener: (update: T) => void): void;
  unsubscribe(listener: (update: T) => void): void;
  /** Registers `fail` to be called when the client ends; returns the way to unregister. */
  onEnd(fail: (error: TaskStatusError) => void): () => void;
}

/**
 * Resolves with the task's terminal update (at once if already held), or rejects with
 * `TASK_TIMEOUT`, `ABORTED`, or the error that ended the client. Leaves nothing behind.
 */
export function waitForTask<T extends TaskUpdate>(
  source: WaitSource<T>,
  taskId: TaskId,
  options: WaitForTaskOptions = {},
): Promise<T> {
  const held = source.current(taskId);
  if (held !== undefined && source.isTerminal(held)) return Promise.resolve(held);
  const { signal, timeoutMs } = options;
  if (signal?.aborted) return Promise.reject(aborted(taskId));
  return new Promise<T>((resolve, reject) => {
    const timer = new Timer();
    const key = String(taskId);
    const listener = (update: T) => {
      if (String(update.taskId) === key && source.isTerminal(update)) settle(() => resolve(update));
    };
    const onAbort = () => settle(() => reject(aborted(taskId)));
    const offEnd = source.onEnd((error) => settle(() => reject(error)));
    function settle(finish: () => void): void {
      timer.clear();
      source.unsubscribe(listener);
      signal?.removeEventListener('abort', onAbort);
      offEnd();
      finish();
    }
    source.subscribe(listener);
    signal?.addEventListener('abort', onAbort);
    if (timeoutMs !== undefined) {
      timer.start(timeoutMs, () =>
        settle(() =>
          reject(
            new TaskStatusError(
              'TASK_TIMEOUT',
              `Task ${key} did not finish within ${timeoutMs} ms`,
            ),
          ),
        ),
      );
    }
  });
}

function aborted(taskId: TaskId): TaskStatusError {
  return new TaskStatusError('ABORTED', `Waiting for task ${String(taskId)} was aborted`);
}
