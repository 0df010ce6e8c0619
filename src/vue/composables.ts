import {
  type ConnectionState,
  type TaskId,
  type TaskStatusClient,
  TaskStatusError,
  type TaskUpdate,
} from 'task-status-client';
import {
  type ComputedRef,
  computed,
  getCurrentInstance,
  getCurrentScope,
  inject,
  type MaybeRefOrGetter,
  onMounted,
  onScopeDispose,
  provide,
  type Ref,
  shallowReadonly,
  toValue,
} from 'vue';
import type { TaskStatusSource, TaskStatusStore } from '../bindings/store.js';
import { createTaskStatusContext, TASK_STATUS_KEY, type TaskStatusContext } from './context.js';

/** What `useTaskStatus` and `provideTaskStatus` return: read-only refs. */
export interface TaskStatusRefs<TUpdate extends TaskUpdate = TaskUpdate> {
  /** The connection state; `idle` until a component holding the client has mounted. */
  readonly state: Readonly<Ref<ConnectionState>>;
  /** The latest update per task; a new map after every change. */
  readonly tasks: Readonly<Ref<ReadonlyMap<TaskId, TUpdate>>>;
  /** The last error the client reported since a connection was last accepted. */
  readonly error: Readonly<Ref<TaskStatusError | undefined>>;
  /** The client; `undefined` until created (never during a server render, for `options`). */
  readonly client: Readonly<Ref<TaskStatusClient<TUpdate> | undefined>>;
}

/**
 * Provides a task-status client to this component's descendants and holds it while this
 * component is mounted. With `options`, the client is created when the component mounts (never
 * during a server render), connected, and closed when the last component holding it unmounts.
 * With `client`, that client is connected on mount and never closed. Options are read once:
 * to follow another user, re-create the component (`:key="userId"`).
 *
 * @example
 * ```ts
 * // in App.vue's <script setup>
 * const { state, error } = provideTaskStatus({
 *   options: { baseUrl: '', userId: 2, token: () => auth.accessToken },
 * });
 * ```
 */
export function provideTaskStatus<TUpdate extends TaskUpdate = TaskUpdate>(
  source: TaskStatusSource<TUpdate>,
): TaskStatusRefs<TUpdate> {
  const context = createTaskStatusContext(source);
  provide(TASK_STATUS_KEY, context as unknown as TaskStatusContext);
  hold(context.store);
  return refsOf(context);
}

/**
 * The connection state, task table, last error and client provided by `provideTaskStatus` or
 * the plugin, as read-only refs. The calling component holds the client while it is mounted
 * (with the plugin, the client is connected while any such component is). Outside a component,
 * in an effect scope such as a Pinia setup store's, the client is held until the scope is
 * disposed (in a browser; never during a server render).
 *
 * @throws {TaskStatusError} `NO_PROVIDER` when nothing provides a task-status client.
 * @example
 * ```ts
 * const { state, tasks, error } = useTaskStatus();
 * ```
 */
export function useTaskStatus<TUpdate extends TaskUpdate = TaskUpdate>(): TaskStatusRefs<TUpdate> {
  const context = useContext<TUpdate>('useTaskStatus');
  hold(context.store);
  return refsOf(context);
}

/**
 * The latest update of one task as a computed ref, `undefined` until one arrives (or while the
 * id is `null`/`undefined`). The id may be a ref or a getter. Components re-render only when
 * this task changes (Vue 3.4 and later); `42` and `'42'` are the same task.
 *
 * @throws {TaskStatusError} `NO_PROVIDER` when nothing provides a task-status client.
 * @example
 * ```ts
 * const props = defineProps<{ taskId: number }>();
 * const task = useTask(() => props.taskId);
 * ```
 */
export function useTask<TUpdate extends TaskUpdate = TaskUpdate>(
  taskId: MaybeRefOrGetter<TaskId | null | undefined>,
): ComputedRef<TUpdate | undefined> {
  const context = useContext<TUpdate>('useTask');
  hold(context.store);
  return computed(() => {
    void context.version.value;
    void context.client.value;
    const id = toValue(taskId);
    if (id === null || id === undefined || !context.live.value) return undefined;
    return context.store.getTask(id);
  });
}

function useContext<TUpdate extends TaskUpdate>(name: string): TaskStatusContext<TUpdate> {
  // `undefined` outside a component or app context (a store unit-tested with no app), where Vue
  // also warns; `null`, the default, where no ancestor provides one.
  const context = inject(TASK_STATUS_KEY, null);
  if (context == null) {
    throw new TaskStatusError(
      'NO_PROVIDER',
      `${name}() needs a task-status client: call provideTaskStatus() in an ancestor component or install createTaskStatusPlugin()`,
    );
  }
  return context as unknown as TaskStatusContext<TUpdate>;
}

/**
 * Holds the client from this component's mount until its scope is disposed. Mount never
 * happens in a server render, so nothing is created or opened there. Outside a component, in an
 * effect scope (a Pinia setup store, `effectScope().run()`), the client is held from now until
 * the scope is disposed, but only in a browser: a store made for a server render opens nothing.
 * With no scope at all, nothing could let go of it, so it is not held.
 */
function hold<TUpdate extends TaskUpdate>(store: TaskStatusStore<TUpdate>): void {
  const inComponent = getCurrentInstance() !== null;
  if (!inComponent && (getCurrentScope() === undefined || typeof window === 'undefined')) return;
  let held = false;
  // Registered first: a hold whose client throws (invalid options) is still let go.
  onScopeDispose(() => {
    if (held) store.release();
    held = false;
  });
  const take = () => {
    held = true;
    store.acquire();
  };
  if (inComponent) onMounted(take);
  else take();
}

function refsOf<TUpdate extends TaskUpdate>(
  context: TaskStatusContext<TUpdate>,
): TaskStatusRefs<TUpdate> {
  // Read-only for consumers at run time too, not only in their type: the refs are shared by all
  // of them. Shallow, so the client is handed out as it is (a proxy would break its methods).
  const { state, tasks, error, client } = context;
  return {
    state: shallowReadonly(state),
    tasks,
    error: shallowReadonly(error),
    client: shallowReadonly(client),
  };
}
