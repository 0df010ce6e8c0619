import { TaskStatusError } from '../errors.js';
import type { TaskId, TaskUpdate } from '../protocol/types.js';

/** What the `resync` function is given after a reconnect. */
export interface ResyncContext<T extends TaskUpdate = TaskUpdate> {
  /** The table as it stands, so you can ask only for tasks you follow. */
  readonly tasks: ReadonlyMap<TaskId, T>;
  /**
   * Aborted if the client closes or fails for good, or a newer resync starts (after the next
   * reconnect), before you finish. A result that comes after a drop is still applied.
   */
  readonly signal: AbortSignal;
}

/**
 * Fetches the current state of tasks after a reconnect (e.g. from an HTTP endpoint), so no final
 * status is lost while the socket was down. Fields other than `taskId` and `status` may be left
 * out; give `updatedAt` so older states are recognised as stale.
 */
export type ResyncFunction<T extends TaskUpdate = TaskUpdate> = (
  context: ResyncContext<T>,
) => Promise<readonly ResyncUpdate<T>[]> | readonly ResyncUpdate<T>[];

/** A task state returned by `resync`: `taskId` and `status` required, the rest optional. */
export type ResyncUpdate<T extends TaskUpdate = TaskUpdate> = Pick<T, 'taskId' | 'status'> &
  Partial<Omit<T, 'taskId' | 'status'>>;

/** Fills the optional fields of a resync result so it has the shape of a live update. */
export function normaliseResyncUpdate<T extends TaskUpdate>(input: ResyncUpdate<T>): T {
  if (
    typeof input !== 'object' ||
    input === null ||
    (typeof input.taskId !== 'number' && typeof input.taskId !== 'string') ||
    typeof input.status !== 'string'
  ) {
    throw new TaskStatusError(
      'RESYNC_FAILED',
      'resync returned an item without a numeric or string taskId and a string status',
    );
  }
  return {
    progress: null,
    message: null,
    result: null,
    error: null,
    updatedAt: null,
    ...input,
  } as unknown as T;
}
