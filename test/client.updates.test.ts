import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import {
  isTaskStatusError,
  type TaskStatusClient,
  type TaskStatusError,
  type TaskUpdate,
  type TaskUpdateIterator,
} from '../src/index.js';
import { rejection } from './helpers/events.js';
import { at, taskFrame } from './helpers/frames.js';
import { isCollectable } from './helpers/gc.js';
import { setupWsHarness } from './helpers/harness.js';

const harness = setupWsHarness({
  heartbeat: false,
  authGraceMs: 0,
  reconnect: false,
});
const client = harness.client;
/** What a task id argument must be: one the server can send (docs/protocol.md). */
const ID_RULE = 'must be a task id (an integer from 0 to 2^53 - 1 or a non-empty string)';

function socket(): WebSocket {
  const last = harness.server.sockets.at(-1);
  if (last === undefined) throw new Error('no socket yet');
  return last;
}

/** Sends frames and resolves once the client has seen the last one. */
async function send(c: TaskStatusClient, ...frames: string[]): Promise<void> {
  const seen = new Promise<void>((resolve) => {
    let left = frames.length;
    const onMessage = () => {
      if (--left === 0) {
        c.off('message', onMessage);
        resolve();
      }
    };
    c.on('message', onMessage);
  });
  for (const frame of frames) socket().send(frame);
  await seen;
}

const ids = (updates: (TaskUpdate | undefined)[]) =>
  updates.map((u) => `${u?.taskId}:${u?.status}`);

describe('updates encoded twice', () => {
  it('hands out an update sent as a JSON string (send_json(json.dumps(update)))', async () => {
    const c = client();
    const all = c.updates();
    await c.connect();
    await send(c, JSON.stringify(taskFrame(1, 'running')), taskFrame(1, 'completed'));
    const got = [await all.next(), await all.next()].map((result) => result.value);
    expect(ids(got)).toEqual(['1:running', '1:completed']);
    expect(c.getTask(1)?.status).toBe('completed');
  });
});

describe('update iterators', () => {
  it('yields updates in order, filtered by one or several task ids', async () => {
    const c = client();
    const all = c.updates();
    const one = c.updates({ taskId: 2 });
    const some = c.updates({ taskId: [1, '3'] });
    await c.connect();
    await send(
      c,
      taskFrame(1, 'running'),
      taskFrame(2, 'running'),
      taskFrame(3, 'completed'),
      taskFrame(2, 'failed'),
    );
    const take = async (it: AsyncIterableIterator<TaskUpdate>, n: number) => {
      const out: TaskUpdate[] = [];
      for await (const update of it) {
        out.push(update);
        if (out.length === n) break;
      }
      return out;
    };
    expect(ids(await take(all, 4))).toEqual(['1:running', '2:running', '3:completed', '2:failed']);
    expect(ids(await take(one, 2))).toEqual(['2:running', '2:failed']);
    expect(ids(await take(some, 2))).toEqual(['1:running', '3:completed']);
    expect(c.listenerCount('task')).toBe(0);
  });

  it('queues next() calls made before earlier ones settle', async () => {
    const c = client();
    const it = c.updates();
    const first = it.next();
    const second = it.next();
    await c.connect();
    await send(c, taskFrame(1, 'running'), taskFrame(2, 'running'));
    expect([(await first).value?.taskId, (await second).value?.taskId]).toEqual([1, 2]);
    const third = it.next();
    const fourth = it.next();
    await c.close();
    await expect(third).resolves.toEqual({ value: undefined, done: true });
    await expect(fourth).resolves.toEqual({ value: undefined, done: true });
  });

  it('removes its listener on return(), even before the first next()', async () => {
    const c = client();
    const it = c.updates();
    expect(c.listenerCount('task')).toBe(1);
    await expect(it.return?.()).resolves.toEqual({ value: undefined, done: true });
    expect(c.listenerCount('task')).toBe(0);
    await expect(it.next()).resolves.toEqual({ value: undefined, done: true });
  });

  it('is done after return() or throw(), even when it owed an abort or an overflow', async () => {
    const c = client();
    await c.connect();
    const controller = new AbortController();
    const aborted = c.updates({ signal: controller.signal });
    controller.abort();
    await expect(aborted.return()).resolves.toEqual({ value: undefined, done: true });
    await expect(aborted.next()).resolves.toEqual({ value: undefined, done: true });

    const overflowed = c.updates({ bufferSize: 1, overflow: 'error' });
    await send(c, taskFrame(1, 'running'), taskFrame(2, 'running'));
    await expect(overflowed.throw(new Error('stop'))).rejects.toThrow('stop');
    await expect(overflowed.next()).resolves.toEqual({ value: undefined, done: true });
  });

  it('ends every iterator when the client closes, after the buffered updates', async () => {
    const c = client();
    const it = c.updates();
    await c.connect();
    await send(c, taskFrame(1, 'running'));
    await c.close();
    expect((await it.next()).value?.taskId).toBe(1);
    await expect(it.next()).resolves.toEqual({ value: undefined, done: true });
    const pending = c.updates();
    await expect(pending.next()).resolves.toMatchObject({ done: true });
  });

  it('is done when a close listener makes it as close() ends the client', async () => {
    const c = client();
    await c.connect();
    await send(c, taskFrame(1, 'running'));
    let made: [TaskUpdateIterator, TaskUpdateIterator, Promise<TaskStatusError>] | undefined;
    c.on('close', () => {
      made = [c.updates(), c.watchTask(1), rejection(c.waitForTask(1))];
    });
    await c.close();
    expect(c.listenerCount('task')).toBe(0);
    const [iterator, watch, wait] = made ?? [];
    await expect(iterator?.next()).resolves.toEqual({ value: undefined, done: true });
    expect((await watch?.next())?.value?.taskId).toBe(1);
    await expect(watch?.next()).resolves.toEqual({ value: undefined, done: true });
    expect((await wait)?.code).toBe('CONNECTION_CLOSED');
  });

  it('delivers buffered updates, then rejects with the fatal error', async () => {
    const c = client({ reconnect: { initialDelayMs: 0, maxDelayMs: 0, maxAttempts: 0 } });
    const it = c.updates();
    await c.connect();
    await send(c, taskFrame(1, 'running'), taskFrame(1, 'completed'));
    socket().close(1011);
    await new Promise((resolve) =>
      c.on('error', (e) => e.code === 'RECONNECT_EXHAUSTED' && resolve(e)),
    );
    expect(ids([(await it.next()).value, (await it.next()).value])).toEqual([
      '1:running',
      '1:completed',
    ]);
    const error = await rejection(it.next());
    expect(isTaskStatusError(error, 'RECONNECT_EXHAUSTED')).toBe(true);
    await expect(it.next()).resolves.toMatchObject({ done: true });
  });

  it('rejects a pending next() with AUTH_FAILED', async () => {
    harness.server.onSocket = (ws) => {
      ws.send('{"type":"error","code":"auth_failed"}');
      ws.close(1008);
    };
    const c = client({ authGraceMs: 60_000 });
    const it = c.updates();
    const next = it.next();
    await c.connect().catch(() => {});
    expect((await rejection(next)).code).toBe('AUTH_FAILED');
  });

  it('ends with an AbortError when its signal aborts', async () => {
    const c = client();
    const controller = new AbortController();
    const it = c.updates({ signal: controller.signal });
    const next = it.next();
    controller.abort();
    const error = await rejection(next);
    expect(error.name).toBe('AbortError');
    expect(c.listenerCount('task')).toBe(0);
  });

  it('delivers nothing more to iterators that an earlier task listener ended', async () => {
    const c = client();
    const controller = new AbortController();
    let returned: TaskUpdateIterator | undefined;
    // Registered before the iterators' own listeners, so it runs first.
    c.once('task', () => {
      void returned?.return?.();
      controller.abort();
    });
    returned = c.updates();
    const aborted = c.updates({ signal: controller.signal });
    await c.connect();
    await send(c, taskFrame(1, 'running'));
    await expect(returned.next()).resolves.toEqual({ value: undefined, done: true });
    expect((await rejection(aborted.next())).name).toBe('AbortError');
  });

  it.each(['updates', 'watchTask'] as const)(
    'holds no %s() iterator made with a signal that was already aborted',
    async (method) => {
      const c = client();
      const signal = AbortSignal.abort();
      const collectable = await isCollectable(() =>
        method === 'updates' ? c.updates({ signal }) : c.watchTask(1, { signal }),
      );
      expect(collectable).toBe(true);
      expect(c.listenerCount('task')).toBe(0);
    },
  );

  it('keeps the newest updates when a slow consumer overflows in drop-oldest mode', async () => {
    const c = client();
    const it = c.updates({ bufferSize: 3 });
    await c.connect();
    await send(c, ...[1, 2, 3, 4, 5].map((n) => taskFrame(n, 'running')));
    const got: (TaskUpdate | undefined)[] = [];
    for (let i = 0; i < 3; i++) got.push((await it.next()).value);
    expect(got.map((u) => u?.taskId)).toEqual([3, 4, 5]);
    // What it dropped is counted, for a consumer that wants to know it fell behind.
    expect(it.dropped).toBe(2);
  });

  it('ends with BUFFER_OVERFLOW in error mode, after what it buffered', async () => {
    const c = client();
    const it = c.updates({ bufferSize: 2, overflow: 'error' });
    await c.connect();
    await send(c, ...[1, 2, 3].map((n) => taskFrame(n, 'running')));
    expect(c.listenerCount('task')).toBe(0);
    expect((await it.next()).value?.taskId).toBe(1);
    expect((await it.next()).value?.taskId).toBe(2);
    expect((await rejection(it.next())).code).toBe('BUFFER_OVERFLOW');
  });

  it('returns listener counts to baseline after 1,000 iterator open/close cycles', async () => {
    const c = client();
    await c.connect();
    const baseline = c.listenerCount('task');
    for (let i = 0; i < 1000; i++) {
      const it = c.updates({ taskId: i, signal: new AbortController().signal });
      if (i % 2 === 0) await it.return?.();
      else {
        const next = it.next();
        await it.return?.();
        void next;
      }
    }
    expect(c.listenerCount('task')).toBe(baseline);
  });

  it('makes the client itself async-iterable over all updates', async () => {
    const c = client();
    await c.connect();
    const seen: string[] = [];
    const loop = (async () => {
      for await (const update of c) {
        seen.push(`${update.taskId}`);
        if (seen.length === 2) break;
      }
    })();
    await send(c, taskFrame('a', 'running'), taskFrame('b', 'running'));
    await loop;
    expect(seen).toEqual(['a', 'b']);
  });

  it('ends watchTask after the terminal update, starting from the one already held', async () => {
    const c = client();
    await c.connect();
    await send(c, taskFrame(42, 'pending'));
    const watched: string[] = [];
    const loop = (async () => {
      for await (const update of c.watchTask(42)) watched.push(update.status);
    })();
    await send(
      c,
      taskFrame(7, 'running'),
      taskFrame(42, 'running', { progress: 50 }),
      taskFrame(42, 'cancelled'),
    );
    await loop;
    expect(watched).toEqual(['pending', 'running', 'cancelled']);
    const again: string[] = [];
    for await (const update of c.watchTask('42')) again.push(update.status);
    expect(again).toEqual(['cancelled']);
    expect(c.listenerCount('task')).toBe(0);
  });
});

describe('arguments of updates(), watchTask() and waitForTask()', () => {
  it.each([
    [{ bufferSize: 0 }, '"updates.bufferSize": must be an integer >= 1, got 0'],
    [{ bufferSize: Number.NaN }, '"updates.bufferSize"'],
    [{ bufferSize: 2.5 }, '"updates.bufferSize"'],
    [{ overflow: 'errror' }, `"updates.overflow": must be 'drop-oldest' or 'error'`],
    [{ taskId: {} }, '"updates.taskId"'],
    [{ signal: 'x' }, '"updates.signal": must be an AbortSignal'],
    [{ bufer: 8 }, '"updates.bufer": is not a known option'],
    // Names an object has from its prototype are unknown options too, not rules.
    [{ constructor: 1 }, '"updates.constructor": is not a known option'],
    [JSON.parse('{"__proto__": {}}'), '"updates.__proto__": is not a known option'],
  ])('updates(%j) throws INVALID_OPTIONS', (options, message) => {
    const c = client();
    expect(() => c.updates(options as never)).toThrow(message);
    expect(c.listenerCount('task')).toBe(0);
  });

  it('watchTask() throws INVALID_OPTIONS for a missing task id or a bad option', () => {
    const c = client();
    expect(() => c.watchTask(undefined as never)).toThrow('"watchTask(taskId)"');
    expect(() => c.watchTask('')).toThrow(`"watchTask(taskId)": ${ID_RULE}, got an empty string`);
    expect(() => c.updates({ taskId: [1, -2] })).toThrow(
      '"updates.taskId": must be a task id (an integer from 0 to 2^53 - 1 or a non-empty ' +
        'string) or an array of task ids, got object',
    );
    expect(() => c.watchTask(1, { bufferSize: -1 })).toThrow('"watchTask.bufferSize"');
    // The task is the first argument: a second id in the options would be ignored.
    expect(() => c.watchTask(1, { taskId: 2 } as never)).toThrow(
      '"watchTask.taskId": is not a known option',
    );
  });

  it.each([
    [null, {}, `"waitForTask(taskId)": ${ID_RULE}, got object`],
    [Number.NaN, {}, `"waitForTask(taskId)": ${ID_RULE}, got NaN`],
    // No update the client accepts has such an id: the wait could only time out.
    ['', {}, `"waitForTask(taskId)": ${ID_RULE}, got an empty string`],
    [-1, {}, `"waitForTask(taskId)": ${ID_RULE}, got -1`],
    [1.5, {}, `"waitForTask(taskId)": ${ID_RULE}, got 1.5`],
    [2 ** 53, {}, `"waitForTask(taskId)": ${ID_RULE}, got ${2 ** 53}`],
    [1, { timeoutMs: -5 }, '"waitForTask.timeoutMs"'],
    [1, { timeoutMs: Number.POSITIVE_INFINITY }, '"waitForTask.timeoutMs"'],
    [1, { timeoutMs: 'soon' }, '"waitForTask.timeoutMs"'],
    [1, { signal: {} }, '"waitForTask.signal"'],
  ])('waitForTask(%j, %j) rejects with INVALID_OPTIONS', async (taskId, options, message) => {
    const error = await rejection(client().waitForTask(taskId as never, options as never));
    expect(error.code).toBe('INVALID_OPTIONS');
    expect(error.message).toContain(message);
  });
});

describe('task table', () => {
  it('hands out one live map, the same before the first update as after it', async () => {
    const c = client();
    const early = c.tasks;
    expect(early.size).toBe(0);
    expect(c.getTask(7)).toBeUndefined();
    await c.connect();
    await send(c, taskFrame(7, 'running'));
    expect(c.tasks).toBe(early);
    expect(early.get(7)?.status).toBe('running');
  });

  it('keeps the latest update per task, found by number or string id', async () => {
    const c = client();
    await c.connect();
    await send(
      c,
      taskFrame(42, 'running', { progress: 10 }),
      taskFrame('x-1', 'pending'),
      taskFrame(42, 'running', { progress: 60 }),
    );
    expect(c.getTask(42)?.progress).toBe(60);
    expect(c.getTask('42')?.progress).toBe(60);
    expect(c.getTask('x-1')?.status).toBe('pending');
    expect(c.getTask(99)).toBeUndefined();
    expect([...c.tasks.keys()]).toEqual([42, 'x-1']);
  });

  it('ignores and counts older and duplicate updates instead of emitting them', async () => {
    const c = client();
    const emitted: string[] = [];
    c.on('task', (u) => emitted.push(`${u.status}@${u.updatedAt?.slice(17, 19)}`));
    await c.connect();
    await send(
      c,
      taskFrame(1, 'running', { updated_at: at(10), progress: 50 }),
      taskFrame(1, 'pending', { updated_at: at(5) }),
      taskFrame(1, 'running', { updated_at: at(10), progress: 50 }),
      taskFrame(1, 'completed', { updated_at: at(20) }),
      taskFrame(2, 'running'),
      taskFrame(2, 'running'),
    );
    expect(emitted).toEqual(['running@10', 'completed@20', 'running@undefined']);
    expect(c.getTask(1)?.status).toBe('completed');
    expect(c.stats).toEqual({ applied: 3, stale: 3, forgotten: 0 });
  });

  it('counts one instant written in another form as a duplicate', async () => {
    const c = client();
    const emitted: string[] = [];
    c.on('task', (u) => emitted.push(`${u.taskId} ${u.updatedAt}`));
    await c.connect();
    await send(
      c,
      taskFrame(1, 'running', { updated_at: '2026-01-01T12:00:00.250000+00:00' }),
      taskFrame(1, 'running', { updated_at: '2026-01-01T12:00:00.25Z' }),
      taskFrame(1, 'running', { updated_at: '2026-01-01T14:00:00.250+02:00' }),
      taskFrame(1, 'running', { updated_at: '2026-01-01 12:00:00.250000' }),
      taskFrame(2, 'running', { updated_at: '2026-01-01T12:00:00+00:00' }),
      taskFrame(2, 'running', { updated_at: '2026-01-01T12:00:00.000001+00:00' }),
      taskFrame(2, 'running', { updated_at: '2026-01-01T12:00:00.000001Z', progress: 5 }),
    );
    expect(emitted).toEqual([
      '1 2026-01-01T12:00:00.250000+00:00',
      '2 2026-01-01T12:00:00+00:00',
      '2 2026-01-01T12:00:00.000001+00:00',
      '2 2026-01-01T12:00:00.000001Z',
    ]);
    expect(c.stats).toEqual({ applied: 4, stale: 3, forgotten: 0 });
  });

  it('holds a task sent as 7 and as "7" once, and checks their order', async () => {
    const c = client();
    const emitted: string[] = [];
    c.on('task', (u) => emitted.push(`${JSON.stringify(u.taskId)} ${u.status}`));
    await c.connect();
    await send(
      c,
      taskFrame('7', 'running', { updated_at: at(1) }),
      taskFrame(7, 'completed', { updated_at: at(3) }),
      taskFrame('7', 'running', { updated_at: at(2) }),
    );
    expect(emitted).toEqual(['"7" running', '7 completed']);
    expect([...c.tasks.keys()]).toEqual(['7']);
    expect(c.getTask(7)?.status).toBe('completed');
    expect(c.getTask('7')?.status).toBe('completed');
    expect(c.stats).toEqual({ applied: 2, stale: 1, forgotten: 0 });
  });
});

describe('maxTasks', () => {
  it('forgets the finished tasks seen first once the table passes it, never a running one', async () => {
    const c = client({ maxTasks: 10 });
    await c.connect();
    // Tasks 1 and 2 keep running; 3 to 10 finish; then 11 to 13 come.
    const frames = [taskFrame(1, 'running'), taskFrame(2, 'running')];
    for (let id = 3; id <= 10; id++) frames.push(taskFrame(id, 'completed'));
    await send(c, ...frames);
    expect(c.tasks.size).toBe(10);
    await send(c, taskFrame(11, 'running'));
    // Past 10: finished tasks go, first seen first, until a tenth is free (9 held).
    expect([...c.tasks.keys()]).toEqual([1, 2, 5, 6, 7, 8, 9, 10, 11]);
    await send(c, taskFrame(12, 'completed'), taskFrame(13, 'completed'));
    expect([...c.tasks.keys()]).toEqual([1, 2, 7, 8, 9, 10, 11, 12, 13]);
    expect(c.stats).toEqual({ applied: 13, stale: 0, forgotten: 4 });
    expect(c.getTask(3)).toBeUndefined();
    expect(c.getTask(1)?.status).toBe('running');
  });

  it('keeps every task that is still going, past maxTasks', async () => {
    const c = client({ maxTasks: 3 });
    await c.connect();
    await send(c, ...[1, 2, 3, 4, 5].map((id) => taskFrame(id, 'running')));
    expect(c.tasks.size).toBe(5);
    expect(c.stats.forgotten).toBe(0);
  });

  it('forgets them once they finish, when the table filled up with running tasks', async () => {
    const c = client({ maxTasks: 10 });
    await c.connect();
    const ids = Array.from({ length: 20 }, (_, i) => i + 1);
    await send(c, ...ids.map((id) => taskFrame(id, 'running', { updated_at: at(1) })));
    expect(c.tasks.size).toBe(20);
    await send(c, ...ids.map((id) => taskFrame(id, 'completed', { updated_at: at(2) })));
    await send(c, taskFrame(21, 'running'), taskFrame(22, 'running'));
    // Task 21 comes past the table's next look (20 held): finished tasks go until 9 are left,
    // and task 22 then fits under the limit.
    expect(c.tasks.size).toBe(10);
    expect([...c.tasks.keys()]).toEqual([13, 14, 15, 16, 17, 18, 19, 20, 21, 22]);
    expect(c.stats.forgotten).toBe(12);
  });

  it.each([0, 1.5, -1, Number.NaN, '10'])('rejects maxTasks: %j', (value) => {
    expect(() => client({ maxTasks: value as number })).toThrow(
      '"maxTasks": must be an integer >= 1, or Infinity',
    );
  });
});

describe('waitForTask', () => {
  it.each(['completed', 'failed', 'cancelled'])(
    'resolves with the terminal update whatever it is (%s)',
    async (status) => {
      const c = client();
      await c.connect();
      const done = c.waitForTask(5);
      await send(
        c,
        taskFrame(5, 'running'),
        taskFrame(5, status, { error: status === 'failed' ? 'boom' : null }),
      );
      await expect(done).resolves.toMatchObject({ taskId: 5, status });
      expect(c.listenerCount('task')).toBe(0);
    },
  );

  it('honours a custom set of terminal statuses', async () => {
    const c = client({ terminalStatuses: ['done'] });
    await c.connect();
    const done = c.waitForTask(5);
    await send(c, taskFrame(5, 'completed'), taskFrame(5, 'done'));
    await expect(done).resolves.toMatchObject({ status: 'done' });
  });

  it('resolves at once for a task that already finished', async () => {
    const c = client();
    await c.connect();
    await send(c, taskFrame(8, 'completed'));
    await expect(c.waitForTask('8')).resolves.toMatchObject({ taskId: 8 });
  });

  it('rejects with TASK_TIMEOUT and leaves nothing behind', async () => {
    const c = client();
    await c.connect();
    expect((await rejection(c.waitForTask(1, { timeoutMs: 30 }))).code).toBe('TASK_TIMEOUT');
    expect(c.listenerCount('task')).toBe(0);
  });

  it('rejects with ABORTED on its signal', async () => {
    const c = client();
    await c.connect();
    const controller = new AbortController();
    const waiting = c.waitForTask(1, { signal: controller.signal });
    const reason = new Error('user left the page');
    controller.abort(reason);
    const error = await rejection(waiting);
    expect(error.code).toBe('ABORTED');
    expect(error.cause).toBe(reason);
    expect(c.listenerCount('task')).toBe(0);
  });

  it('puts one listener on a signal that many waits and iterators share', async () => {
    const c = client();
    await c.connect();
    const controller = new AbortController();
    const { signal } = controller;
    const waits = [1, 2, 3, 4, 5, 6].map((taskId) => c.waitForTask(taskId, { signal }));
    const iterators = [1, 2, 3, 4, 5, 6].map((taskId) => c.updates({ taskId, signal }));
    const nexts = iterators.map((iterator) => iterator.next());
    expect(getEventListeners(signal, 'abort')).toHaveLength(1);

    controller.abort();

    const waited = await Promise.all(waits.map((pending) => rejection(pending)));
    const iterated = await Promise.all(nexts.map((pending) => rejection(pending)));
    expect(waited.map((error) => error.code)).toEqual(Array(6).fill('ABORTED'));
    expect(iterated.map((error) => error.name)).toEqual(Array(6).fill('AbortError'));
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    expect(c.listenerCount('task')).toBe(0);
  });

  it('rejects with the error that ends the client', async () => {
    const c = client();
    await c.connect();
    const waiting = rejection(c.waitForTask(1));
    await c.close();
    expect((await waiting).code).toBe('CONNECTION_CLOSED');
  });
});
