import { useCallback, useContext, useSyncExternalStore } from 'react';
import { type TaskId, TaskStatusError, type TaskUpdate } from 'task-status-client';
import type { TaskStatusSnapshot, TaskStatusStore } from '../bindings/store.js';
import { TaskStatusContext } from './context.js';

/**
 * The connection state, the task table, the last error and the client of the nearest
 * `TaskStatusProvider`. The component re-renders when any of them changes; to follow a single
 * task, `useTask` re-renders less.
 *
 * During server rendering and hydration, `state` is `idle` and `tasks` is empty, even for a
 * client the provider was given and the app started; `client` is that client, else
 * `undefined` until the provider has mounted.
 *
 * @throws {TaskStatusError} `NO_PROVIDER` outside a `TaskStatusProvider`.
 * @example
 * ```tsx
 * const { state, tasks, error } = useTaskStatus();
 * if (error?.code === 'AUTH_FAILED') return <SignInAgain />;
 * ```
 */
export function useTaskStatus<
  TUpdate extends TaskUpdate = TaskUpdate,
>(): TaskStatusSnapshot<TUpdate> {
  const store = useStore<TUpdate>('useTaskStatus');
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getInitialSnapshot);
}

/**
 * The latest update of one task, or `undefined` until one arrives (or for a `null`/`undefined`
 * id). The component re-renders only when this task changes; `42` and `'42'` are the same task.
 *
 * @throws {TaskStatusError} `NO_PROVIDER` outside a `TaskStatusProvider`.
 * @example
 * ```tsx
 * const task = useTask(taskId);
 * return <progress value={task?.progress ?? 0} max={100} />;
 * ```
 */
export function useTask<TUpdate extends TaskUpdate = TaskUpdate>(
  taskId: TaskId | null | undefined,
): TUpdate | undefined {
  const store = useStore<TUpdate>('useTask');
  const subscribe = useCallback(
    (listener: () => void) =>
      taskId === null || taskId === undefined ? noop : store.subscribeTask(taskId, listener),
    [store, taskId],
  );
  const getTask = () =>
    taskId === null || taskId === undefined ? undefined : store.getTask(taskId);
  return useSyncExternalStore(subscribe, getTask, nothing);
}

function useStore<TUpdate extends TaskUpdate>(hook: string): TaskStatusStore<TUpdate> {
  const store = useContext(TaskStatusContext);
  if (store === null) {
    throw new TaskStatusError(
      'NO_PROVIDER',
      `${hook}() must be called inside a <TaskStatusProvider>`,
    );
  }
  return store as unknown as TaskStatusStore<TUpdate>;
}

function noop(): void {}

function nothing(): undefined {
  return undefined;
}
