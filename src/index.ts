/**
 * `task-status-client`: a typed, isomorphic client for the task-status WebSocket.
 * Every public export is named here.
 */
export {
  isTaskStatusError,
  TaskStatusError,
  type TaskStatusErrorCode,
  type TaskStatusErrorDetails,
  type TaskStatusIssue,
} from './errors.js';
export { AUTH_CLOSE_CODES, CloseCode, type CloseCodeValue } from './protocol/close-codes.js';
export {
  type HeartbeatFormat,
  type ParsedFrame,
  PING_FRAME,
  PONG_FRAME,
  parseServerFrame,
} from './protocol/parse.js';
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
export {
  buildTaskStatusUrl,
  DEFAULT_TASK_STATUS_PATH,
  redactUrl,
  type TaskStatusUrlOptions,
} from './url.js';
