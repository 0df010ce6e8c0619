import type {
  ConnectionState,
  TaskId,
  TaskStatusClient,
  TaskStatusError,
  TaskUpdate,
} from 'task-status-client';
import { type ComputedRef, computed, type InjectionKey, type ShallowRef, shallowRef } from 'vue';
import { type TaskStatusSource, TaskStatusStore } from '../bindings/store.js';

/** What `provideTaskStatus` and the plugin provide: the store mirrored into Vue refs. */
export interface TaskStatusContext<TUpdate extends TaskUpdate = TaskUpdate> {
  readonly store: TaskStatusStore<TUpdate>;
  readonly state: ShallowRef<ConnectionState>;
  readonly error: ShallowRef<TaskStatusError | undefined>;
  readonly client: ShallowRef<TaskStatusClient<TUpdate> | undefined>;
  /** Changes whenever the task table may have changed. */
  readonly version: ShallowRef<number>;
  /**
   * Whether the refs follow the client yet: from the first hold on (a mount), not in a server
   * render nor in the hydration of its markup.
   */
  readonly live: ShallowRef<boolean>;
  /** A copy of the task table, taken only when read after a change. */
  readonly tasks: ComputedRef<ReadonlyMap<TaskId, TUpdate>>;
}

/** The injection key of the task-status context. */
export const TASK_STATUS_KEY: InjectionKey<TaskStatusContext> = Symbol('task-status');

/**
 * A store for `source` and refs that follow it. Creates no client and opens nothing, so it is
 * safe in a server render: the client comes with the first mounted component that holds it.
 */
export function createTaskStatusContext<TUpdate extends TaskUpdate>(
  source: TaskStatusSource<TUpdate>,
): TaskStatusContext<TUpdate> {
  const store = new TaskStatusStore<TUpdate>(source);
  // Until the first hold, the refs show the initial snapshot (`idle`, no task), whatever the
  // client has done: a server render and the hydration of its markup must agree.
  const initial = store.getInitialSnapshot();
  const state = shallowRef(initial.state);
  const error = shallowRef(initial.error);
  const client = shallowRef(store.client);
  const version = shallowRef(store.version);
  const live = shallowRef(false);
  // Setting a shallowRef to the value it holds triggers nothing, so each change wakes only what
  // depends on the part that changed.
  store.subscribe(() => {
    live.value = true;
    state.value = store.state;
    error.value = store.error;
    client.value = store.client;
    version.value = store.version;
  });
  const tasks = computed(() => {
    void version.value;
    return live.value ? store.tasks : initial.tasks;
  });
  return { store, state, error, client, version, live, tasks };
}
