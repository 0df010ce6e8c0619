/**
 * The fast guard in `parse.ts` must accept exactly what the zod schemas accept, and map a
 * task_update exactly as the schema's output would be mapped. This file generates frames of
 * every type, valid and mutated, and checks both sides agree on each one.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ParsedFrame,
  parseFrameValue,
  parseServerFrame,
  readJsonObject,
} from '../src/protocol/parse.js';
import { serverFrameSchema, taskUpdateSchema } from '../src/protocol/schemas.js';
import type { ServerFrame, TaskUpdate } from '../src/protocol/types.js';

const NUM_RUNS = 3000;
const KNOWN_TYPES = ['connected', 'task_update', 'error', 'ping', 'pong'] as const;
const FIELDS = [
  'type',
  'task_id',
  'status',
  'progress',
  'message',
  'result',
  'error',
  'updated_at',
  'user_id',
  'code',
  'detail',
] as const;

type Frame = Record<string, unknown>;

// Valid frames of each type, with every optional field sometimes absent, sometimes null.

const isoDate = fc
  .date({
    min: new Date('1970-01-01T00:00:00Z'),
    max: new Date('2100-01-01T00:00:00Z'),
    noInvalidDate: true,
  })
  .map((date) => date.toISOString());
const text = fc.string({ maxLength: 20 });
const json = fc.jsonValue({ maxDepth: 2 });

const connectedFrame = fc.record(
  { type: fc.constant('connected'), user_id: fc.oneof(fc.maxSafeNat(), text, fc.constant(null)) },
  { requiredKeys: ['type'] },
);

const taskUpdateFrame = fc.record(
  {
    type: fc.constant('task_update'),
    task_id: fc.oneof(fc.maxSafeNat(), fc.string({ minLength: 1, maxLength: 12 })),
    status: fc.oneof(
      fc.constantFrom('pending', 'running', 'completed', 'failed', 'cancelled'),
      fc.string({ minLength: 1, maxLength: 12 }),
    ),
    progress: fc.oneof(
      fc.integer({ min: 0, max: 100 }),
      fc.double({ min: 0, max: 100, noNaN: true }),
      fc.constant(null),
    ),
    message: fc.oneof(text, fc.constant(null)),
    result: json,
    error: json,
    updated_at: fc.oneof(isoDate, fc.constant(null)),
  },
  { requiredKeys: ['type', 'task_id', 'status'] },
);

const errorFrame = fc.record(
  {
    type: fc.constant('error'),
    code: fc.oneof(
      fc.constantFrom('auth_failed', 'forbidden'),
      text,
      fc.integer(),
      fc.constant(null),
    ),
    message: fc.oneof(text, fc.constant(null)),
    detail: json,
  },
  { requiredKeys: ['type'] },
);

const heartbeatFrame = fc.record({ type: fc.constantFrom('ping', 'pong') });

const validFrame: fc.Arbitrary<Frame> = fc.oneof(
  connectedFrame,
  taskUpdateFrame,
  errorFrame,
  heartbeatFrame,
);

// Values that break one rule or another: wrong types, out of range, null, bad dates.

const badValue = fc.oneof(
  fc.constantFrom<unknown>(
    null,
    true,
    false,
    0,
    -1,
    -0.5,
    1.5,
    100,
    100.5,
    101,
    2 ** 53,
    Number.MAX_SAFE_INTEGER,
    '',
    ' ',
    'x',
    '40',
    'yesterday',
    '2024-13-45T00:00:00Z',
    '2024-05-01T12:00:00Z',
    [],
    {},
    ...KNOWN_TYPES,
  ),
  fc.integer(),
  fc.double(),
  text,
  json,
);

type Mutation =
  | { op: 'set'; key: string; value: unknown }
  | { op: 'delete'; key: string }
  | { op: 'extra'; key: string; value: unknown };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), key: fc.constantFrom(...FIELDS), value: badValue }),
  fc.record({ op: fc.constant('delete' as const), key: fc.constantFrom(...FIELDS) }),
  fc.record({ op: fc.constant('extra' as const), key: fc.string({ maxLength: 10 }), value: json }),
);

function mutate(frame: Frame, mutations: readonly Mutation[]): Frame {
  const copy: Frame = { ...frame };
  for (const change of mutations) {
    // defineProperty, so a generated "__proto__" key stays an ordinary field.
    if (change.op === 'delete') delete copy[change.key];
    else
      Object.defineProperty(copy, change.key, {
        value: change.value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
  return copy;
}

const mutatedFrame = fc
  .tuple(validFrame, fc.array(mutation, { minLength: 1, maxLength: 3 }))
  .map(([frame, mutations]) => mutate(frame, mutations));

/** Objects with a known, unknown or non-string type and arbitrary known fields. */
const looseFrame = fc
  .tuple(
    fc.oneof(fc.constantFrom<unknown>(...KNOWN_TYPES), fc.string({ maxLength: 12 }), json),
    fc.dictionary(fc.constantFrom(...FIELDS), badValue),
  )
  .map(([type, fields]) => ({ ...fields, type }));

const candidate = fc
  .oneof(
    { arbitrary: validFrame, weight: 3 },
    { arbitrary: mutatedFrame, weight: 5 },
    { arbitrary: looseFrame, weight: 2 },
    { arbitrary: fc.object(), weight: 1 },
    { arbitrary: fc.anything(), weight: 1 },
  )
  .map((value) => JSON.stringify(value))
  .filter((value): value is string => typeof value === 'string');

// What the guard's results should be, computed from the schema's parsed output.

/**
 * `raw` is the frame as `JSON.parse` made it: zod's output is a copy, and a copy loses an own
 * `__proto__` key (assigning one sets the prototype instead).
 */
function expectedUpdate(
  frame: Extract<ServerFrame, { type: 'task_update' }>,
  data: unknown,
): TaskUpdate {
  return {
    taskId: frame.task_id,
    status: frame.status,
    progress: frame.progress ?? null,
    message: frame.message ?? null,
    result: frame.result ?? null,
    error: frame.error ?? null,
    updatedAt: frame.updated_at ?? null,
    raw: data as Record<string, unknown>,
  };
}

function expectSameMeaning(parsed: ParsedFrame, frame: ServerFrame, data: unknown): void {
  expect(parsed.kind).toBe(frame.type);
  switch (frame.type) {
    case 'task_update': {
      const { update } = parsed as Extract<ParsedFrame, { kind: 'task_update' }>;
      expect(update).toEqual(expectedUpdate(frame, data));
      expect(update.raw).toEqual(data);
      expect(taskUpdateSchema.safeParse(update).success).toBe(true);
      break;
    }
    case 'error': {
      const detail = frame.detail;
      expect(parsed).toEqual({
        kind: 'error',
        code: frame.code == null ? null : String(frame.code),
        message: frame.message ?? (typeof detail === 'string' ? detail : null),
        frame: data,
      });
      break;
    }
    case 'connected':
      expect(parsed).toEqual({ kind: 'connected', frame: data });
      break;
    default:
      expect(parsed).toEqual({ kind: frame.type, format: 'json' });
  }
}

function typeOf(data: unknown): unknown {
  return typeof data === 'object' && data !== null && !Array.isArray(data)
    ? (data as { type?: unknown }).type
    : undefined;
}

describe('the fast guard and the zod schemas', () => {
  it('keep a frame with an own __proto__ key as the very frame received', () => {
    const text = '{"type":"task_update","task_id":" ","status":" ","__proto__":false,"":[]}';
    const parsed = parseServerFrame(text);
    const data: unknown = JSON.parse(text);
    const checked = serverFrameSchema.safeParse(data);
    expect(checked.success).toBe(true);
    if (!checked.success) return;
    expectSameMeaning(parsed, checked.data, data);
    expect(Object.hasOwn((parsed as { update: TaskUpdate }).update.raw ?? {}, '__proto__')).toBe(
      true,
    );
  });

  it('accept exactly the same frames and agree on what they mean', () => {
    const seen = new Map<string, number>();
    const count = (key: string) => seen.set(key, (seen.get(key) ?? 0) + 1);

    fc.assert(
      fc.property(candidate, (frameText) => {
        const parsed = parseServerFrame(frameText);
        const data: unknown = JSON.parse(frameText);
        const checked = serverFrameSchema.safeParse(data);
        // A bare JSON string is plain text, a heartbeat or a frame encoded twice, which the
        // schema of one decoded frame does not describe.
        if (typeof data === 'string') {
          if (parsed.kind !== 'text') expect(parsed).toEqual(parseServerFrame(data.trim()));
          return;
        }
        const accepted =
          parsed.kind !== 'invalid' && parsed.kind !== 'unknown' && parsed.kind !== 'text';
        expect(parsed.kind).not.toBe('text');
        count(`${parsed.kind}:${checked.success}`);
        if (parsed.kind === 'invalid' && typeOf(data) === 'task_update')
          count('invalid task_update');

        expect(accepted).toBe(checked.success);
        if (checked.success) expectSameMeaning(parsed, checked.data, data);
        if (parsed.kind === 'invalid') expect(parsed.error.code).toBe('PROTOCOL_ERROR');

        const type = typeOf(data);
        const unknownType =
          typeof type === 'string' && !(KNOWN_TYPES as readonly string[]).includes(type);
        expect(parsed.kind === 'unknown').toBe(unknownType);
        if (unknownType) expect(checked.success).toBe(false);
      }),
      { numRuns: NUM_RUNS },
    );

    // The generator must really reach every branch, or agreement proves little.
    for (const kind of KNOWN_TYPES) expect(seen.get(`${kind}:true`) ?? 0).toBeGreaterThan(20);
    expect(seen.get('invalid:false') ?? 0).toBeGreaterThan(200);
    expect(seen.get('invalid task_update') ?? 0).toBeGreaterThan(50);
    expect(seen.get('unknown:false') ?? 0).toBeGreaterThan(50);
  });

  it('agree on single-field mutations of a valid task_update', () => {
    fc.assert(
      fc.property(
        taskUpdateFrame,
        fc.constantFrom(
          'task_id',
          'status',
          'progress',
          'message',
          'updated_at',
          'result',
          'error',
        ),
        badValue,
        (frame, key, value) => {
          const frameText = JSON.stringify({ ...frame, [key]: value });
          const parsed = parseServerFrame(frameText);
          const checked = serverFrameSchema.safeParse(JSON.parse(frameText));
          expect(parsed.kind === 'task_update').toBe(checked.success);
          if (!checked.success) {
            const issues = parsed.kind === 'invalid' ? parsed.error.issues : undefined;
            expect(issues?.map((issue) => issue.path)).toEqual([[key]]);
            expect(checked.error.issues.map((issue) => issue.path)).toContainEqual([key]);
          }
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('the parse in two halves that a socket read goes through', () => {
  it('means what parseServerFrame means, for frames and for any other text', () => {
    const anyText = fc.oneof(
      candidate,
      candidate.map((frameText) => frameText.slice(0, -1)),
      fc.string(),
      fc.json(),
      fc.constantFrom('ping', ' pong ', '"Invalid token"', ' {"type":"ping"}', '[1]', '{'),
    );
    let halves = 0;
    fc.assert(
      fc.property(anyText, (frameText) => {
        const value = readJsonObject(frameText);
        if (value === undefined) return; // read whole by parseServerFrame
        halves++;
        expect(parseFrameValue(value, frameText)).toEqual(parseServerFrame(frameText));
      }),
      { numRuns: NUM_RUNS },
    );
    // The generator must often reach the split path, or agreement proves little.
    expect(halves).toBeGreaterThan(NUM_RUNS / 6);
  });

  it('leaves to parseServerFrame whatever is not a JSON object text', () => {
    for (const frameText of ['ping', ' {"type":"ping"}', '[1]', '{"type":', '"x"', '', 'null']) {
      expect(readJsonObject(frameText)).toBeUndefined();
    }
    expect(readJsonObject('{"type":"ping"}')).toEqual({ type: 'ping' });
  });
});
