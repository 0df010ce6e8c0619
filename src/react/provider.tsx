import { type ReactElement, type ReactNode, useEffect, useMemo } from 'react';
import type { TaskStatusClientOptions, TaskUpdate } from 'task-status-client';
import { type TaskStatusSource, TaskStatusStore } from '../bindings/store.js';
import { TaskStatusContext } from './context.js';

/**
 * Props of {@link TaskStatusProvider}: `options` for a client the provider creates and owns, or
 * `client` for one the app owns.
 */
export type TaskStatusProviderProps<TUpdate extends TaskUpdate = TaskUpdate> =
  TaskStatusSource<TUpdate> & {
    /** The part of the app that uses `useTaskStatus` and `useTask`. */
    readonly children?: ReactNode;
  };

/**
 * Makes a task-status client available to `useTaskStatus` and `useTask` below it.
 *
 * With `options`, the provider creates the client when it mounts (never during server
 * rendering), connects it, and closes it when it unmounts. StrictMode's unmount-and-remount
 * reuses the same client and socket. The options are read when the provider mounts, and again
 * (with a new client) when `baseUrl`, `userId`, `path` or a string `token` changes, or `token`
 * changes kind (taken away at sign-out, say); give `token` as a function so that each connect
 * attempt reads the app's current token.
 *
 * With `client`, the provider connects that client when it mounts and never closes it.
 *
 * @example
 * ```tsx
 * <TaskStatusProvider options={{ baseUrl: '', userId: user.id, token: () => auth.accessToken }}>
 *   <Tasks />
 * </TaskStatusProvider>
 * ```
 */
export function TaskStatusProvider<TUpdate extends TaskUpdate = TaskUpdate>(
  props: TaskStatusProviderProps<TUpdate>,
): ReactElement {
  // Typed `ReactElement`, not `ReactNode`: a component that returns a `ReactNode` is a valid JSX
  // element only with @types/react 18.2.8 or later and TypeScript 5.1 or later.
  const { client, options, children } = props;
  const key = client === undefined ? identity(options) : undefined;
  // The store only changes with the client's identity (the client, or the options that name the
  // socket); constructing a store opens nothing, so a discarded memo costs nothing.
  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` stands for `options`.
  const store = useMemo(
    () => new TaskStatusStore<TUpdate>(client === undefined ? { options } : { client }),
    [client, key],
  );
  useEffect(() => {
    store.acquire();
    return () => store.release();
  }, [store]);
  return (
    <TaskStatusContext.Provider value={store as unknown as TaskStatusStore}>
      {children}
    </TaskStatusContext.Provider>
  );
}

/** The options that decide which socket a client opens. */
function identity<TUpdate extends TaskUpdate>(options: TaskStatusClientOptions<TUpdate>): string {
  const { baseUrl, userId, path, token } = options;
  // A token's kind counts too: a token function taken away (a sign-out) must not leave its
  // client connected.
  const tokenValue = typeof token === 'string' ? token : null;
  return JSON.stringify([baseUrl, userId, path ?? null, typeof token, tokenValue]);
}
