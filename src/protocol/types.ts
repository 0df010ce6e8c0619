import type * as z from 'zod';
import type {
  connectedFrameSchema,
  errorFrameSchema,
  pingFrameSchema,
  pongFrameSchema,
  serverFrameSchema,
  TaskStatus,
  taskIdSchema,
  taskUpdateFrameSchema,
} from './schemas.js';

export type { TaskStatus } from './schemas.js';

/** A task id as the server sends it (number or string). */
export type TaskId = z.output<typeof taskIdSchema>;

/** `{"type":"connected"}` frame. */
export type ConnectedFrame = z.output<typeof connectedFrameSchema>;
/** `{"type":"task_update"}` frame, snake_case as on the wire. */
export type TaskUpdateFrame = z.output<typeof taskUpdateFrameSchema>;
/** `{"type":"error"}` frame. */
export type ErrorFrame = z.output<typeof errorFrameSchema>;
/** `{"type":"ping"}` frame. */
export type PingFrame = z.output<typeof pingFrameSchema>;
/** `{"type":"pong"}` frame. */
export type PongFrame = z.output<typeof pongFrameSchema>;
/** Any JSON frame the server may send. */
export type ServerFrame = z.output<typeof serverFrameSchema>;

/**
 * One task's latest state, camelCase. Optional wire fields that were absent are `null`;
 * `raw` is the frame as received, with any extra fields the server added. The output type of
 * `taskUpdateSchema` is this type (a type test holds the two equal). A type, not an interface,
 * so that an update is still assignable to `Record<string, unknown>`.
 */
export type TaskUpdate = {
  /** The task's id as the server first sent it: `7` and `'7'` are one task. */
  taskId: TaskId;
  /** `pending`, `running`, `completed`, `failed`, `cancelled`, or any other non-empty string. */
  status: TaskStatus;
  /** Progress in percent (0 to 100), or `null` when the frame had none. */
  progress: number | null;
  /** The server's human-readable note, or `null`. */
  message: string | null;
  /**
   * The task's payload (`result` on the wire) as sent, or `null` when absent. Typed through the
   * client's `taskSchema` (see `withResult`).
   */
  result: unknown;
  /** The task's error detail (`error` on the wire) as sent, or `null` when absent. */
  error: unknown;
  /**
   * When the server made this update (`updated_at`), an ISO-8601 date-time, or `null`. Orders
   * updates: an older one than the update held is dropped as stale.
   */
  updatedAt: string | null;
  /** The frame as received, with any fields the server added; absent on a `resync` update. */
  raw?: Record<string, unknown> | undefined;
};
