/**
 * `task-status-client/schemas`: the zod schemas of every frame, for validation in your own
 * code, and `withResult` to type and check the task payload (pass it as the client's `taskSchema`).
 */
export { type TaskUpdateWithResult, withResult } from './protocol/result-schema.js';
export {
  connectedFrameSchema,
  dateTimeSchema,
  errorFrameSchema,
  KNOWN_TASK_STATUSES,
  pingFrameSchema,
  pongFrameSchema,
  progressSchema,
  serverFrameSchema,
  taskIdSchema,
  taskStatusSchema,
  taskUpdateFrameSchema,
  taskUpdateSchema,
} from './protocol/schemas.js';
export type {
  ConnectedFrame,
  ErrorFrame,
  PingFrame,
  PongFrame,
  ServerFrame,
  TaskId,
  TaskStatus,
  TaskUpdate,
  TaskUpdateFrame,
} from './protocol/types.js';
