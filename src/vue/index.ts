/**
 * `task-status-client/vue`: Vue 3 bindings for the task-status client. A plugin or
 * `provideTaskStatus` supplies the client; composables return refs that follow its state and
 * tasks and let go of it with their component's scope. Every public export is named here.
 */
export type { TaskStatusSource } from '../bindings/store.js';
export {
  provideTaskStatus,
  type TaskStatusRefs,
  useTask,
  useTaskStatus,
} from './composables.js';
export { createTaskStatusPlugin } from './plugin.js';
