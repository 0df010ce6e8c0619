import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { normaliseResyncUpdate } from '../src/client/resync.js';
import {
  type ResyncContext,
  type ResyncedInfo,
  type ResyncFunction,
  TaskStatusClient,
  type TaskStatusError,
  type TaskUpdate,
} from '../src/index.js';
import { nextEvent } from './helpers/events.js';
import { at, taskFrame } from './helpers/frames.js';
import { startWsServer, type TestServer } from './helpers/ws-server.js';

let server: TestServer;
let client: TaskStatusClient | undefined;

/** The backend's own record of tasks: what its HTTP "list tasks" endpoint would return. */
const backend = new Map<number, TaskUpdate>();

function record(taskId: number, status: string, seconds: number): string {
  backend.set(taskId, {
    taskId,
    status,
    progress: null,
    message: null,
    result: null,
    error: null,
    updatedAt: at(seconds),
  });
  return taskFrame(taskId, status, { updated_at: at(seconds) });
}

beforeEach(async () => {
  backend.clear();
  server = await startWsServer();
});

afterEach(async () => {
  await client?.close();
  await server.close();
});

/** A client of the test server with fast reconnects and the given `resync`. */
function withResync(resync: ResyncFunction): TaskStatusClient {
  return new TaskStatusClient({
    baseUrl: server.baseUrl,
    userId: 2,
    token: 'tok',
    heartbeat: false,
    authGraceMs: 0,
    reconnect: { initialDelayMs: 5, maxDelayMs: 10 },
    resync,
  });
}

describe('resync after reconnect', () => {
  it('recovers a final status that happened while the client was away', async () => {
    const contexts: { held: string | undefined; signal: AbortSignal }[] = [];
    client = withResync(async (context: ResyncContext) => {
      contexts.push({ held: context.tasks.get(1)?.status, signal: context.signal });
      return [...backend.values()];
    });
    const statuses: string[] = [];
    client.on('task', (u) => statuses.push(`${u.taskId}:${u.status}`));
    server.onSocket = (ws) => {
      ws.send(record(1, 'running', 1));
      ws.send(record(2, 'running', 1));
    };
    await client.connect();
    await expect.poll(() => statuses.length).toBe(2);
    expect(contexts).toHaveLength(0);

    await server.close();
    record(1, 'completed', 5); // happened while the socket was down
    server.onSocket = () => {};
    const resynced = nextEvent<[ResyncedInfo]>(client, 'resynced');
    await server.listen();

    expect((await resynced)[0]).toEqual({ applied: 1, stale: 1 });
    expect(statuses).toEqual(['1:running', '2:running', '1:completed']);
    expect(client.getTask(1)?.status).toBe('completed');
    expect(contexts).toHaveLength(1);
    expect(contexts[0]?.held).toBe('running');
    expect(contexts[0]?.signal.aborted).toBe(false);
    await expect(client.waitForTask(1)).resolves.toMatchObject({ status: 'completed' });
  });

  it('drops resync results older than a live update that arrived first', async () => {
    let release: (value: TaskUpdate[]) => void = () => {};
    client = withResync(() => new Promise<TaskUpdate[]>((resolve) => (release = resolve)));
    await client.connect();
    server.sockets[0]?.send(record(3, 'running', 1));
    await expect.poll(() => client?.getTask(3)?.status).toBe('running');
    server.sockets[0]?.close(1012);
    await nextEvent(client, 'open');
    const stale = backend.get(3);
    server.sockets[1]?.send(record(3, 'completed', 9));
    await expect.poll(() => client?.getTask(3)?.status).toBe('completed');
    const resynced = nextEvent<[ResyncedInfo]>(client, 'resynced');
    release(stale ? [stale] : []);
    expect((await resynced)[0]).toEqual({ applied: 0, stale: 1 });
    expect(client.getTask(3)?.status).toBe('completed');
  });

  it('counts a task whose time the HTTP API writes in another form as unchanged', async () => {
    // A live frame from `datetime.isoformat()`, the list endpoint's row as pydantic 2 writes it.
    client = withResync(() => [
      { taskId: 8, status: 'running', progress: 40, updatedAt: '2026-01-01T12:00:00.123456Z' },
    ]);
    const statuses: string[] = [];
    client.on('task', (u) => statuses.push(`${u.taskId}:${u.status}`));
    server.onSocket = (ws) =>
      ws.send(
        taskFrame(8, 'running', { progress: 40, updated_at: '2026-01-01T12:00:00.123456+00:00' }),
      );
    await client.connect();
    await expect.poll(() => statuses.length).toBe(1);
    server.onSocket = () => {};
    const resynced = nextEvent<[ResyncedInfo]>(client, 'resynced');
    server.sockets[0]?.close(1012);
    expect((await resynced)[0]).toEqual({ applied: 0, stale: 1 });
    expect(statuses).toEqual(['8:running']);
  });

  it.each([
    ['that rejects', () => Promise.reject(new Error('list endpoint down')), 'list endpoint down'],
    [
      'that throws a value with no string form',
      () => {
        throw Object.create(null);
      },
      'unknown error',
    ],
  ])(
    'reports a resync %s as RESYNC_FAILED and keeps the connection',
    async (_name, resync, said) => {
      client = withResync(resync as ResyncFunction);
      await client.connect();
      const failure = new Promise<TaskStatusError>((resolve) =>
        client?.on('error', (e) => e.code === 'RESYNC_FAILED' && resolve(e)),
      );
      server.sockets[0]?.close(1012);
      expect((await failure).message).toBe(`resync failed: ${said}`);
      expect(client.state).toBe('open');
    },
  );

  it.each([
    [[{ taskId: '', status: 'running' }], 'index 0 (taskId: expected a non-negative integer'],
    [[{ taskId: 1, status: 'running', progress: 999 }], 'index 0 (progress: expected a number'],
    [[{ taskId: 1, status: '' }], 'index 0 (status: expected a non-empty string)'],
    [
      [
        { taskId: 1, status: 'completed' },
        { taskId: 2, status: 'running', updatedAt: 'yesterday' },
      ],
      'index 1 (updatedAt: expected an ISO-8601',
    ],
    [null, 'resync must return an array, got null'],
    // A sparse array: the hole at index 1 is a bad item, and task 1 before it is not applied.
    [
      Object.assign([], { 0: { taskId: 1, status: 'completed' }, 2: { taskId: 2, status: 'x' } }),
      'index 1 (taskId: expected',
    ],
  ])('refuses the result %j as a whole with RESYNC_FAILED', async (items, message) => {
    client = withResync(() => items as never);
    const events: string[] = [];
    client.on('task', (task) => events.push(`task ${task.taskId}`));
    client.on('resynced', () => events.push('resynced'));
    await client.connect();
    const failure = new Promise<TaskStatusError>((resolve) =>
      client?.on('error', (e) => e.code === 'RESYNC_FAILED' && resolve(e)),
    );
    server.sockets[0]?.close(1012);
    expect((await failure).message).toContain(message);
    expect(events).toEqual([]);
    expect(client.tasks.size).toBe(0);
  });

  it('fills fields left out or set to undefined with null', async () => {
    // As a JavaScript caller (or an `as` cast) may write it.
    client = withResync(() => [{ taskId: 4, status: 'completed', progress: undefined }] as never);
    await client.connect();
    const resynced = nextEvent(client, 'resynced');
    server.sockets[0]?.close(1012);
    await resynced;
    expect(client.getTask(4)).toEqual({
      taskId: 4,
      status: 'completed',
      progress: null,
      message: null,
      result: null,
      error: null,
      updatedAt: null,
    });
  });

  it('keeps the held value of each field a result leaves out, so an unchanged task is stale', async () => {
    // As the example in docs/updates.md: an HTTP row with no result and no message.
    client = withResync(({ tasks }) =>
      [...tasks.values()].map(({ taskId }) => ({
        taskId,
        status: 'completed',
        progress: 100,
        updatedAt: at(5),
      })),
    );
    await client.connect();
    server.sockets[0]?.send(
      taskFrame(5, 'completed', {
        progress: 100,
        message: 'done',
        result: { url: '/r/5' },
        updated_at: at(5),
      }),
    );
    await expect.poll(() => client?.getTask(5)?.status).toBe('completed');
    const held = client.getTask(5);
    const tasks: TaskUpdate[] = [];
    client.on('task', (task) => tasks.push(task));
    const resynced = nextEvent<[ResyncedInfo]>(client, 'resynced');
    server.sockets[0]?.close(1012);

    expect((await resynced)[0]).toEqual({ applied: 0, stale: 1 });
    expect(tasks).toEqual([]);
    expect(client.getTask(5)).toBe(held);
  });

  it('applies a changed task over the held fields it leaves out, and null where it says null', async () => {
    client = withResync(() => [{ taskId: 6, status: 'failed', message: null, error: 'oom' }]);
    await client.connect();
    server.sockets[0]?.send(
      taskFrame(6, 'running', { progress: 40, message: 'step 2', updated_at: at(1) }),
    );
    await expect.poll(() => client?.getTask(6)?.status).toBe('running');
    const resynced = nextEvent(client, 'resynced');
    server.sockets[0]?.close(1012);
    await resynced;

    expect(client.getTask(6)).toEqual({
      taskId: 6,
      status: 'failed',
      progress: 40,
      message: null,
      result: null,
      error: 'oom',
      updatedAt: at(1),
    });
  });
});

describe('a resync item', () => {
  it('with an own __proto__ key (as response.json() gives it) keeps a plain prototype', () => {
    const input = JSON.parse(
      '{"taskId": 1, "status": "done", "__proto__": {"raw": {"forged": true}}}',
    ) as TaskUpdate;
    const update = normaliseResyncUpdate(input, 0, new Map());
    expect(Object.getPrototypeOf(update)).toBe(Object.prototype);
    expect(update.raw).toBeUndefined();
    expect(update).toMatchObject({ taskId: 1, status: 'done', progress: null });
  });
});
