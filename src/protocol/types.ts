import type * as z from 'zod';
import type {
  connectedFrameSchema,
  errorFrameSchema,
  pingFrameSchema,
  pongFrameSchema,
  serverFrameSchema,
  taskIdSchema,
  taskUpdateFrameSchema,
  taskUpdateSchema,
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
 * `raw` is the frame as received, with any extra fields the server added.
 */
export type TaskUpdate = z.output<typeof taskUpdateSchema>;
