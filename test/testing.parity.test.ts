/**
 * One scenario table, run against both transports of the testing kit: msw's `ws.link()` and the
 * real `ws` server. A scenario scripts the server and a client, and what the client observes
 * (frames, close code and reason, or the SDK's events) must equal the table's expectation on
 * both, so the two transports behave the same.
 */
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, expectTypeOf, it, vi } from 'vitest';
import {
  buildTaskStatusUrl,
  isTaskStatusError,
  type TaskId,
  TaskStatusClient,
  type TaskStatusClientOptions,
  type TaskStatusError,
  type TaskUpdate,
  type TaskUpdateFrame,
} from '../src/index.js';
import {
  createMockTaskServer,
  startTaskStatusServer,
  type TaskServerControls,
  type TaskServerOptions,
  type TaskUpdateInput,
} from '../src/testing/index.js';
import { lendGlobalWebSocket } from './helpers/msw.js';

/** A connected raw WebSocket and everything it saw. */
interface Probe {
  readonly frames: string[];
  readonly closed: Promise<{ code: number; reason: string }>;
  send(text: string): void;
  /** Resolves once `count` frames have arrived. */
  frame(count: number): Promise<void>;
}

interface Context {
  readonly server: TaskServerControls;
  /** Opens a raw WebSocket to the canonical URL of this user and token. */
  connect(userId: number | string, token?: string): Probe;
  /** A TaskStatusClient for this backend, closed after the test. */
  client(options: Partial<TaskStatusClientOptions>): TaskStatusClient;
}

interface Scenario {
  readonly name: string;
  readonly options?: TaskServerOptions;
  /** Drives the scenario and returns what the client observed. */
  readonly run: (context: Context) => Promise<unknown>;
  readonly expected: unknown;
}

const TOKENS = { t2: 2, t3: 3, tj: 'John Doe' } as const;
const ISO = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

/** Frames as JSON where they are JSON, so `updated_at` can be matched loosely. */
function decoded(frames: readonly string[]): unknown[] {
  return frames.map((text) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  });
}

/** Waits for the close, then reports every frame that came before it. */
async function observeClose(probe: Probe) {
  const close = await probe.closed;
  return { frames: decoded(probe.frames), close };
}

const update = (taskId: number, status: string, fields: Record<string, unknown> = {}) => ({
  type: 'task_update',
  task_id: taskId,
  status,
  progress: null,
  message: null,
  result: null,
  error: null,
  updated_at: ISO,
  ...fields,
});

const scenarios: Scenario[] = [
  {
    name: 'acks a valid token, then streams updates snake_case',
    options: { tokens: TOKENS },
    async run({ server, connect }) {
      const probe = connect(2, 't2');
      await probe.frame(1);
      server.pushUpdate(2, { taskId: 42, status: 'running', progress: 40, message: 'Resizing' });
      server.completeTask(2, 42, { url: '/report.pdf' });
      server.pushUpdate(2, { taskId: 43, status: 'running', progress: 10 });
      server.failTask(2, 43, 'disk full');
      await probe.frame(5);
      server.closeAll(1000, 'bye');
      return observeClose(probe);
    },
    expected: {
      frames: [
        { type: 'connected', user_id: 2 },
        update(42, 'running', { progress: 40, message: 'Resizing' }),
        update(42, 'completed', { progress: 100, result: { url: '/report.pdf' } }),
        update(43, 'running', { progress: 10 }),
        update(43, 'failed', { progress: 10, error: 'disk full' }),
      ],
      close: { code: 1000, reason: 'bye' },
    },
  },
  {
    name: 'sends no ack with ack: false',
    options: { tokens: TOKENS, ack: false },
    async run({ server, connect }) {
      const probe = connect(2, 't2');
      await vi.waitFor(() => expect(server.clients[0]?.state).toBe('open'));
      server.pushUpdate(2, { taskId: 1, status: 'pending' });
      await probe.frame(1);
      server.closeAll();
      return observeClose(probe);
    },
    expected: { frames: [update(1, 'pending')], close: { code: 1000, reason: '' } },
  },
  {
    name: 'refuses a bad token with a JSON error frame, then close 1008',
    options: { tokens: TOKENS },
    run: ({ connect }) => observeClose(connect(2, 'wrong')),
    expected: {
      frames: [
        {
          type: 'error',
          code: 'auth_failed',
          message: 'Authentication failed: invalid or expired token',
        },
      ],
      close: { code: 1008, reason: 'auth_failed' },
    },
  },
  {
    name: 'refuses a bad token in plain text, then Starlette close 1000',
    options: { tokens: TOKENS, errorFormat: 'text', errorCloseCode: 1000 },
    run: ({ connect }) => observeClose(connect(2, 'wrong')),
    expected: {
      frames: ['Authentication failed: invalid or expired token'],
      close: { code: 1000, reason: 'auth_failed' },
    },
  },
  {
    name: "refuses a bad token in FastAPI's detail style, then close 1008",
    options: { tokens: TOKENS, errorFormat: 'detail' },
    run: ({ connect }) => observeClose(connect(2, 'wrong')),
    expected: {
      frames: [{ detail: 'Authentication failed: invalid or expired token' }],
      close: { code: 1008, reason: 'auth_failed' },
    },
  },
  {
    name: "refuses a token for another user's path",
    options: { tokens: TOKENS },
    run: ({ connect }) => observeClose(connect(3, 't2')),
    expected: {
      frames: [
        {
          type: 'error',
          code: 'forbidden',
          message: 'Forbidden: the token does not grant access to user 3',
        },
      ],
      close: { code: 1008, reason: 'forbidden' },
    },
  },
  {
    name: 'refuses a connection without a token',
    options: { tokens: TOKENS },
    run: ({ connect }) => observeClose(connect(2)),
    expected: {
      frames: [
        { type: 'error', code: 'auth_failed', message: 'Authentication failed: missing token' },
      ],
      close: { code: 1008, reason: 'auth_failed' },
    },
  },
  {
    name: 'matches a percent-encoded user id against the decoded one',
    options: { tokens: TOKENS },
    async run({ server, connect }) {
      const probe = connect('John Doe', 'tj');
      await probe.frame(1);
      server.closeAll();
      return { ...(await observeClose(probe)), userId: server.connections[0]?.userId };
    },
    expected: {
      frames: [{ type: 'connected', user_id: 'John Doe' }],
      close: { code: 1000, reason: '' },
      userId: 'John Doe',
    },
  },
  {
    name: 'answers JSON and plain-text pings and records what the client sent',
    options: { tokens: TOKENS },
    async run({ server, connect }) {
      const probe = connect(2, 't2');
      await probe.frame(1);
      probe.send('{"type":"ping"}');
      probe.send('ping');
      probe.send('{"type":"pong"}');
      await probe.frame(3);
      const received = server.clients[0]?.received;
      server.closeAll();
      return { ...(await observeClose(probe)), received };
    },
    expected: {
      frames: [{ type: 'connected', user_id: 2 }, { type: 'pong' }, 'pong'],
      close: { code: 1000, reason: '' },
      received: ['{"type":"ping"}', 'ping', '{"type":"pong"}'],
    },
  },
  {
    name: 'sends its own pings in the chosen format',
    options: { tokens: TOKENS, heartbeat: { intervalMs: 15, format: 'text' } },
    async run({ server, connect }) {
      const probe = connect(2, 't2');
      await probe.frame(3);
      server.closeAll();
      const { frames, close } = await observeClose(probe);
      return { frames: frames.slice(0, 3), close };
    },
    expected: {
      frames: [{ type: 'connected', user_id: 2 }, 'ping', 'ping'],
      close: { code: 1000, reason: '' },
    },
  },
  {
    name: 'keeps a silenced connection open but quiet, until closeAll',
    options: { tokens: TOKENS, heartbeat: { intervalMs: 10 } },
    async run({ server, connect }) {
      const quiet = connect(2, 't2');
      await quiet.frame(1);
      server.silence();
      // A later connection is not silenced: its pings are the clock of this scenario.
      const clock = connect(2, 't2');
      const pings = () => clock.frames.filter((frame) => frame === '{"type":"ping"}').length;
      await vi.waitFor(() => expect(pings()).toBeGreaterThanOrEqual(2));
      const before = quiet.frames.length;
      quiet.send('{"type":"ping"}');
      server.pushUpdate(2, { taskId: 1, status: 'running' });
      server.sendRaw(2, 'hello');
      const seen = pings();
      await vi.waitFor(() => {
        expect(clock.frames).toContain('hello');
        expect(pings()).toBeGreaterThanOrEqual(seen + 2);
        expect(server.clients[0]?.received).toEqual(['{"type":"ping"}']);
      });
      const after = quiet.frames.slice(before);
      server.closeAll(4000, 'later');
      return {
        after,
        silenced: server.connections.map((connection) => connection.silenced),
        closes: await Promise.all([quiet.closed, clock.closed]),
      };
    },
    expected: {
      after: [],
      silenced: [true, false],
      closes: [
        { code: 4000, reason: 'later' },
        { code: 4000, reason: 'later' },
      ],
    },
  },
  {
    name: 'refuses the next connection after rejectNextAuth, then accepts again',
    options: { tokens: TOKENS },
    async run({ server, connect }) {
      server.rejectNextAuth({ code: 'token_expired', message: 'Token expired', closeCode: 4001 });
      const first = await observeClose(connect(2, 't2'));
      const second = connect(2, 't2');
      await second.frame(1);
      server.closeAll();
      return { first, second: await observeClose(second) };
    },
    expected: {
      first: {
        frames: [{ type: 'error', code: 'token_expired', message: 'Token expired' }],
        close: { code: 4001, reason: 'token_expired' },
      },
      second: { frames: [{ type: 'connected', user_id: 2 }], close: { code: 1000, reason: '' } },
    },
  },
  {
    name: 'cuts a long refusal code to 123 bytes in the close reason, keeping it whole in the frame',
    options: { tokens: (token) => (token === 'long' ? { code: `verifier:${'€'.repeat(40)}` } : 2) },
    async run({ server, connect }) {
      server.rejectNextAuth(`token_expired:${'é'.repeat(60)}`);
      return [await observeClose(connect(2, 't2')), await observeClose(connect(2, 'long'))];
    },
    expected: [
      {
        frames: [
          {
            type: 'error',
            code: `token_expired:${'é'.repeat(60)}`,
            message: 'Authentication failed',
          },
        ],
        // 14 bytes, then 54 two-byte characters: a 55th would make 124.
        close: { code: 1008, reason: `token_expired:${'é'.repeat(54)}` },
      },
      {
        frames: [
          {
            type: 'error',
            code: `verifier:${'€'.repeat(40)}`,
            message: 'Authentication failed',
          },
        ],
        // 9 bytes, then 38 three-byte characters: 123 bytes.
        close: { code: 1008, reason: `verifier:${'€'.repeat(38)}` },
      },
    ],
  },
  {
    name: 'refuses a token as its verifier says, with the code, message and close code it returns',
    options: {
      tokens: (token) =>
        token === 'stale'
          ? { code: 'token_expired', message: 'Token has expired', closeCode: 4001 }
          : token === 'odd'
            ? { message: 'Signature mismatch' }
            : token === 'bad-close'
              ? { closeCode: 999 }
              : 2,
      errorCloseCode: 1000,
    },
    async run({ connect }) {
      return Promise.all(['stale', 'odd', 'bad-close'].map((t) => observeClose(connect(2, t))));
    },
    expected: [
      {
        frames: [{ type: 'error', code: 'token_expired', message: 'Token has expired' }],
        close: { code: 4001, reason: 'token_expired' },
      },
      // The server's defaults fill in what the verifier leaves out.
      {
        frames: [{ type: 'error', code: 'auth_failed', message: 'Signature mismatch' }],
        close: { code: 1000, reason: 'auth_failed' },
      },
      // A close code no server may send is the verifier's error, as if it had thrown.
      {
        frames: [
          {
            type: 'error',
            code: 'internal_error',
            message: expect.stringMatching(
              /^Token verification failed: .*closeCode of a rejection from tokens\(\).* got 999$/,
            ),
          },
        ],
        close: { code: 1011, reason: 'internal_error' },
      },
    ],
  },
  {
    name: 'sends a snapshot of the task table on connect with snapshotOnConnect',
    options: { tokens: TOKENS, snapshotOnConnect: true },
    async run({ server, connect }) {
      server.pushUpdate(2, { taskId: 7, status: 'running', progress: 30 });
      server.pushUpdate(2, { taskId: 8, status: 'pending' });
      server.pushUpdate(2, { taskId: 7, status: 'running', progress: 60 });
      server.pushUpdate(3, { taskId: 9, status: 'pending' });
      const probe = connect(2, 't2');
      await probe.frame(3);
      server.closeAll();
      return observeClose(probe);
    },
    expected: {
      frames: [
        { type: 'connected', user_id: 2 },
        update(7, 'running', { progress: 60 }),
        update(8, 'pending'),
      ],
      close: { code: 1000, reason: '' },
    },
  },
  {
    name: 'gives a TaskStatusClient camelCase updates with increasing timestamps',
    options: { tokens: TOKENS },
    async run({ server, client }) {
      const c = client({ token: 't2' });
      const tasks: TaskUpdate[] = [];
      c.on('task', (task) => tasks.push(task));
      await c.connect();
      for (const progress of [10, 20, 30]) {
        server.pushUpdate(2, { taskId: 5, status: 'running', progress });
      }
      server.completeTask(2, 5, 'ok');
      await vi.waitFor(() => expect(tasks).toHaveLength(4));
      const times = tasks.map((task) => Date.parse(task.updatedAt ?? ''));
      return {
        seen: tasks.map(({ taskId, status, progress, result }) => [
          taskId,
          status,
          progress,
          result,
        ]),
        increasing: times.every((time, index) => index === 0 || time > (times[index - 1] ?? 0)),
      };
    },
    expected: {
      seen: [
        [5, 'running', 10, null],
        [5, 'running', 20, null],
        [5, 'running', 30, null],
        [5, 'completed', 100, 'ok'],
      ],
      increasing: true,
    },
  },
  {
    name: "fails a TaskStatusClient's connect with AUTH_FAILED and the server's code",
    options: { tokens: TOKENS },
    async run({ client }) {
      const error = await client({ token: 'wrong' })
        .connect()
        .catch((e: TaskStatusError) => e);
      const { code, closeCode, serverCode } = error as TaskStatusError;
      return { code, closeCode, serverCode };
    },
    expected: { code: 'AUTH_FAILED', closeCode: 1008, serverCode: 'auth_failed' },
  },
  {
    name: "retries a TaskStatusClient's token function once after rejectNextAuth",
    options: { tokens: TOKENS },
    async run({ server, client }) {
      server.rejectNextAuth('token_expired');
      const reasons: string[] = [];
      const c = client({
        token: ({ reason }) => {
          reasons.push(reason);
          return 't2';
        },
      });
      await c.connect();
      return { reasons, states: server.connections.map((connection) => connection.state) };
    },
    expected: { reasons: ['connect', 'auth-retry'], states: ['rejected', 'open'] },
  },
  {
    name: 'sends bytes given to sendRaw as binary frames, which a TaskStatusClient reports',
    options: { tokens: TOKENS },
    async run({ server, client }) {
      const c = client({ token: 't2' });
      const errors: string[] = [];
      c.on('error', (error) => errors.push(`${error.code}: ${error.message}`));
      await c.connect();
      const bytes = new TextEncoder().encode('{"type":"ping"}');
      server.sendRaw(2, bytes);
      server.sendRaw(2, bytes.buffer);
      server.sendRaw(2, new DataView(bytes.buffer, 1, 4));
      await vi.waitFor(() => expect(errors).toHaveLength(3));
      return { errors, state: c.state };
    },
    expected: {
      errors: Array.from({ length: 3 }, () => expect.stringMatching(/^PROTOCOL_ERROR: .*binary/i)),
      state: 'open',
    },
  },
  {
    name: 'makes a silenced TaskStatusClient time out its heartbeat and reconnect',
    options: { tokens: TOKENS },
    async run({ server, client }) {
      const c = client({ token: 't2', heartbeat: { intervalMs: 20, timeoutMs: 30 } });
      const errors: string[] = [];
      c.on('error', (error) => errors.push(error.code));
      await c.connect();
      server.silence();
      await vi.waitFor(() => expect(server.connections).toHaveLength(2));
      await vi.waitFor(() => expect(c.state).toBe('open'));
      server.pushUpdate(2, { taskId: 1, status: 'running' });
      const task = await new Promise<TaskUpdate>((resolve) => c.once('task', resolve));
      return { errors, status: task.status, states: server.connections.map((x) => x.state) };
    },
    expected: { errors: ['HEARTBEAT_TIMEOUT'], status: 'running', states: ['closed', 'open'] },
  },
];

function probe(url: string): Probe {
  const socket = new globalThis.WebSocket(url);
  const frames: string[] = [];
  socket.onmessage = (event) => frames.push(String(event.data));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.onclose = (event) => resolve({ code: event.code, reason: event.reason });
  });
  return {
    frames,
    closed,
    send: (text) => socket.send(text),
    frame: (count) => vi.waitFor(() => expect(frames.length).toBeGreaterThanOrEqual(count)),
  };
}

const MOCK_BASE = 'http://tasks.test';
const msw = setupServer();
const clients: TaskStatusClient[] = [];

lendGlobalWebSocket();

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

type Transport = 'msw' | 'real';

async function start(
  transport: Transport,
  options: TaskServerOptions,
): Promise<{ server: TaskServerControls; baseUrl: string; stop(): Promise<void> }> {
  if (transport === 'real') {
    const server = await startTaskStatusServer(options);
    return { server, baseUrl: server.url, stop: () => server.close() };
  }
  const server = createMockTaskServer({ ...options, baseUrl: MOCK_BASE });
  msw.use(...server.handlers);
  return {
    server,
    baseUrl: MOCK_BASE,
    stop: async () => {
      server.reset();
      msw.resetHandlers();
    },
  };
}

describe.each<Transport>(['msw', 'real'])('the %s transport', (transport) => {
  beforeAll(() => {
    if (transport === 'msw') msw.listen({ onUnhandledRequest: 'error' });
  });

  afterAll(() => {
    if (transport === 'msw') msw.close();
  });

  it.each(scenarios)('$name', async ({ options = {}, run, expected }) => {
    const { server, baseUrl, stop } = await start(transport, options);
    try {
      const observed = await run({
        server,
        connect: (userId, token) =>
          probe(
            token === undefined
              ? buildTaskStatusUrl({ baseUrl, userId, token: 'x' }).replace(/\?token=x$/, '')
              : buildTaskStatusUrl({ baseUrl, userId, token }),
          ),
        client(overrides) {
          const created = new TaskStatusClient({
            baseUrl,
            userId: 2,
            token: 't2',
            heartbeat: false,
            authGraceMs: 5_000,
            reconnect: { initialDelayMs: 5, maxDelayMs: 10 },
            ...overrides,
          });
          clients.push(created);
          return created;
        },
      });
      expect(observed).toEqual(expected);
    } finally {
      await Promise.all(clients.splice(0).map((c) => c.close()));
      await stop();
    }
  });
});

describe.each<Transport>(['msw', 'real'])('the controls of the %s transport', (transport) => {
  const bad: [string, (server: TaskServerControls) => unknown, RegExp][] = [
    [
      'rejectNextAuth(null)',
      (s) => s.rejectNextAuth(null as never),
      /"rejectNextAuth\(rejection\)": must be a code or/,
    ],
    [
      'rejectNextAuth(4001)',
      (s) => s.rejectNextAuth(4001 as never),
      /"rejectNextAuth\(rejection\)".* got 4001$/,
    ],
    [
      'rejectNextAuth({ closecode: 4001 })',
      (s) => s.rejectNextAuth({ closecode: 4001 } as never),
      /"rejectNextAuth\(rejection\).closecode": is not a known key; known: code, message, closeCode$/,
    ],
    [
      'rejectNextAuth({ message: 42 })',
      (s) => s.rejectNextAuth({ message: 42 } as never),
      /"rejectNextAuth\(rejection\).message": must be a string, got 42$/,
    ],
    [
      'pushUpdate(2, null)',
      (s) => s.pushUpdate(2, null as never),
      /"pushUpdate\(update\)": must be an object/,
    ],
    [
      'pushUpdate with a number updatedAt',
      (s) => s.pushUpdate(2, { taskId: 1, status: 'running', updatedAt: 1714566600000 as never }),
      /"pushUpdate\(update\).updatedAt": must be an ISO-8601 string or a Date, got 1714566600000$/,
    ],
    [
      'pushUpdate with progress NaN',
      (s) => s.pushUpdate(2, { taskId: 1, status: 'running', progress: Number.NaN }),
      /"pushUpdate\(update\).progress": must be a finite number, got NaN$/,
    ],
    [
      'sendRaw(2, undefined)',
      (s) => s.sendRaw(2, undefined as never),
      /"sendRaw\(frame\)": .* got undefined$/,
    ],
    [
      'sendRaw(2, 1n)',
      (s) => s.sendRaw(2, 1n as never),
      /"sendRaw\(frame\)": not writable as JSON/,
    ],
    [
      'closeAll(1000, 42)',
      (s) => s.closeAll(1000, 42 as never),
      /"closeAll\(reason\)": must be a string, got 42$/,
    ],
  ];

  it.each(bad)(
    'refuses %s with INVALID_OPTIONS naming the argument',
    async (_name, call, message) => {
      const { server, stop } = await start(transport, {});
      try {
        let thrown: unknown;
        try {
          call(server);
        } catch (error) {
          thrown = error;
        }
        expect(isTaskStatusError(thrown, 'INVALID_OPTIONS')).toBe(true);
        expect((thrown as Error).message).toMatch(message);
        expect(server.tasks(2)).toEqual([]);
      } finally {
        await stop();
      }
    },
  );
});

describe('the public types', () => {
  it('give both transports the same controls', () => {
    expectTypeOf(createMockTaskServer).returns.toExtend<TaskServerControls>();
    expectTypeOf(startTaskStatusServer).returns.resolves.toExtend<TaskServerControls>();
    expectTypeOf<TaskServerControls['pushUpdate']>().returns.toEqualTypeOf<TaskUpdateFrame>();
    expectTypeOf<TaskUpdateInput['taskId']>().toEqualTypeOf<TaskId>();
    expectTypeOf<Parameters<typeof createMockTaskServer>[0]>().not.toHaveProperty('port');
    expect(typeof createMockTaskServer).toBe('function');
  });
});
