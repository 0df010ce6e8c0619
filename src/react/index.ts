/**
 * `task-status-client/react`: React bindings for the task-status client. A provider owns the
 * client's life; hooks built on `useSyncExternalStore` read its state and tasks. Every public
 * export is named here.
 */
export type { TaskStatusSnapshot, TaskStatusSource } from '../bindings/store.js';
export { useTask, useTaskStatus } from './hooks.js';
export { TaskStatusProvider, type TaskStatusProviderProps } from './provider.js';
