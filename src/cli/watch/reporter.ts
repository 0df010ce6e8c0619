import type {
  AuthErrorInfo,
  CloseEventInfo,
  ConnectionState,
  HeartbeatInfo,
  OpenInfo,
  ReconnectingInfo,
  TaskStatusError,
  TaskUpdate,
} from '../../index.js';
import type { TaskBoard, TaskOutcome } from './task-board.js';

/**
 * Why `watch` stopped; `output-closed`: the reader of its output went away (EPIPE);
 * `output-failed`: its output could not be written for another reason (ENOSPC).
 */
export type WatchEndReason =
  | 'tasks-done'
  | 'interrupted'
  | 'terminated'
  | 'output-closed'
  | 'output-failed'
  | 'connection-failed';

/** How `watch` ended: the exit code, why, each task's status, and the fatal error if any. */
export interface WatchEnd {
  readonly exitCode: number;
  readonly reason: WatchEndReason;
  readonly tasks: readonly TaskOutcome[];
  readonly error: TaskStatusError | undefined;
}

/**
 * Where `watch` sends what happens: one NDJSON line per event (`ndjson-reporter.ts`) or a live
 * view redrawn in place on a terminal (`live-view.ts`). Every method is called after the board
 * has been updated.
 */
export interface WatchReporter {
  start(): void;
  state(state: ConnectionState, previous: ConnectionState): void;
  open(info: OpenInfo): void;
  close(info: CloseEventInfo): void;
  reconnecting(info: ReconnectingInfo): void;
  authError(info: AuthErrorInfo): void;
  error(error: TaskStatusError): void;
  heartbeat(info: HeartbeatInfo): void;
  task(update: TaskUpdate, board: TaskBoard): void;
  end(end: WatchEnd): void;
}

/** The fields of a `TaskStatusError` worth printing: code, message and the context it carries. */
export function describeError(error: TaskStatusError): Record<string, unknown> {
  const { code, message, closeCode, closeReason, serverCode, serverMessage, httpStatus } = error;
  const context = { closeCode, closeReason, serverCode, serverMessage, httpStatus };
  return {
    code,
    message,
    ...Object.fromEntries(Object.entries(context).filter(([, value]) => value !== undefined)),
  };
}
