import type { TaskUpdate } from 'task-status-client';
import type { Plugin } from 'vue';
import type { TaskStatusSource } from '../bindings/store.js';
import { createTaskStatusContext, TASK_STATUS_KEY, type TaskStatusContext } from './context.js';

/**
 * A Vue plugin that provides a task-status client to the whole app. Nothing is created or
 * connected at install (so it is safe in a server render): the client is created and connected
 * when the first component using `useTaskStatus` or `useTask` mounts, closed a tick after the
 * last one unmounts, and closed when the app unmounts. A `client` you pass is connected the
 * same way but never closed. The plugin takes no install options: `app.use(plugin)`.
 *
 * @example
 * ```ts
 * createApp(App)
 *   .use(createTaskStatusPlugin({ options: { baseUrl: '', userId: 2, token: () => auth.accessToken } }))
 *   .mount('#app');
 * ```
 */
export function createTaskStatusPlugin<TUpdate extends TaskUpdate = TaskUpdate>(
  source: TaskStatusSource<TUpdate>,
): Plugin<[]> {
  return {
    install(app) {
      const context = createTaskStatusContext(source);
      app.provide(TASK_STATUS_KEY, context as unknown as TaskStatusContext);
      // `app.onUnmount` exists from Vue 3.5; before, the last component's unmount closes it.
      if (typeof app.onUnmount === 'function') app.onUnmount(() => context.store.dispose());
    },
  };
}
