/**
 * Thousands of hostile frames, interleaved with good ones, fed straight into a real client's
 * `onmessage` through an injected WebSocket double: the fastest honest way to reach the
 * handler a platform socket would call.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type {
  ParsedFrame,
  TaskStatusClient,
  TaskStatusClientOptions,
  TaskStatusError,
} from '../../src/index.js';
import { type FakeSocket, setupFakeClients } from './helpers/fake-socket.js';
import { anyFrame, type HostileCase, materialise, type Outcome } from './helpers/hostile-frames.js';

const MAX_FRAME_BYTES = 64 * 1024;
const RUNS = 1_000;
const openClient = setupFakeClients();

function connected(options: Partial<TaskStatusClientOptions> = {}) {
  return openClient({ maxFrameBytes: MAX_FRAME_BYTES, ...options });
}

/** What the client did, in the vocabulary of {@link Outcome}. */
function observe(client: TaskStatusClient, socket: FakeSocket) {
  const seen: Outcome[] = [];
  const errors: TaskStatusError[] = [];
  client.on('task', (update) => seen.push({ kind: 'task', taskId: update.taskId }));
  client.on('error', (error) => {
    errors.push(error);
    seen.push({ kind: 'error', code: error.code as 'PROTOCOL_ERROR' });
  });
  client.on('message', (frame: ParsedFrame) => {
    // The client answers a ping before it reports it, so the answer is the last frame sent.
    if (frame.kind === 'ping') seen.push({ kind: 'ping', answer: socket.sent.at(-1) ?? '' });
    else if (frame.kind === 'pong') seen.push({ kind: 'pong' });
    else if (frame.kind === 'text') seen.push({ kind: 'text', text: frame.text });
  });
  return { seen, errors };
}

/**
 * Delivers the frames back to back, as one socket read would, then waits until the client has
 * handled them (in one microtask, after the last).
 */
async function feed(socket: FakeSocket, cases: readonly HostileCase[]): Promise<void> {
  for (const hostile of cases) {
    try {
      socket.receive(hostile.data);
    } catch (cause) {
      throw new Error(`onmessage threw on a "${hostile.label}" frame: ${String(cause)}`, { cause });
    }
  }
  await socket.handled();
}

/** Own property names of the built-in prototypes a polluting frame would touch. */
function prototypeKeys(): string[] {
  return [Object.prototype, Array.prototype, Function.prototype].flatMap((proto) =>
    Reflect.ownKeys(proto).map(String),
  );
}

describe('hostile frames', () => {
  it('reports each bad frame once, delivers every good one in order, and never throws', async () => {
    const pristine = prototypeKeys();
    let nextId = 0;
    let frames = 0;
    let bad = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(anyFrame(MAX_FRAME_BYTES), { minLength: 10, maxLength: 40 }),
        async (planned) => {
          const cases = materialise(planned, MAX_FRAME_BYTES, nextId);
          nextId += cases.length;
          const { client, socket } = await connected();
          const { seen, errors } = observe(client, socket);

          await feed(socket, cases);

          expect(seen).toEqual(cases.map((hostile) => hostile.outcome));
          for (const [index, error] of errors.entries()) {
            // A frame of any size is named in at most a few hundred characters.
            expect(error.message.length, error.message.slice(0, 300)).toBeLessThan(1_000);
            expect(error.frame?.length ?? 0).toBeLessThan(260);
            const hostile = cases.filter((c) => c.outcome.kind === 'error')[index];
            if (typeof hostile?.data === 'string' && error.code !== 'FRAME_TOO_LARGE') {
              expect(error.message).toContain(hostile.data.slice(0, 100));
            }
          }
          expect(client.state).toBe('open');
          expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
          expect(prototypeKeys()).toEqual(pristine);
          frames += cases.length;
          bad += errors.length;
          await client.close();
        },
      ),
      { numRuns: RUNS },
    );
    // The run is only as strong as its volume: thousands of frames, a good share of them bad.
    expect(frames).toBeGreaterThan(15_000);
    expect(bad).toBeGreaterThan(5_000);
  }, 60_000);

  it('names server-given text in bounded messages: error codes, acked ids, task ids', async () => {
    const huge = 'C'.repeat(100_000);
    const digits = '7'.repeat(100_000);
    const rejectAll: NonNullable<TaskStatusClientOptions['taskSchema']> = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: () => ({ issues: [{ message: 'M'.repeat(100_000), path: ['result'] }] }),
      },
    };
    const { client, socket } = await connected({ maxFrameBytes: 1_048_576, taskSchema: rejectAll });
    const { errors } = observe(client, socket);

    socket.receive(`{"type":"error","code":"${huge}","message":"m"}`);
    socket.receive(`{"type":"connected","user_id":"${digits}"}`);
    socket.receive(`{"type":"task_update","task_id":"${huge}","status":"done"}`);
    await socket.handled();

    expect(errors.map((error) => error.code)).toEqual([
      'SERVER_ERROR',
      'PROTOCOL_ERROR',
      'PROTOCOL_ERROR',
    ]);
    for (const error of errors) {
      expect(error.message.length, error.message.slice(0, 300)).toBeLessThan(1_000);
    }
    expect(errors[0]?.serverCode?.length).toBeLessThan(200);
    expect(client.state).toBe('open');
  });

  it('survives duplicate updates whose payload is nested deeper than JSON.stringify can follow', async () => {
    const { client, socket } = await connected({ maxFrameBytes: 1_048_576 });
    const { seen } = observe(client, socket);
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const frame = `{"type":"task_update","task_id":1,"status":"running","result":${deep}}`;

    await feed(socket, [
      { label: 'deep update', data: frame, outcome: { kind: 'task', taskId: 1 } },
      { label: 'the same deep update again', data: frame, outcome: { kind: 'task', taskId: 1 } },
      {
        label: 'an update after it',
        data: '{"type":"task_update","task_id":2,"status":"running"}',
        outcome: { kind: 'task', taskId: 2 },
      },
    ]);

    // The second copy is a duplicate (or at worst applied again); it must not cost the third.
    expect(seen[0]).toEqual({ kind: 'task', taskId: 1 });
    expect(seen.at(-1)).toEqual({ kind: 'task', taskId: 2 });
    expect(client.getTask(2)?.status).toBe('running');
  });
});
