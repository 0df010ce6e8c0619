/**
 * The wire protocol as zod schemas: the single source of truth for every frame the server
 * sends. Types everywhere else are inferred from these with type-only imports, so the runtime
 * bundle of the root entry never contains zod; `parse.ts` holds the fast guard that a property
 * test proves equivalent to them.
 */
import * as z from 'zod';
import { ISO_DATE_TIME } from './date-time.js';

/**
 * Returns `build()`. Each schema below is made through it, in a call marked pure, so that a
 * bundler drops the schemas an app does not use, and zod with them: `withResult` alone, given a
 * valibot schema or zod/mini, then bundles no zod classic.
 */
function define<Schema>(build: () => Schema): Schema {
  return build();
}

/** Statuses every server of this protocol uses; any other non-empty string is kept as sent. */
export const KNOWN_TASK_STATUSES = [
  'pending',
  'running',
  'completed',
  'failed',
  'cancelled',
] as const;

/** A task status: one of the known ones, or any other non-empty string the server invents. */
export type TaskStatus = (typeof KNOWN_TASK_STATUSES)[number] | (string & {});

/** A task id as the server sends it: a non-negative safe integer or a non-empty string. */
export const taskIdSchema = /* @__PURE__ */ define(() =>
  z.union([z.number().int().min(0), z.string().min(1)]),
);

/** A non-empty status string; see {@link TaskStatus}. */
export const taskStatusSchema = /* @__PURE__ */ define(
  () => z.string().min(1) as unknown as z.ZodType<TaskStatus, string>,
);

/** An ISO-8601 date-time, e.g. `2026-01-01T12:00:00.123456+00:00`; see `ISO_DATE_TIME`. */
export const dateTimeSchema = /* @__PURE__ */ define(() =>
  z.string().regex(ISO_DATE_TIME, 'expected an ISO-8601 date-time'),
);

/** Progress in percent. */
export const progressSchema = /* @__PURE__ */ define(() => z.number().min(0).max(100));

/** `{"type":"connected","user_id":2}`: the optional acknowledgement that the token was accepted. */
export const connectedFrameSchema = /* @__PURE__ */ define(() =>
  z.looseObject({
    type: z.literal('connected'),
    user_id: z.union([z.number(), z.string()]).nullish(),
  }),
);

/** `{"type":"task_update",…}`: one task's new state. Unknown fields are kept. */
export const taskUpdateFrameSchema = /* @__PURE__ */ define(() =>
  z.looseObject({
    type: z.literal('task_update'),
    task_id: taskIdSchema,
    status: taskStatusSchema,
    progress: progressSchema.nullish(),
    message: z.string().nullish(),
    // `.optional()` is needed: zod 4 requires the key of a bare `z.unknown()` to be present.
    result: z.unknown().optional(),
    error: z.unknown().optional(),
    updated_at: dateTimeSchema.nullish(),
  }),
);

/** `{"type":"error","code":"auth_failed","message":"…"}`: the server reports a failure. */
export const errorFrameSchema = /* @__PURE__ */ define(() =>
  z.looseObject({
    type: z.literal('error'),
    code: z.union([z.string(), z.number()]).nullish(),
    message: z.string().nullish(),
    detail: z.unknown().optional(),
  }),
);

/** `{"type":"ping"}`: a heartbeat the client answers with a pong. */
export const pingFrameSchema = /* @__PURE__ */ define(() =>
  z.looseObject({ type: z.literal('ping') }),
);

/** `{"type":"pong"}`: the answer to a ping. */
export const pongFrameSchema = /* @__PURE__ */ define(() =>
  z.looseObject({ type: z.literal('pong') }),
);

/** Every JSON frame the server may send, discriminated by `type`. */
export const serverFrameSchema = /* @__PURE__ */ define(() =>
  z.discriminatedUnion('type', [
    connectedFrameSchema,
    taskUpdateFrameSchema,
    errorFrameSchema,
    pingFrameSchema,
    pongFrameSchema,
  ]),
);

/**
 * A task update as the SDK hands it out: the wire frame mapped to camelCase, absent optional
 * fields as `null`. Extend it and pass it as the client's `taskSchema` to type `result`.
 *
 * @example
 * ```ts
 * const mySchema = taskUpdateSchema.extend({ result: z.object({ url: z.string() }).nullable() });
 * ```
 */
export const taskUpdateSchema = /* @__PURE__ */ define(() =>
  z.object({
    taskId: taskIdSchema,
    status: taskStatusSchema,
    progress: progressSchema.nullable(),
    message: z.string().nullable(),
    result: z.unknown(),
    error: z.unknown(),
    updatedAt: dateTimeSchema.nullable(),
    // Checked as "an object" only: walking and copying the whole frame per update would double
    // the cost of a user schema, and `raw` should stay the very frame received.
    raw: z.optional(
      z.custom<Record<string, unknown>>(
        (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
      ),
    ),
  }),
);
