import type { StandardSchemaV1 } from '../client/standard-schema.js';
import type { TaskUpdate } from './types.js';

/**
 * A task update whose `result` (the task's payload) has the type `Result`, or is `null` while the
 * task has none.
 */
export type TaskUpdateWithResult<Result> = Omit<TaskUpdate, 'result'> & {
  /** The task's payload, checked by your schema, or `null` while the task has none. */
  result: Result | null;
};

/**
 * A `taskSchema` that checks only the task's payload, `result`, with your schema (zod, valibot,
 * arktype: any Standard Schema), and types `result` by it. A task without a payload yet (`result`
 * absent or `null`, as while it runs) passes as it is: the schema describes the payload when
 * there is one, so it need not be `.nullable()`.
 *
 * The client's own check has already proved every other field of the update by the time a
 * `taskSchema` runs, so this validates nothing twice. That makes it several times cheaper per
 * update than extending `taskUpdateSchema`, whose zod checks run again on every field. An update
 * whose payload fails is dropped with a `PROTOCOL_ERROR` (its issue paths start with `result`);
 * when the schema returns a new value (as zod does for objects), the update is a copy holding it.
 *
 * @example
 * ```ts
 * const client = new TaskStatusClient({
 *   baseUrl, userId, token,
 *   taskSchema: withResult(z.object({ url: z.string() })),
 * });
 * client.on('task', (update) => update.result?.url); // string | undefined
 * ```
 */
export function withResult<Result>(
  schema: StandardSchemaV1<unknown, Result>,
): StandardSchemaV1<TaskUpdate, TaskUpdateWithResult<Result>> {
  const payload = schema['~standard'];
  return {
    '~standard': {
      version: 1,
      vendor: 'task-status-client',
      validate(value) {
        if (typeof value !== 'object' || value === null) {
          return { issues: [{ message: 'expected a task update object' }] };
        }
        const update = value as TaskUpdate;
        if (update.result === null || update.result === undefined) {
          return { value: update as TaskUpdateWithResult<Result> };
        }
        const checked = payload.validate(update.result);
        return checked instanceof Promise
          ? checked.then((result) => withPayload(update, result))
          : withPayload(update, checked);
      },
    },
  };
}

function withPayload<Result>(
  update: TaskUpdate,
  checked: StandardSchemaV1.Result<Result>,
): StandardSchemaV1.Result<TaskUpdateWithResult<Result>> {
  if (checked.issues !== undefined) {
    return {
      issues: checked.issues.map((issue) => ({
        message: issue.message,
        path: ['result', ...(issue.path ?? [])],
      })),
    };
  }
  const result = checked.value;
  // The same value back (a schema that does not copy): the same update.
  return {
    value:
      result === update.result ? (update as TaskUpdateWithResult<Result>) : { ...update, result },
  };
}
