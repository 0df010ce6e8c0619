import { describe, expect, expectTypeOf, it } from 'vitest';
import * as z from 'zod';
import {
  isTaskStatusError,
  type StandardSchemaV1,
  type TaskStatusClient,
  type TaskStatusError,
  type TaskUpdate,
} from '../src/index.js';
import { taskUpdateSchema, withResult } from '../src/schemas.js';
import { nextEvent } from './helpers/events.js';
import { taskFrame } from './helpers/frames.js';
import { setupWsHarness } from './helpers/harness.js';

const fileSchema = z.object({ url: z.string() });

const harness = setupWsHarness({ heartbeat: false, authGraceMs: 0, reconnect: false });

function open<T extends TaskUpdate>(taskSchema: StandardSchemaV1<TaskUpdate, T>) {
  return harness.client<T>({ taskSchema });
}

/** Sends frames and resolves once the client has parsed the last one. */
async function send<T extends TaskUpdate>(
  client: TaskStatusClient<T>,
  ...frames: string[]
): Promise<void> {
  const socket = harness.server.sockets.at(-1);
  if (socket === undefined) throw new Error('no socket yet');
  let left = frames.length;
  const seen = new Promise<void>((resolve) => {
    const onMessage = () => {
      if (--left > 0) return;
      client.off('message', onMessage);
      resolve();
    };
    client.on('message', onMessage);
  });
  for (const frame of frames) socket.send(frame);
  await seen;
}

const schemas = {
  'withResult(payload schema)': () => withResult(fileSchema),
  'taskUpdateSchema.extend({ result })': () =>
    taskUpdateSchema.extend({ result: fileSchema.nullable() }),
};

describe.each(Object.entries(schemas))('taskSchema: %s', (_name, make) => {
  it('hands out the schema output, drops an update whose payload fails, and stays open', async () => {
    const client = open(make());
    const tasks: unknown[] = [];
    const errors: TaskStatusError[] = [];
    client.on('task', (update) => tasks.push(update.result));
    client.on('error', (error) => errors.push(error));
    await client.connect();

    await send(
      client,
      taskFrame(1, 'completed', { result: { url: '/f/1.png', extra: 'dropped by zod' } }),
      taskFrame(2, 'completed', { result: { url: 42 } }),
      taskFrame(3, 'running'),
    );

    expect(tasks).toEqual([{ url: '/f/1.png' }, null]);
    expect(errors).toHaveLength(1);
    const [error] = errors;
    expect(isTaskStatusError(error, 'PROTOCOL_ERROR')).toBe(true);
    expect(error?.message).toMatch(
      /^Task 2 failed taskSchema \(result\.url: .+\); update dropped$/,
    );
    expect(error?.issues?.map((issue) => issue.path)).toEqual([['result', 'url']]);
    expect([...client.tasks.keys()]).toEqual([1, 3]);
    expect(client.getTask(1)?.raw).toMatchObject({
      task_id: 1,
      result: { extra: 'dropped by zod' },
    });
    expect(client.state).toBe('open');
  });
});

describe('withResult', () => {
  const update: TaskUpdate = {
    taskId: 7,
    status: 'completed',
    progress: 100,
    message: null,
    result: { url: '/f/7.png' },
    error: null,
    updatedAt: null,
  };

  it('passes an update without a payload as it is, without running the schema', () => {
    let runs = 0;
    const counted = z.object({ url: z.string() }).refine(() => ++runs > 0);
    const empty = { ...update, result: null };
    const checked = withResult(counted)['~standard'].validate(empty);
    expect((checked as StandardSchemaV1.SuccessResult<unknown>).value).toBe(empty);
    expect(runs).toBe(0);
    withResult(counted)['~standard'].validate(update);
    expect(runs).toBe(1);
  });

  it('types result by the payload schema, null while there is none', () => {
    const client = open(withResult(fileSchema));
    client.on('task', (u) => expectTypeOf(u.result).toEqualTypeOf<{ url: string } | null>());
    expectTypeOf(client.getTask(1)?.status).toEqualTypeOf<TaskUpdate['status'] | undefined>();
    expect(client.state).toBe('idle');
  });

  it('returns the very update when the payload schema gives back the same value', () => {
    const same = withResult(z.unknown())['~standard'].validate(update);
    expect(same).toEqual({ value: update });
    expect((same as { value: unknown }).value).toBe(update);
  });

  it('returns a copy holding the new payload when the schema makes one', () => {
    const checked = withResult(z.object({ url: z.string().transform((url) => url.length) }))[
      '~standard'
    ].validate(update) as StandardSchemaV1.SuccessResult<unknown>;
    expect(checked.value).toEqual({ ...update, result: { url: 8 } });
    expect(checked.value).not.toBe(update);
    expect(update.result).toEqual({ url: '/f/7.png' });
  });

  it('reports a value that is not an update object as an issue', () => {
    expect(withResult(fileSchema)['~standard'].validate(null)).toEqual({
      issues: [{ message: 'expected a task update object' }],
    });
  });

  it('passes an asynchronous payload schema on as a promise, which the client refuses', async () => {
    const later: StandardSchemaV1<unknown, unknown> = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: async (value) => ({ value }),
      },
    };
    await expect(withResult(later)['~standard'].validate(update)).resolves.toEqual({
      value: update,
    });

    const client = open(withResult(later));
    await client.connect();
    const error = nextEvent<[TaskStatusError]>(client as never, 'error');
    await send(client, taskFrame(1, 'completed', { result: { url: '/f/1.png' } }));
    expect((await error)[0].message).toBe(
      'taskSchema must validate synchronously (an async check, or a zod transform that threw); update dropped',
    );
    expect(client.tasks.size).toBe(0);
  });

  it('reports a schema that throws as PROTOCOL_ERROR with its message, and keeps the next update', async () => {
    const TOKEN = 'tok-schema-7f3a';
    const throwing: StandardSchemaV1<TaskUpdate, TaskUpdate> = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: (value) => {
          const update = value as TaskUpdate;
          if (update.taskId === 1) throw new TypeError(`cannot read result of ${TOKEN}`);
          return { value: update };
        },
      },
    };
    const client = harness.client({ taskSchema: throwing, token: TOKEN });
    await client.connect();
    const error = nextEvent<[TaskStatusError]>(client as never, 'error');
    await send(client, taskFrame(1, 'running'));
    const [reported] = await error;
    expect(reported.code).toBe('PROTOCOL_ERROR');
    expect(reported.message).toMatch(
      /^Task 1: taskSchema threw \(cannot read result of .+\); update dropped$/,
    );
    expect(reported.message).not.toContain(TOKEN);
    await send(client, taskFrame(2, 'running'));
    expect([...client.tasks.keys()]).toEqual([2]);
    expect(client.state).toBe('open');
  });

  it('leaves no unhandled rejection behind when an asynchronous schema rejects', async () => {
    const rejecting: StandardSchemaV1<unknown, unknown> = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: async () => {
          throw new Error('schema service down');
        },
      },
    };
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const client = open(withResult(rejecting));
      await client.connect();
      const error = nextEvent<[TaskStatusError]>(client as never, 'error');
      await send(client, taskFrame(1, 'completed', { result: { url: '/f/1.png' } }));
      expect((await error)[0].code).toBe('PROTOCOL_ERROR');
      // Node reports a rejection as unhandled once the microtasks after it have run.
      await new Promise<void>((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
