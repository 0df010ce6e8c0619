import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  buildTaskStatusUrl,
  isTaskStatusError,
  TaskStatusClient,
  type TaskStatusClientOptions,
  type TaskUpdate,
} from '../src/index.js';
import {
  createMockTaskServer,
  type MockTaskServer,
  type MockTaskServerOptions,
} from '../src/testing/index.js';
import { lendGlobalWebSocket } from './helpers/msw.js';

const BASE = 'http://tasks.test';
const msw = setupServer();
const clients: TaskStatusClient[] = [];

lendGlobalWebSocket();
beforeAll(() => msw.listen({ onUnhandledRequest: 'error' }));

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  msw.resetHandlers();
});

afterAll(() => msw.close());

function mock(options: MockTaskServerOptions = {}): MockTaskServer {
  const server = createMockTaskServer({ baseUrl: BASE, ...options });
  msw.use(...server.handlers);
  return server;
}

function client(options: Partial<TaskStatusClientOptions> = {}): TaskStatusClient {
  const created = new TaskStatusClient({
    baseUrl: BASE,
    userId: 2,
    token: 't2',
    heartbeat: false,
    authGraceMs: 5_000,
    reconnect: false,
    ...options,
  });
  clients.push(created);
  return created;
}

function collectTasks(c: TaskStatusClient): TaskUpdate[] {
  const tasks: TaskUpdate[] = [];
  c.on('task', (task) => tasks.push(task));
  return tasks;
}

describe('createMockTaskServer', () => {
  it('builds its ws.link pattern with the client URL rules', () => {
    expect(createMockTaskServer({ baseUrl: 'http://localhost:8000' }).url).toBe(
      'ws://localhost:8000/api/v1/ws/tasks/:userId',
    );
    expect(createMockTaskServer({ baseUrl: 'https://api.example.com/api/v1' }).url).toBe(
      'wss://api.example.com/api/v1/ws/tasks/:userId',
    );
    expect(createMockTaskServer({ baseUrl: 'https://h/svc', path: '/tasks/{user_id}' }).url).toBe(
      'wss://h/svc/tasks/:userId',
    );
    expect(createMockTaskServer().url).toBe('*/api/v1/ws/tasks/:userId');
  });

  it.each([
    ['ws://tasks.test/api/v1/ws/tasks/2?token=t', true],
    ['ws://tasks.test/api/v1/ws/tasks/John%20Doe?token=t', true],
    ['ws://tasks.test/api/v1/ws/tasks/2/?token=t', false],
    ['ws://tasks.test/API/v1/ws/tasks/2?token=t', false],
  ])('matches the canonical URL exactly, as the backend routes: %s %s', (url, matches) => {
    const [handler] = createMockTaskServer({ baseUrl: BASE }).handlers;
    expect(handler?.test(url)).toBe(matches);
  });

  it.each([
    ['an IPv6 host', { baseUrl: 'http://[::1]:8000' }, {}],
    ['a + in the base', { baseUrl: 'http://h.test/a+b' }, {}],
    ['( ) in the path', { baseUrl: BASE, path: '/ws/(v2)/{userId}' }, {}],
  ])(
    'serves a route with %s, whose URL means something else as an msw pattern',
    async (_name, options, _) => {
      const server = mock(options);
      await client(options).connect();
      expect(server.clients).toMatchObject([{ userId: '2', state: 'open' }]);
    },
  );

  it.each([
    ['a * in the path', { path: '/ws/*/{userId}' }, { path: '/ws/x/{userId}' }],
    [
      'a base of another case',
      { baseUrl: 'http://tasks.test/svc' },
      { baseUrl: 'http://tasks.test/SVC' },
    ],
  ])('serves no other route for %s', (_name, options, other) => {
    const [handler] = createMockTaskServer({ baseUrl: BASE, ...options }).handlers;
    const url = buildTaskStatusUrl({ baseUrl: BASE, userId: 2, token: 't', ...options, ...other });
    expect(handler?.test(url)).toBe(false);
  });

  it.each([
    'api/v1/ws/tasks/a%2Fb?token=t2',
    'api/v1/ws/tasks/%FF?token=t2',
    // msw strips a trailing slash when no query follows it.
    'api/v1/ws/tasks/2/',
  ])(
    'closes a socket to /%s, which the real server answers with 404, keeping no record',
    async (path) => {
      const server = mock();
      const socket = new globalThis.WebSocket(`ws://tasks.test/${path}`);
      const events: string[] = [];
      socket.onopen = () => events.push('open');
      const code = await new Promise<number>((resolve) => {
        socket.onclose = (event) => resolve(event.code);
      });
      expect({ events, code, connections: server.connections }).toEqual({
        events: [],
        code: 1006,
        connections: [],
      });
    },
  );

  it('mocks the route on every origin when no baseUrl is given', async () => {
    const server = createMockTaskServer();
    msw.use(...server.handlers);
    await client({ baseUrl: 'http://one.test' }).connect();
    await client({ baseUrl: 'https://two.test/api/v1' }).connect();
    expect(server.clients.map((c) => c.url)).toEqual([
      '/api/v1/ws/tasks/2?token=t2',
      '/api/v1/ws/tasks/2?token=t2',
    ]);
  });

  it('accepts any non-empty token for the path user by default, acking a numeric id', async () => {
    const server = mock();
    const c = client({ token: 'anything' });
    const acks: unknown[] = [];
    c.on('message', (frame) => frame.kind === 'connected' && acks.push(frame.frame));
    await c.connect();
    expect(acks).toEqual([{ type: 'connected', user_id: 2 }]);
    expect(server.clients).toMatchObject([
      { id: 1, userId: '2', token: 'anything', state: 'open' },
    ]);
  });

  it('takes tokens as a Map, or an async verifier that may answer true', async () => {
    const byMap = mock({ tokens: new Map([['m2', 2]]) });
    await client({ token: 'm2' }).connect();
    expect(byMap.clients).toHaveLength(1);
    msw.resetHandlers();
    const seen: unknown[] = [];
    mock({
      tokens: async (token, context) => {
        seen.push([token, context]);
        return token === 'ok';
      },
    });
    await client({ token: 'ok' }).connect();
    await expect(client({ token: 'no' }).connect()).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    expect(seen).toEqual([
      ['ok', { userId: '2' }],
      ['no', { userId: '2' }],
    ]);
  });

  it('refuses in FastAPI\'s {"detail": …} style, which the client reads as one AUTH_FAILED', async () => {
    const server = mock({ tokens: { t2: 2 }, errorFormat: 'detail', errorCloseCode: 1008 });
    const c = client({ token: 'wrong' });
    const codes: string[] = [];
    c.on('error', (error) => codes.push(error.code));
    await expect(c.connect()).rejects.toMatchObject({
      code: 'AUTH_FAILED',
      serverMessage: 'Authentication failed: invalid or expired token',
      closeCode: 1008,
    });
    expect(codes).toEqual(['AUTH_FAILED']);
    expect(server.connections).toMatchObject([{ state: 'rejected', closeCode: 1008 }]);
  });

  it('answers a throwing verifier with an internal_error frame and close 1011', async () => {
    const server = mock({
      tokens: () => {
        throw new Error('database down');
      },
    });
    const error = await client()
      .connect()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ serverCode: 'internal_error', closeCode: 1011 });
    expect(server.connections).toMatchObject([{ state: 'rejected', closeCode: 1011 }]);
  });

  it('closes after a refusal frame while the test fakes timers', async () => {
    mock({ tokens: { t2: 2 } });
    vi.useFakeTimers();
    try {
      const socket = new globalThis.WebSocket(`ws://tasks.test/api/v1/ws/tasks/2?token=bad`);
      const frames: unknown[] = [];
      socket.onmessage = (event) => frames.push(JSON.parse(String(event.data)));
      const code = await new Promise<number>((resolve) => {
        socket.onclose = (event) => resolve(event.code);
      });
      expect(frames).toMatchObject([{ type: 'error', code: 'auth_failed' }]);
      expect(code).toBe(1008);
    } finally {
      vi.useRealTimers();
    }
  });

  it('lets only the mock added last answer a socket when two mock one URL, as a per-test override', async () => {
    const fileLevel = mock();
    const override = mock({ tokens: { good: 2 } });
    const c = client({ token: 't2' });
    const frames: unknown[] = [];
    c.on('message', (frame) => frames.push(frame));
    await expect(c.connect()).rejects.toMatchObject({ code: 'AUTH_FAILED', closeCode: 1008 });
    expect(frames).toEqual([]);
    expect(override.connections).toMatchObject([{ state: 'rejected' }]);
    expect(fileLevel.connections).toEqual([]);
  });

  it('moves closed connections out of clients and keeps them in connections', async () => {
    const server = mock();
    const c = client();
    await c.connect();
    await c.close();
    await vi.waitFor(() => expect(server.clients).toEqual([]));
    expect(server.connections).toMatchObject([{ state: 'closed', closeCode: 1000 }]);
  });

  it.each([
    [
      'a raw socket',
      () => new globalThis.WebSocket(`ws://tasks.test/api/v1/ws/tasks/2?token=t2`).close(),
    ],
    [
      'a client closed right after connect() (React StrictMode)',
      () => {
        const ghost = client();
        ghost.connect().catch(() => {});
        void ghost.close();
      },
    ],
  ])(
    'never accepts %s closed in the tick it was opened, as a real server never sees it',
    async (_name, openAndClose) => {
      const server = mock({ heartbeat: { intervalMs: 60_000 } });
      server.rejectNextAuth('token_expired');
      openAndClose();
      const reasons: string[] = [];
      const c = client({
        token: ({ reason }) => {
          reasons.push(reason);
          return 't2';
        },
        reconnect: { initialDelayMs: 5, maxDelayMs: 10 },
      });
      await c.connect();
      // The queued refusal went to the app's socket, and only that socket has a record.
      expect(reasons).toEqual(['connect', 'auth-retry']);
      expect(server.connections.map((connection) => connection.state)).toEqual([
        'rejected',
        'open',
      ]);
      expect(server.clients).toHaveLength(1);
    },
  );

  it('silences only the given user', async () => {
    const server = mock();
    const two = client({ userId: 2 });
    const three = client({ userId: 3 });
    const twoTasks = collectTasks(two);
    const threeTasks = collectTasks(three);
    await Promise.all([two.connect(), three.connect()]);
    server.silence(2);
    server.pushUpdate(2, { taskId: 1, status: 'running' });
    server.pushUpdate(3, { taskId: 2, status: 'running' });
    server.pushUpdate(2, { taskId: 3, status: 'running' });
    await vi.waitFor(() => expect(threeTasks).toHaveLength(1));
    expect(twoTasks).toEqual([]);
    expect(server.clients.map((c) => [c.userId, c.silenced])).toEqual([
      ['2', true],
      ['3', false],
    ]);
  });

  it('reset() closes connections with 1001 and forgets tasks, history and rejections', async () => {
    const server = mock();
    const c = client();
    const closes: number[] = [];
    c.on('close', (info) => closes.push(info.code));
    await c.connect();
    server.pushUpdate(2, { taskId: 1, status: 'running' });
    server.rejectNextAuth();
    server.reset();
    await vi.waitFor(() => expect(closes).toEqual([1001]));
    expect(server.tasks(2)).toEqual([]);
    expect(server.connections).toEqual([]);
    await client().connect();
    expect(server.connections).toMatchObject([{ id: 2, state: 'open' }]);
  });

  it('keeps a task table per user and returns each frame as sent', () => {
    const server = mock();
    const sent = server.pushUpdate(2, {
      taskId: 'job-1',
      status: 'running',
      progress: 12.5,
      updatedAt: new Date('2024-05-01T12:30:00Z'),
    });
    expect(sent).toEqual({
      type: 'task_update',
      task_id: 'job-1',
      status: 'running',
      progress: 12.5,
      message: null,
      result: null,
      error: null,
      updated_at: '2024-05-01T12:30:00.000Z',
    });
    server.failTask(2, 'job-1', { reason: 'oom' });
    server.completeTask(3, 9);
    expect(server.tasks(2)).toMatchObject([
      { task_id: 'job-1', status: 'failed', progress: 12.5, error: { reason: 'oom' } },
    ]);
    expect(server.tasks('3')).toMatchObject([{ task_id: 9, status: 'completed', progress: 100 }]);
  });

  it('reads an updatedAt as the client does, so the next default time follows it', () => {
    const server = mock();
    // A bare ±hh offset, which the client takes and Date.parse cannot read.
    server.pushUpdate(2, { taskId: 1, status: 'running', updatedAt: '2999-05-01T12:30:00+02' });
    expect(server.completeTask(2, 1).updated_at).toBe('2999-05-01T10:30:00.001Z');
    server.pushUpdate(2, { taskId: 2, status: 'running', updatedAt: '2999-05-01 12:30' });
    expect(server.failTask(2, 2).updated_at).toBe('2999-05-01T12:30:00.001Z');
  });

  it('refuses updates and arguments the client would reject', () => {
    const server = mock();
    expect(() => server.pushUpdate(2, { taskId: 1, status: 'running', progress: 150 })).toThrow(
      /progress/,
    );
    expect(() => server.pushUpdate(2, { taskId: -1, status: 'running' })).toThrow(/task_id/);
    expect(() =>
      server.pushUpdate(2, { taskId: 1, status: 'x', updatedAt: new Date(Number.NaN) }),
    ).toThrow(/invalid Date/);
    expect(() => server.closeAll(1005)).toThrow(/close code/);
    expect(() => server.closeAll(1000, 'x'.repeat(124))).toThrow(/123 bytes/);
    expect(() => server.rejectNextAuth({ closeCode: 999 })).toThrow(/close code/);
    expect(server.tasks(2)).toEqual([]);
  });

  it.each([
    [{ nope: true }, /"nope": is not a known option/],
    [{ errorCloseCode: 1006 }, /"errorCloseCode"/],
    [{ errorFormat: 'xml' }, /"errorFormat"/],
    [{ path: '/api/v1/ws/tasks' }, /"path": must hold \{userId\}/],
    [{ heartbeat: { intervalMs: 0 } }, /"heartbeat.intervalMs"/],
    // A longer wait than a timer takes would fire at once: a ping flood.
    [{ heartbeat: { intervalMs: 2 ** 31 } }, /"heartbeat.intervalMs": .* to 2147483647/],
    [{ simulate: { userId: 2, minStepMs: 2 ** 31 } }, /"simulate.minStepMs"/],
    [{ simulate: { userId: 2, maxStepMs: 2 ** 31 } }, /"simulate.maxStepMs": .* to 2147483647/],
    [{ heartbeat: { every: 5 } }, /"heartbeat.every"/],
    [{ tokens: ['t'] }, /"tokens"/],
    // A value that is no user id would refuse its token without a word.
    [{ tokens: { t: {} } }, /"tokens\["t"\]": must be an integer from 0 or a non-empty string/],
    [{ tokens: new Map([['t', -1]]) }, /"tokens.get\("t"\)"/],
    [{ simulate: { userId: Number.NaN } }, /"simulate.userId": .* got NaN/],
    [{ ack: 'yes' }, /"ack"/],
    [{ simulate: { userId: 2, failures: 9 } }, /"simulate.failures"/],
    [{ port: 80 }, /"port": is not a known option/],
  ])('rejects the options %j with INVALID_OPTIONS', (options, message) => {
    let thrown: unknown;
    try {
      createMockTaskServer(options as MockTaskServerOptions);
    } catch (error) {
      thrown = error;
    }
    expect(isTaskStatusError(thrown, 'INVALID_OPTIONS')).toBe(true);
    expect((thrown as Error).message).toMatch(message);
  });
});

describe('task simulation', () => {
  it('runs every task from pending through running to completed or failed', async () => {
    const server = mock();
    const c = client();
    const tasks = collectTasks(c);
    await c.connect();
    let draw = 0;
    const simulation = server.simulate({
      userId: 2,
      tasks: 4,
      failures: 1,
      progressSteps: 3,
      minStepMs: 1,
      maxStepMs: 5,
      random: () => (draw++ % 10) / 10,
    });
    expect(simulation.taskIds).toEqual([1, 2, 3, 4]);
    expect(simulation.running).toBe(true);
    await simulation.done;
    expect(simulation.running).toBe(false);
    await vi.waitFor(() =>
      expect(tasks.filter((task) => ['completed', 'failed'].includes(task.status))).toHaveLength(4),
    );
    const history = (id: number) =>
      tasks.filter((task) => task.taskId === id).map((task) => `${task.status}:${task.progress}`);
    expect(history(1)).toEqual([
      'pending:0',
      'running:25',
      'running:50',
      'running:75',
      'completed:100',
    ]);
    // With 4 tasks and 1 failure, the third task fails halfway.
    expect(history(3)).toEqual(['pending:0', 'running:25', 'running:50', 'failed:50']);
    expect(server.tasks(2).map((frame) => frame.status)).toEqual([
      'completed',
      'completed',
      'failed',
      'completed',
    ]);
  });

  it('stop() ends a simulation early and resolves done', async () => {
    const server = mock();
    const simulation = server.simulate({ userId: 2, minStepMs: 60_000, maxStepMs: 60_000 });
    expect(server.tasks(2).map((frame) => frame.status)).toEqual(Array(5).fill('pending'));
    simulation.stop();
    simulation.stop();
    await expect(simulation.done).resolves.toBeUndefined();
    expect(simulation.running).toBe(false);
  });

  it('waits out step times near the longest a timer takes, for later tasks too', async () => {
    const server = mock();
    const step = 2 ** 30;
    // Task 2 first waits two steps and task 3 three: more than a timer can wait.
    const slow = server.simulate({ userId: 2, tasks: 3, minStepMs: step, maxStepMs: step });
    const clock = server.simulate({
      userId: 3,
      tasks: 1,
      progressSteps: 1,
      minStepMs: 5,
      maxStepMs: 5,
    });
    await clock.done;
    slow.stop();
    expect(server.tasks(2).map((frame) => frame.status)).toEqual(['pending', 'pending', 'pending']);
  });

  it('starts a simulate option on the first accepted connection, and again once it is over', async () => {
    const server = mock({
      tokens: { t2: 2 },
      simulate: { userId: 2, tasks: 2, failures: 0, minStepMs: 1, maxStepMs: 2 },
    });
    expect(server.tasks(2)).toEqual([]);
    await expect(client({ token: 'bad' }).connect()).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    expect(server.tasks(2)).toEqual([]);
    const c = client();
    const tasks = collectTasks(c);
    await c.connect();
    await vi.waitFor(() => expect(tasks.filter((t) => t.status === 'completed')).toHaveLength(2));
    await c.close();
    await client().connect();
    await vi.waitFor(() =>
      expect(server.tasks(2).map((frame) => [frame.task_id, frame.status])).toEqual([
        [1, 'completed'],
        [2, 'completed'],
        [3, 'completed'],
        [4, 'completed'],
      ]),
    );
  });
});

describe('the guide (docs/testing.md)', () => {
  // The guide's example, nearly verbatim: a user's own script that reports a task's outcome.
  async function waitForReport(baseUrl: string, token: string, taskId: number) {
    const c = new TaskStatusClient({ baseUrl, userId: 2, token, heartbeat: false });
    clients.push(c);
    await c.connect();
    return new Promise<string>((resolve) =>
      c.on('task', (task) => {
        if (task.taskId === taskId && task.status === 'completed') resolve(String(task.result));
        if (task.taskId === taskId && task.status === 'failed') resolve(`failed: ${task.error}`);
      }),
    );
  }

  it.each([
    ['a token map', { 'token-2': 2 }],
    [
      'a token check that takes a while',
      async (token: string) => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        return token === 'token-2' ? 2 : null;
      },
    ],
  ] as const)('tests a script against the mock in a few lines, with %s', async (_name, tokens) => {
    const backend = mock({ tokens });
    const report = waitForReport(BASE, 'token-2', 42);
    await vi.waitFor(() => expect(backend.clients[0]?.state).toBe('open'));
    backend.pushUpdate(2, { taskId: 42, status: 'running', progress: 50 });
    backend.failTask(2, 42, 'disk full');
    await expect(report).resolves.toBe('failed: disk full');
  });
});
