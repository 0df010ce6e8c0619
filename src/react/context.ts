import { createContext } from 'react';
import type { TaskStatusStore } from '../bindings/store.js';

/** The store of the nearest `TaskStatusProvider`; `null` outside any. */
export const TaskStatusContext = createContext<TaskStatusStore | null>(null);
TaskStatusContext.displayName = 'TaskStatusContext';
