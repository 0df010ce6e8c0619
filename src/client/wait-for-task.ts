import { TaskStatusError } from '../errors.js';
import type { TaskId, TaskUpdate } from '../protocol/types.js';
import { onAbort } from './shared-abort.js';

/** Options of `client.waitForTask()`. */
export interface WaitForTaskOptions {
  /**
   * Rejects with `ABORTED` when aborted.
   * @default undefined
   */
  signal?: AbortSignal | undefined;
  /**
   * Rejects with `TASK_TIMEOUT` after this long.
   * @default no timeout
   */
  timeoutMs?: number | undefined;
}

/**
 * Reads a task's `watchTask` stream to its terminal update. The stream ends early only when the
 * client closes (then `closedError()` says why) or rejects with the client's fatal error.
 */
export async function waitForTask<T extends TaskUpdate>(
  watch: (signal: AbortSignal) => AsyncIterable<T>,
  isTerminal: (update: T) => boolean,
  taskId: TaskId,
  closedError: () => TaskStatusError,
  options: WaitForTaskOptions = {},
): Promise<T> {
  const { signal, timeoutMs } = options;
  const controller = new AbortController();
  const stop = () => controller.abort();
  const unsubscribe = signal === undefined ? undefined : onAbort(signal, stop);
  const timer = timeoutMs === undefined ? undefined : setTimeout(stop, timeoutMs);
  try {
    if (signal?.aborted) stop();
    for await (const update of watch(controller.signal)) if (isTerminal(update)) return update;
    throw closedError();
  } catch (error) {
    if (!controller.signal.aborted) throw error;
    throw signal?.aborted
      ? new TaskStatusError('ABORTED', `Waiting for task ${String(taskId)} was aborted`, {
          cause: signal.reason,
        })
      : new TaskStatusError(
          'TASK_TIMEOUT',
          `Task ${String(taskId)} did not finish within ${timeoutMs} ms`,
        );
  } finally {
    clearTimeout(timer);
    unsubscribe?.();
  }
}
