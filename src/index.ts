/**
 * `task-status-client`: a typed, isomorphic client for the task-status WebSocket.
 * Every public export is named here.
 */
export { reconnectDelay } from './client/backoff.js';
export { createTaskStatusClient, TaskStatusClient } from './client/client.js';
export { type CloseDecision, type CloseFacts, decideAfterClose } from './client/close-policy.js';
export type {
  AuthErrorInfo,
  CloseEventInfo,
  ConnectionState,
  HeartbeatInfo,
  MessageFrame,
  OpenInfo,
  ReconnectingInfo,
  ResyncedInfo,
  TaskStatusEvents,
} from './client/events.js';
export {
  type CloseInfo,
  CONNECT_DEFAULTS,
  type Complete,
  HEARTBEAT_DEFAULTS,
  type HeartbeatOptions,
  type JitterMode,
  RECONNECT_DEFAULTS,
  type ReconnectOptions,
  type TaskStatusClientOptions,
  TERMINAL_STATUSES,
  type TokenContext,
  type TokenReason,
  type TokenSource,
} from './client/options.js';
export type {
  ResyncContext,
  ResyncFunction,
  ResyncUpdate,
} from './client/resync.js';
export type { StandardSchemaV1 } from './client/standard-schema.js';
export type { TaskTableStats } from './client/task-table.js';
export {
  DEFAULT_BUFFER_SIZE,
  type OverflowMode,
  type TaskUpdateIterator,
  type UpdatesOptions,
  type WatchTaskOptions,
} from './client/update-stream.js';
export type { WaitForTaskOptions } from './client/wait-for-task.js';
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
export type {
  CloseEventLike,
  ErrorEventLike,
  EventHandlerLike,
  MessageEventLike,
  WebSocketConstructor,
  WebSocketLike,
} from './transport/websocket.js';
export {
  buildTaskStatusUrl,
  DEFAULT_TASK_STATUS_PATH,
  redactUrl,
  type TaskStatusUrlOptions,
} from './url.js';
