/**
 * Generators of hostile frames, each paired with what a correct client must do with it. The
 * expectation comes from how the frame was built (or from `JSON.parse` and the UTF-8 length
 * alone), never from the client's own parser.
 */
import fc from 'fast-check';

/** What the client must make of one frame. */
export type Outcome =
  | { readonly kind: 'task'; readonly taskId: number | string }
  | {
      readonly kind: 'error';
      readonly code: 'PROTOCOL_ERROR' | 'FRAME_TOO_LARGE' | 'UNKNOWN_FRAME';
    }
  /** Plain text is part of the protocol: after the verdict it is handed to the application. */
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'ping'; readonly answer: string }
  | { readonly kind: 'pong' };

/** A planned frame, before task ids are handed out. */
export type Planned =
  | {
      readonly kind: 'good';
      readonly label: string;
      readonly fields: Record<string, unknown>;
      /** Use this id (a prototype-ish key) instead of a fresh one; the frame then has no `updated_at`. */
      readonly specialId?: string;
      /** Leading whitespace before the JSON, which a lenient server may send. */
      readonly padding?: string;
      /** Raw JSON spliced in as `result`: too deep for `JSON.stringify` to write. */
      readonly resultJson?: string;
    }
  | {
      readonly kind: 'bad';
      readonly label: string;
      readonly data: unknown;
      readonly outcome: Outcome;
    };

/** A frame ready to send, with the one outcome the client owes it. */
export interface HostileCase {
  readonly label: string;
  readonly data: unknown;
  readonly outcome: Outcome;
}

const KNOWN_TYPES = new Set(['task_update', 'connected', 'error', 'ping', 'pong']);
const POLLUTING_KEYS = ['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString'];

const isoDate = fc
  .integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) })
  .map((ms) => new Date(ms).toISOString());

/** Strings of any Unicode code point (no lone surrogates, which no real socket can deliver). */
const anyText = (maxLength: number) => fc.string({ unit: 'binary', maxLength });

const payload = fc.jsonValue({ maxDepth: 3 });

/** The fields of a valid `task_update` frame, minus `task_id`. */
const goodFields = fc.record(
  {
    type: fc.constant('task_update'),
    status: fc.oneof(
      fc.constantFrom('pending', 'running', 'completed', 'failed', 'cancelled'),
      anyText(12).filter((s) => s.length > 0),
    ),
    progress: fc.oneof(
      fc.integer({ min: 0, max: 100 }),
      fc.double({ min: 0, max: 100, noNaN: true }),
      fc.constant(null),
    ),
    message: fc.oneof(anyText(40), fc.constant(null)),
    result: payload,
    error: payload,
    updated_at: fc.oneof(isoDate, fc.constant(null)),
    extra: payload,
  },
  { requiredKeys: ['type', 'status'] },
);

const good: fc.Arbitrary<Planned> = goodFields.map((fields) => ({
  kind: 'good',
  label: 'valid task_update',
  fields,
}));

const paddedGood: fc.Arbitrary<Planned> = fc
  .tuple(goodFields, fc.constantFrom(' ', '\n', '\t ', '\r\n  '))
  .map(([fields, padding]) => ({
    kind: 'good',
    label: 'valid task_update after whitespace',
    fields,
    padding,
  }));

/** What `redactUrl` masks as a URL's user information. */
const CREDENTIALS = /\/\/[^/?#@\s"'<>]+@/;

const bad = (
  label: string,
  data: fc.Arbitrary<unknown>,
  outcome: Outcome | ((data: unknown) => Outcome),
): fc.Arbitrary<Planned> =>
  // Nothing that reads as URL credentials (`//user@`, also with `/` escaped as `\/`): the client
  // masks those in any frame it shows (tested with `redactUrl`), and the test looks for the frame
  // as sent.
  data
    .filter((value) => typeof value !== 'string' || !CREDENTIALS.test(value.replaceAll('\\/', '/')))
    .map((value) => ({
      kind: 'bad',
      label,
      data: value,
      outcome: typeof outcome === 'function' ? outcome(value) : outcome,
    }));

const PROTOCOL_ERROR: Outcome = { kind: 'error', code: 'PROTOCOL_ERROR' };
const UNKNOWN_FRAME: Outcome = { kind: 'error', code: 'UNKNOWN_FRAME' };

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Text that starts with a letter and is no heartbeat: plain text, delivered as such. */
const plainText = bad(
  'random plain text',
  fc
    .tuple(fc.constantFrom('a', 'Z', 'é', 'ж', '漢'), anyText(60))
    .map(([head, tail]) => head + tail)
    .filter((text) => text.trim() !== 'ping' && text.trim() !== 'pong'),
  (text) => ({ kind: 'text', text: text as string }),
);

/** Random text that opens like JSON but does not parse. */
const garbageJson = bad(
  'random text opening with { or [',
  fc
    .tuple(fc.constantFrom('{', '['), anyText(60))
    .map(([head, tail]) => head + tail)
    .filter((text) => !parses(text)),
  PROTOCOL_ERROR,
);

/** A valid frame cut short anywhere: a proper prefix of a JSON object never parses. */
const truncated = bad(
  'truncated JSON',
  fc.tuple(goodFields, fc.nat()).map(([fields, cut]) => {
    const text = JSON.stringify({ ...fields, task_id: 1 });
    return text.slice(0, 1 + (cut % (text.length - 1)));
  }),
  PROTOCOL_ERROR,
);

const binary = bad(
  'binary frame',
  fc.oneof(
    fc.uint8Array({ maxLength: 64 }).map((bytes) => bytes.buffer),
    fc.uint8Array({ maxLength: 64 }),
    fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
    fc.array(
      fc.uint8Array({ maxLength: 16 }).map((bytes) => Buffer.from(bytes)),
      { maxLength: 3 },
    ),
    fc.constantFrom(null, undefined, 42, true, {}, []),
  ),
  PROTOCOL_ERROR,
);

const nest = (depth: number, open: string, close: string, core = '') =>
  open.repeat(depth) + core + close.repeat(depth);

const deepTopLevel = bad(
  'deeply nested JSON frame',
  fc
    .tuple(fc.integer({ min: 1_000, max: 30_000 }), fc.boolean())
    .map(([depth, arrays]) => (arrays ? nest(depth, '[', ']') : nest(depth, '{"a":', '}', '1'))),
  PROTOCOL_ERROR,
);

const deepType = bad(
  'deeply nested type',
  fc
    .integer({ min: 1_000, max: 20_000 })
    .map((depth) => `{"type":${nest(depth, '[', ']')},"task_id":1,"status":"running"}`),
  PROTOCOL_ERROR,
);

/** A valid update whose `result` is nested far deeper than any sane payload. */
const deepResult: fc.Arbitrary<Planned> = fc.integer({ min: 1_000, max: 20_000 }).map((depth) => ({
  kind: 'good',
  label: 'valid task_update with a deeply nested result',
  fields: { type: 'task_update', status: 'running' },
  resultJson: nest(depth, '[', ']'),
}));

const pollutionGood: fc.Arbitrary<Planned> = fc
  .tuple(goodFields, fc.constantFrom(...POLLUTING_KEYS), fc.constantFrom(...POLLUTING_KEYS))
  .map(([fields, id, key]) => ({
    kind: 'good',
    label: 'valid task_update with prototype keys',
    specialId: id,
    fields: { ...fields, status: key, result: JSON.parse(`{"${key}":{"polluted":true}}`) },
  }));

const pollutionBad = fc.oneof(
  bad(
    'frame whose only fields hide behind __proto__',
    fc.constant('{"__proto__":{"type":"task_update","task_id":1,"status":"running"}}'),
    PROTOCOL_ERROR,
  ),
  bad(
    'prototype key as frame type',
    fc.constantFrom(...POLLUTING_KEYS).map((key) => `{"type":"${key}","${key}":{"polluted":true}}`),
    UNKNOWN_FRAME,
  ),
  bad(
    'task_update with __proto__ fields and no task_id',
    fc.constant(
      '{"type":"task_update","__proto__":{"task_id":1,"status":"x"},"constructor":{"prototype":{"polluted":true}}}',
    ),
    PROTOCOL_ERROR,
  ),
);

/** Raw JSON numbers that `JSON.stringify` could never write. */
const outOfRange = bad(
  'number out of range',
  fc.oneof(
    fc
      .constantFrom('1e400', '-1', '1.5', '9007199254740993', '-1e400', '18446744073709551616')
      .map((n) => `{"type":"task_update","task_id":${n},"status":"running"}`),
    fc
      .constantFrom('1e400', '-1e400', '100.0000001', '-0.5', '-1e-300', '1e309', '101')
      .map((n) => `{"type":"task_update","task_id":1,"status":"running","progress":${n}}`),
  ),
  PROTOCOL_ERROR,
);

const notString = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant({}),
  fc.array(fc.integer(), { maxLength: 2 }),
);
const notStringOrNumber = fc.oneof(fc.boolean(), fc.constant({}), fc.constant([1]));

/** A valid frame with one field of the wrong type. */
const wrongTypes = bad(
  'valid frame with a field of the wrong type',
  fc.oneof(
    fc
      .tuple(
        goodFields,
        fc.oneof(
          fc.record({
            task_id: fc.oneof(
              fc.constant(''),
              fc.boolean(),
              fc.constant(null),
              notStringOrNumber,
              fc.integer({ max: -1 }),
              fc.double({ min: 0.1, max: 1e6, noInteger: true }),
            ),
          }),
          fc.record({
            status: fc.oneof(fc.constant(''), fc.constant(null), fc.integer(), notStringOrNumber),
          }),
          fc.record({
            progress: fc.oneof(
              fc.string(),
              fc.boolean(),
              fc.constant({}),
              fc.integer({ min: 101 }),
              fc.integer({ max: -1 }),
            ),
          }),
          fc.record({ message: notString }),
          fc.record({
            updated_at: fc.oneof(
              fc.integer(),
              fc.boolean(),
              fc.constant({}),
              fc.string().map((s) => `x${s}`),
            ),
          }),
          fc.record({
            type: fc.oneof(
              fc.integer(),
              fc.boolean(),
              fc.constant(null),
              fc.constant([]),
              fc.constant({}),
            ),
          }),
        ),
      )
      .map(([fields, wrong]) => JSON.stringify({ ...fields, task_id: 1, ...wrong })),
    fc
      .record({ type: fc.constant('task_update'), status: fc.constant('running') })
      .map((fields) => JSON.stringify(fields)),
    notStringOrNumber.map((userId) => JSON.stringify({ type: 'connected', user_id: userId })),
    notStringOrNumber.map((code) => JSON.stringify({ type: 'error', code, message: 'm' })),
    notString.map((message) => JSON.stringify({ type: 'error', code: 'boom', message })),
  ),
  PROTOCOL_ERROR,
);

const unknownType = bad(
  'unknown frame type',
  fc
    .tuple(
      anyText(30).filter((type) => !KNOWN_TYPES.has(type)),
      payload,
    )
    .map(([type, extra]) => JSON.stringify({ type, extra })),
  UNKNOWN_FRAME,
);

const scalars = fc.oneof(
  bad(
    'JSON scalar',
    fc.constantFrom('42', 'true', 'null', '-1e400', '[]', '[1,2]', ' 7 '),
    PROTOCOL_ERROR,
  ),
  bad(
    'JSON string',
    anyText(30).map((text) => JSON.stringify(`a${text}`)),
    (data) => ({ kind: 'text', text: JSON.parse(data as string) as string }),
  ),
);

const heartbeats = fc.oneof(
  bad('JSON ping', fc.constantFrom('{"type":"ping"}', '{"type":"ping","n":1}'), {
    kind: 'ping',
    answer: '{"type":"pong"}',
  }),
  bad('plain ping', fc.constantFrom('ping', ' ping\n'), { kind: 'ping', answer: 'pong' }),
  bad('pong', fc.constantFrom('{"type":"pong"}', 'pong'), { kind: 'pong' }),
);

/** A valid update carrying a huge string, on either side of `maxFrameBytes`. */
function hugeFrames(maxFrameBytes: number): fc.Arbitrary<Planned> {
  return fc
    .tuple(
      fc.integer({ min: Math.floor(maxFrameBytes / 4), max: maxFrameBytes * 2 }),
      fc.constantFrom('x', 'é', '€', '😀'),
    )
    .map(([units, char]) => ({
      kind: 'good',
      label: `valid task_update with a huge message of "${char}"`,
      fields: {
        type: 'task_update',
        status: 'running',
        message: char.repeat(Math.ceil(units / char.length)),
      },
    }));
}

/** Every kind of frame, good ones about half the time. */
export function anyFrame(maxFrameBytes: number): fc.Arbitrary<Planned> {
  return fc.oneof(
    { arbitrary: good, weight: 12 },
    { arbitrary: paddedGood, weight: 1 },
    { arbitrary: plainText, weight: 1 },
    { arbitrary: garbageJson, weight: 1 },
    { arbitrary: truncated, weight: 2 },
    { arbitrary: binary, weight: 1 },
    { arbitrary: deepTopLevel, weight: 1 },
    { arbitrary: deepType, weight: 1 },
    { arbitrary: deepResult, weight: 1 },
    { arbitrary: pollutionGood, weight: 1 },
    { arbitrary: pollutionBad, weight: 1 },
    { arbitrary: outOfRange, weight: 1 },
    { arbitrary: wrongTypes, weight: 3 },
    { arbitrary: unknownType, weight: 1 },
    { arbitrary: scalars, weight: 1 },
    { arbitrary: heartbeats, weight: 1 },
    { arbitrary: hugeFrames(maxFrameBytes), weight: 1 },
  );
}

/**
 * Hands out fresh task ids from `firstId` (numbers and strings in turn) and applies the size
 * rule: any text frame over `maxFrameBytes` UTF-8 bytes must be dropped as `FRAME_TOO_LARGE`.
 */
export function materialise(
  planned: readonly Planned[],
  maxFrameBytes: number,
  firstId: number,
): HostileCase[] {
  return planned.map((frame, index) => {
    const base = frame.kind === 'good' ? goodCase(frame, firstId + index) : frame;
    const { data } = base;
    if (typeof data === 'string' && Buffer.byteLength(data, 'utf8') > maxFrameBytes) {
      return { label: base.label, data, outcome: { kind: 'error', code: 'FRAME_TOO_LARGE' } };
    }
    return { label: base.label, data, outcome: base.outcome };
  });
}

function goodCase(frame: Extract<Planned, { kind: 'good' }>, id: number): HostileCase {
  // Fresh ids keep every good update from being a duplicate of an earlier one; a shared
  // prototype-key id gets a unique message and no timestamp for the same reason.
  const taskId = frame.specialId ?? (id % 2 === 0 ? id : `t${id}`);
  const fields: Record<string, unknown> & { message?: string; updated_at?: string } = {
    ...frame.fields,
    task_id: taskId,
  };
  if (frame.specialId !== undefined) {
    fields.message = `m${id}`;
    delete fields.updated_at;
  }
  let json = JSON.stringify(fields);
  if (frame.resultJson !== undefined) json = `${json.slice(0, -1)},"result":${frame.resultJson}}`;
  return {
    label: frame.label,
    data: (frame.padding ?? '') + json,
    outcome: { kind: 'task', taskId },
  };
}
