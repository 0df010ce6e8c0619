import { TaskStatusError } from '../errors.js';
import { taskUpdateIssues } from '../protocol/parse.js';
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
 * out: they keep the value the table holds for the task (`null` for a task it does not hold).
 * Give `updatedAt` so older states are recognised as stale.
 */
export type ResyncFunction<T extends TaskUpdate = TaskUpdate> = (
  context: ResyncContext<T>,
) => Promise<readonly ResyncUpdate<T>[]> | readonly ResyncUpdate<T>[];

/**
 * A task state returned by `resync`: `taskId` and `status` required, the rest optional. A field
 * left out keeps the held value; `null` clears it.
 */
export type ResyncUpdate<T extends TaskUpdate = TaskUpdate> = Pick<T, 'taskId' | 'status'> &
  Partial<Omit<T, 'taskId' | 'status'>>;

/** The fields of a task state no resync item has given yet. */
const UNKNOWN = { progress: null, message: null, result: null, error: null, updatedAt: null };

/**
 * Checks a resync result by the rules of a live update (a `task_id` that is a non-negative
 * integer or a non-empty string, a non-empty `status`, `progress` from 0 to 100, …) and gives it
 * the shape of a live update: each field it leaves out (or sets to `undefined`) keeps the value
 * `table` holds for the task, else `null`. The held update's `raw` frame is not carried over.
 * @throws {TaskStatusError} `RESYNC_FAILED` naming the item and what is wrong with it.
 */
export function normaliseResyncUpdate<T extends TaskUpdate>(
  input: ResyncUpdate<T>,
  index: number,
  table: { get(taskId: TaskId): T | undefined },
): T {
  const item: Partial<TaskUpdate> = typeof input === 'object' && input !== null ? input : {};
  const found = taskUpdateIssues({
    task_id: item.taskId,
    status: item.status,
    progress: item.progress,
    message: item.message,
    updated_at: item.updatedAt,
  });
  if (item !== input || found.length > 0) {
    const what = found
      .map(({ path, message }) => `${CAMEL_CASE[String(path[0])] ?? String(path[0])}: ${message}`)
      .join('; ');
    throw new TaskStatusError(
      'RESYNC_FAILED',
      `resync returned a bad task state at index ${index} (${what || 'not an object'})`,
    );
  }
  const { raw: _frame, ...held }: Partial<TaskUpdate> = table.get(item.taskId as TaskId) ?? {};
  const update: Record<string, unknown> = { ...UNKNOWN, ...held };
  for (const [field, value] of Object.entries(input)) {
    // An own `__proto__` (from `response.json()`) would replace the update's prototype.
    if (value !== undefined && field !== '__proto__') update[field] = value;
  }
  return update as T;
}

const CAMEL_CASE: Readonly<Record<string, string>> = { task_id: 'taskId', updated_at: 'updatedAt' };
