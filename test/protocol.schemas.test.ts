import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTaskStatusError } from '../src/errors.js';
import { type ParsedFrame, parseServerFrame, readJsonObject } from '../src/protocol/parse.js';
import {
  connectedFrameSchema,
  errorFrameSchema,
  KNOWN_TASK_STATUSES,
  serverFrameSchema,
  taskUpdateFrameSchema,
  taskUpdateSchema,
} from '../src/protocol/schemas.js';

type Kind = ParsedFrame['kind'];

/** Asserts the parsed kind and narrows to it. */
function expectKind<K extends Kind>(
  parsed: ParsedFrame,
  kind: K,
): Extract<ParsedFrame, { kind: K }> {
  expect(parsed.kind).toBe(kind);
  return parsed as Extract<ParsedFrame, { kind: K }>;
}

function parseObject(frame: Record<string, unknown>): ParsedFrame {
  return parseServerFrame(JSON.stringify(frame));
}

/** Asserts a PROTOCOL_ERROR whose first issue names `path`, and that zod blames the same field. */
function expectInvalidField(frame: Record<string, unknown>, path: (string | number)[]): void {
  const { error } = expectKind(parseObject(frame), 'invalid');
  expect(error.code).toBe('PROTOCOL_ERROR');
  expect(error.issues?.[0]?.path).toEqual(path);
  expect(error.message).toContain(path.join('.'));
  const checked = serverFrameSchema.safeParse(frame);
  expect(checked.success).toBe(false);
  expect(checked.error?.issues.map((issue) => issue.path)).toContainEqual(path);
}

const UPDATED_AT = '2024-05-01T12:30:00.000Z';
const fullUpdate = {
  type: 'task_update',
  task_id: 42,
  status: 'running',
  progress: 40,
  message: 'Resizing images (4/10)',
  result: { files: ['a.png'] },
  error: null,
  updated_at: UPDATED_AT,
};

describe('parseServerFrame: connected frames', () => {
  it.each([
    ['a numeric user id', { type: 'connected', user_id: 2 }],
    ['a string user id', { type: 'connected', user_id: 'u-2' }],
    ['no user id', { type: 'connected' }],
    ['a null user id', { type: 'connected', user_id: null }],
    ['extra fields', { type: 'connected', user_id: 2, server: 'api-1', session: { id: 'x' } }],
  ])('accepts a connected frame with %s and keeps it as sent', (_name, frame) => {
    const parsed = expectKind(parseObject(frame), 'connected');
    expect(parsed.frame).toEqual(frame);
    expect(connectedFrameSchema.safeParse(frame).success).toBe(true);
  });

  it.each([
    ['a boolean', true],
    ['an object', { id: 2 }],
    ['an array', [2]],
  ])('rejects a user id that is %s', (_name, userId) => {
    expectInvalidField({ type: 'connected', user_id: userId }, ['user_id']);
  });
});

describe('parseServerFrame: task_update frames', () => {
  it('maps a full frame to a camelCase update and keeps the frame in raw', () => {
    const { update } = expectKind(parseObject(fullUpdate), 'task_update');
    expect(update).toEqual({
      taskId: 42,
      status: 'running',
      progress: 40,
      message: 'Resizing images (4/10)',
      result: { files: ['a.png'] },
      error: null,
      updatedAt: UPDATED_AT,
      raw: fullUpdate,
    });
    expect(taskUpdateSchema.safeParse(update).success).toBe(true);
  });

  it('keeps extra fields in raw and nowhere else', () => {
    const frame = { ...fullUpdate, eta_seconds: 30, meta: { worker: 'w-3' }, tags: ['a'] };
    const { update } = expectKind(parseObject(frame), 'task_update');
    expect(update.raw).toEqual(frame);
    expect(update.raw).toHaveProperty('eta_seconds', 30);
    expect(Object.keys(update).sort()).toEqual([
      'error',
      'message',
      'progress',
      'raw',
      'result',
      'status',
      'taskId',
      'updatedAt',
    ]);
    expect(taskUpdateFrameSchema.parse(frame)).toEqual(frame);
  });

  it('turns missing optional fields into null', () => {
    const frame = { type: 'task_update', task_id: 7, status: 'pending' };
    const { update } = expectKind(parseObject(frame), 'task_update');
    expect(update).toEqual({
      taskId: 7,
      status: 'pending',
      progress: null,
      message: null,
      result: null,
      error: null,
      updatedAt: null,
      raw: frame,
    });
    expect(serverFrameSchema.safeParse(frame).success).toBe(true);
  });

  it('keeps null optional fields as null', () => {
    const frame = {
      type: 'task_update',
      task_id: 7,
      status: 'failed',
      progress: null,
      message: null,
      result: null,
      error: null,
      updated_at: null,
    };
    const { update } = expectKind(parseObject(frame), 'task_update');
    expect(update).toMatchObject({
      progress: null,
      message: null,
      result: null,
      error: null,
      updatedAt: null,
    });
    expect(serverFrameSchema.safeParse(frame).success).toBe(true);
  });

  it('passes a failed task error through untouched', () => {
    const error = { type: 'ValueError', detail: 'bad input', trace: ['a', 'b'] };
    const frame = { type: 'task_update', task_id: 'job-9', status: 'failed', error };
    const { update } = expectKind(parseObject(frame), 'task_update');
    expect(update.taskId).toBe('job-9');
    expect(update.error).toEqual(error);
  });

  it.each([...KNOWN_TASK_STATUSES, 'queued', 'retrying', 'X'])('keeps the status %j', (status) => {
    const { update } = expectKind(parseObject({ ...fullUpdate, status }), 'task_update');
    expect(update.status).toBe(status);
  });

  it.each([0, 0.5, 99.9, 100])('accepts progress %d', (progress) => {
    const { update } = expectKind(parseObject({ ...fullUpdate, progress }), 'task_update');
    expect(update.progress).toBe(progress);
  });

  it.each([
    '2024-05-01T12:30:00Z',
    '2024-05-01T14:30:00+02:00',
    '2024-05-01',
    '2024-05-01T12:30:00.123456',
  ])('accepts the date-time %s', (updatedAt) => {
    const { update } = expectKind(
      parseObject({ ...fullUpdate, updated_at: updatedAt }),
      'task_update',
    );
    expect(update.updatedAt).toBe(updatedAt);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['a boolean task_id', { task_id: true }, 'task_id'],
    ['a negative task_id', { task_id: -1 }, 'task_id'],
    ['a fractional task_id', { task_id: 1.5 }, 'task_id'],
    ['an empty task_id', { task_id: '' }, 'task_id'],
    ['an unsafe integer task_id', { task_id: 2 ** 53 }, 'task_id'],
    ['a missing task_id', { task_id: undefined }, 'task_id'],
    ['a null task_id', { task_id: null }, 'task_id'],
    ['a missing status', { status: undefined }, 'status'],
    ['an empty status', { status: '' }, 'status'],
    ['a numeric status', { status: 3 }, 'status'],
    ['a string progress', { progress: '40' }, 'progress'],
    ['progress above 100', { progress: 101 }, 'progress'],
    ['progress just above 100', { progress: 100.01 }, 'progress'],
    ['negative progress', { progress: -1 }, 'progress'],
    ['a numeric message', { message: 5 }, 'message'],
    ['an object message', { message: { text: 'hi' } }, 'message'],
    ['an unparseable updated_at', { updated_at: 'yesterday-ish' }, 'updated_at'],
    ['an out-of-range updated_at', { updated_at: '2024-13-45T99:00:00Z' }, 'updated_at'],
    ['an empty updated_at', { updated_at: '' }, 'updated_at'],
    ['a numeric updated_at', { updated_at: 1714566600000 }, 'updated_at'],
  ])('rejects %s with an issue naming the field', (_name, change, field) => {
    expectInvalidField({ ...fullUpdate, ...change }, [field]);
  });

  it('lists every wrong field, in frame order', () => {
    const { error } = expectKind(
      parseObject({ type: 'task_update', task_id: -2, status: '', progress: 150 }),
      'invalid',
    );
    expect(error.issues?.map((issue) => issue.path)).toEqual([
      ['task_id'],
      ['status'],
      ['progress'],
    ]);
  });
});

describe('parseServerFrame: error frames', () => {
  it('reads code and message', () => {
    const frame = { type: 'error', code: 'auth_failed', message: 'Invalid or expired token' };
    const parsed = expectKind(parseObject(frame), 'error');
    expect(parsed).toMatchObject({
      code: 'auth_failed',
      message: 'Invalid or expired token',
      frame,
    });
  });

  it('turns a numeric code into a string', () => {
    const parsed = expectKind(
      parseObject({ type: 'error', code: 4001, message: 'Unauthorized' }),
      'error',
    );
    expect(parsed.code).toBe('4001');
  });

  it('takes the message from a string detail when message is missing', () => {
    const parsed = expectKind(parseObject({ type: 'error', detail: 'Not authenticated' }), 'error');
    expect(parsed).toMatchObject({ code: null, message: 'Not authenticated' });
  });

  it('prefers message over detail', () => {
    const parsed = expectKind(parseObject({ type: 'error', message: 'm', detail: 'd' }), 'error');
    expect(parsed.message).toBe('m');
  });

  it('keeps a structured detail in the frame but not as the message', () => {
    const detail = [
      { loc: ['query', 'token'], msg: 'field required', type: 'value_error.missing' },
    ];
    const parsed = expectKind(parseObject({ type: 'error', detail }), 'error');
    expect(parsed.message).toBeNull();
    expect(parsed.frame.detail).toEqual(detail);
  });

  it('accepts an error frame with neither code nor message', () => {
    const parsed = expectKind(parseObject({ type: 'error' }), 'error');
    expect(parsed).toMatchObject({ code: null, message: null });
    expect(errorFrameSchema.safeParse({ type: 'error' }).success).toBe(true);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['an object code', { code: { id: 1 } }, 'code'],
    ['a boolean code', { code: false }, 'code'],
    ['a numeric message', { message: 401 }, 'message'],
    ['an array message', { message: ['a'] }, 'message'],
  ])('rejects %s with an issue naming the field', (_name, change, field) => {
    expectInvalidField({ type: 'error', ...change }, [field]);
  });
});

describe('parseServerFrame: heartbeats and plain text', () => {
  it.each<[string, Kind, string]>([
    ['{"type":"ping"}', 'ping', 'json'],
    ['{"type":"pong"}', 'pong', 'json'],
    ['{"type":"ping","ts":1714566600}', 'ping', 'json'],
    ['ping', 'ping', 'text'],
    ['pong', 'pong', 'text'],
    [' ping\n', 'ping', 'text'],
    ['\tpong\r\n', 'pong', 'text'],
  ])('reads %j as a %s in %s format', (text, kind, format) => {
    const parsed = parseServerFrame(text);
    expect(parsed).toEqual({ kind, format });
  });

  it.each([
    'PING',
    'ping ping',
    'pingpong',
    'Authentication failed',
    'Not authenticated',
    '',
    '   ',
    'null-ish',
    '1 2',
  ])('keeps %j as text, unchanged', (text) => {
    expect(parseServerFrame(text)).toEqual({ kind: 'text', text });
  });

  it.each([
    ['leading spaces', '   {"type":"ping"}', 'ping'],
    ['a leading newline', '\n{"type":"connected","user_id":2}', 'connected'],
    [
      'surrounding whitespace',
      ' \t{"type":"task_update","task_id":1,"status":"running"}\n ',
      'task_update',
    ],
    ['trailing whitespace', '{"type":"pong"}\r\n', 'pong'],
  ])('parses JSON with %s', (_name, text, kind) => {
    expect(parseServerFrame(text).kind).toBe(kind);
  });
});

describe('parseServerFrame: unknown and malformed frames', () => {
  it('reports an unknown type without failing', () => {
    const frame = { type: 'task_deleted', task_id: 3 };
    const parsed = expectKind(parseObject(frame), 'unknown');
    expect(parsed.type).toBe('task_deleted');
    expect(parsed.frame).toEqual(frame);
    expect(serverFrameSchema.safeParse(frame).success).toBe(false);
  });

  it.each([
    ['a missing type', { task_id: 1, status: 'running' }],
    ['a numeric type', { type: 1 }],
    ['a null type', { type: null }],
  ])('rejects %s with an issue naming type', (_name, frame) => {
    expectInvalidField(frame, ['type']);
  });

  it.each([
    ['an array', '[{"type":"ping"}]'],
    ['an empty array', '[]'],
    ['a number', '42'],
    ['a negative number', '-1'],
    ['null', 'null'],
    ['a boolean', 'true'],
  ])('rejects JSON that is %s as not an object', (_name, text) => {
    const { error } = expectKind(parseServerFrame(text), 'invalid');
    expect(error.code).toBe('PROTOCOL_ERROR');
    expect(error.issues?.[0]).toEqual({ path: [], message: 'expected a JSON object' });
    expect(serverFrameSchema.safeParse(JSON.parse(text)).success).toBe(false);
  });

  it('reads a bare JSON string as a text frame (what send_json("…") writes)', () => {
    expect(parseServerFrame('"Invalid token"')).toEqual({ kind: 'text', text: 'Invalid token' });
    expect(serverFrameSchema.safeParse('Invalid token').success).toBe(false);
  });

  it('reads a bare JSON string as the frame it holds when that is a pong or a JSON object', () => {
    expect(parseServerFrame('"pong"')).toEqual(parseServerFrame('pong'));
    // A ping so written stays text: a server that reads JSON could not read a plain `pong`.
    expect(parseServerFrame(' "ping" ')).toEqual({ kind: 'text', text: 'ping' });
    // Any other JSON string is plain text, even one that reads as another JSON value, or starts
    // as an object and is none.
    expect(parseServerFrame('"42"')).toEqual({ kind: 'text', text: '42' });
    expect(parseServerFrame('"[1]"')).toEqual({ kind: 'text', text: '[1]' });
    expect(parseServerFrame('"{user_id} is not valid"')).toEqual({
      kind: 'text',
      text: '{user_id} is not valid',
    });
    // `send_json(json.dumps(frame))`: the frame, as a JSON string.
    const update = '{"type":"task_update","task_id":7,"status":"running","progress":40}';
    const twice = JSON.stringify(update);
    expect(expectKind(parseServerFrame(twice), 'task_update').update).toEqual(
      expectKind(parseServerFrame(update), 'task_update').update,
    );
    const refusal = JSON.stringify('{"type":"error","message":"Invalid token"}');
    expect(expectKind(parseServerFrame(refusal), 'error').message).toBe('Invalid token');
    // An invalid frame encoded twice reports what it holds.
    const { error } = expectKind(
      parseServerFrame(JSON.stringify('{"type":"task_update"}')),
      'invalid',
    );
    expect(error.issues?.map((issue) => issue.path[0])).toContain('task_id');
  });

  it.each([
    '{"type":"ping"',
    '{type:"ping"}',
    "{'type':'ping'}",
    '[1,',
    '{"type":"ping"}}',
    '{}{}',
  ])('rejects the malformed JSON %j', (text) => {
    const { error } = expectKind(parseServerFrame(text), 'invalid');
    expect(isTaskStatusError(error, 'PROTOCOL_ERROR')).toBe(true);
    expect(error.message).toContain('malformed JSON');
    expect(error.issues?.[0]?.path).toEqual([]);
  });

  it.each([
    ['progress', '{"type":"task_update","task_id":1,"status":"running","progress":1e999}'],
    ['task_id', '{"type":"task_update","task_id":1e999,"status":"running"}'],
    ['user_id', '{"type":"connected","user_id":-1e999}'],
    ['code', '{"type":"error","code":1e999}'],
  ])('rejects an infinite %s, as the schema does', (field, text) => {
    const { error } = expectKind(parseServerFrame(text), 'invalid');
    expect(error.issues?.[0]?.path).toEqual([field]);
    expect(serverFrameSchema.safeParse(JSON.parse(text)).success).toBe(false);
  });
});

describe('parseServerFrame robustness', () => {
  const kinds: Kind[] = [
    'connected',
    'task_update',
    'error',
    'ping',
    'pong',
    'text',
    'unknown',
    'invalid',
  ];

  it('never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' })),
        (text) => {
          expect(kinds).toContain(parseServerFrame(text).kind);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('never throws on arbitrary JSON and reports failures as PROTOCOL_ERROR', () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        const parsed = parseServerFrame(text);
        expect(kinds).toContain(parsed.kind);
        const data: unknown = JSON.parse(text);
        // A JSON string is text unless it holds a pong or an object (a frame encoded twice).
        const held =
          typeof data === 'string' &&
          (data.trim() === 'pong' || readJsonObject(data.trim()) !== undefined);
        expect(parsed.kind === 'text').toBe(typeof data === 'string' && !held);
        if (parsed.kind === 'invalid') expect(parsed.error.code).toBe('PROTOCOL_ERROR');
      }),
      { numRuns: 1000 },
    );
  });

  it('never throws on JSON objects with a known type and random fields', () => {
    const type = fc.constantFrom('connected', 'task_update', 'error', 'ping', 'pong');
    fc.assert(
      fc.property(type, fc.dictionary(fc.string(), fc.jsonValue()), (frameType, fields) => {
        const parsed = parseServerFrame(JSON.stringify({ ...fields, type: frameType }));
        expect([frameType, 'invalid']).toContain(parsed.kind);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('parseServerFrame with huge frames', () => {
  const big = 'x'.repeat(100_000);

  it.each([
    [
      'a task_update with a bad field',
      JSON.stringify({ ...fullUpdate, progress: 500, message: big }),
    ],
    ['truncated JSON', JSON.stringify({ ...fullUpdate, message: big }).slice(0, 100_000)],
    ['an array', JSON.stringify([big])],
    ['a JSON number', `${'9'.repeat(100_000)}`],
  ])('keeps the PROTOCOL_ERROR for %s short', (_name, text) => {
    expect(text.length).toBeGreaterThanOrEqual(100_000);
    const { error } = expectKind(parseServerFrame(text), 'invalid');
    expect(error.code).toBe('PROTOCOL_ERROR');
    expect(error.message.length).toBeLessThan(1024);
    expect(error.frame?.length ?? 0).toBeLessThan(1024);
    expect(JSON.stringify(error.toJSON()).length).toBeLessThan(2048);
  });
});
