import { type WebSocketHandlerConnection, ws } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type AuthErrorInfo,
  type CloseEventInfo,
  type OpenInfo,
  type ReconnectingInfo,
  TaskStatusClient,
  type TaskStatusClientOptions,
  type TaskStatusError,
  type TaskUpdate,
  type TokenContext,
} from '../src/index.js';
import { nextEvent, record, rejection } from './helpers/events.js';
import { lendGlobalWebSocket } from './helpers/msw.js';

type MockClient = WebSocketHandlerConnection['client'];

/** What the mock saw, one entry per connection, in order. */
interface MockLog {
  readonly connections: MockClient[];
  readonly tokens: (string | null)[];
  /** Frames each connection received from the client. */
  readonly received: string[][];
  /** Whether each connection has been closed (by either side). */
  readonly closed: boolean[];
}

const api = ws.link('ws://tasks.test/api/v1/ws/tasks/:userId');
const server = setupServer();
const clients: TaskStatusClient[] = [];

lendGlobalWebSocket();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  server.resetHandlers();
});

afterAll(() => server.close());

function client(options: Partial<TaskStatusClientOptions> = {}) {
  const created = new TaskStatusClient({
    baseUrl: 'http://tasks.test',
    userId: 2,
    token: 'tok',
    heartbeat: false,
    authGraceMs: 60_000,
    reconnect: { initialDelayMs: 0, maxDelayMs: 0 },
    ...options,
  });
  clients.push(created);
  return created;
}

/** Scripts the mock server: `script` runs for each connection with its index (0 for the first). */
function mock(script: (client: MockClient, index: number) => void): MockLog {
  const log: MockLog = { connections: [], tokens: [], received: [], closed: [] };
  server.use(
    api.addEventListener('connection', ({ client }) => {
      const index = log.connections.push(client) - 1;
      log.tokens.push(client.url.searchParams.get('token'));
      const frames: string[] = [];
      log.received.push(frames);
      log.closed.push(false);
      client.addEventListener('message', (event) => frames.push(String(event.data)));
      client.addEventListener('close', () => {
        log.closed[index] = true;
      });
      script(client, index);
    }),
  );
  return log;
}

/**
 * Refuses the token the way the backend does: accept, send the error, then close. The close is
 * deferred because msw cancels the client's `open` (and drops the queued frame) when the
 * connection listener closes synchronously.
 */
function refuse(mockClient: MockClient, frame: string | undefined, code?: number, reason?: string) {
  if (frame !== undefined) mockClient.send(frame);
  setTimeout(() => mockClient.close(code, reason), 0);
}

const ack = (mockClient: MockClient) => mockClient.send('{"type":"connected","user_id":2}');

function update(taskId: number, status: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ type: 'task_update', task_id: taskId, status, ...extra });
}

describe('connect against msw', () => {
  it('resolves on a connected ack and puts the token in the query', async () => {
    const log = mock(ack);
    const c = client();
    const events = record(c, ['state', 'open']);
    await c.connect();
    expect(c.state).toBe('open');
    expect(log.connections[0]?.url.pathname).toBe('/api/v1/ws/tasks/2');
    expect(log.tokens).toEqual(['tok']);
    expect(events).toEqual([
      ['state', 'connecting'],
      ['state', 'open'],
      ['open', { url: 'ws://tasks.test/api/v1/ws/tasks/2?token=***', reconnected: false }],
    ]);
  });

  it('resolves after authGraceMs of quiet when the server sends no ack', async () => {
    const log = mock(() => {});
    const c = client({ authGraceMs: 50 });
    const messages = record(c, ['message']);
    const started = Date.now();
    await c.connect();
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(c.state).toBe('open');
    expect(messages).toEqual([]);
    expect(log.connections).toHaveLength(1);
  });
});

describe('auth verdict against msw', () => {
  function watch(c: TaskStatusClient) {
    const authErrors: AuthErrorInfo[] = [];
    const reconnecting: ReconnectingInfo[] = [];
    c.on('authError', (info) => authErrors.push(info));
    c.on('reconnecting', (info) => reconnecting.push(info));
    return { authErrors, reconnecting };
  }

  it('treats a JSON error frame then close 1008 as a final auth failure with a static token', async () => {
    const log = mock((mockClient) =>
      refuse(
        mockClient,
        '{"type":"error","code":"auth_failed","message":"Invalid token"}',
        1008,
        'auth_failed',
      ),
    );
    const c = client();
    const { authErrors, reconnecting } = watch(c);
    const error = await rejection(c.connect());
    expect(error).toMatchObject({
      code: 'AUTH_FAILED',
      serverCode: 'auth_failed',
      serverMessage: 'Invalid token',
      closeCode: 1008,
      closeReason: 'auth_failed',
    });
    expect(authErrors).toEqual([
      {
        code: 'auth_failed',
        message: 'Invalid token',
        closeCode: 1008,
        httpStatus: undefined,
        willRetry: false,
      },
    ]);
    expect(c.state).toBe('closed');
    expect(reconnecting).toEqual([]);
    expect(log.connections).toHaveLength(1);
  });

  it("treats a plain-text error frame then Starlette's default close 1000 as an auth failure", async () => {
    const log = mock((mockClient) => refuse(mockClient, 'Authentication failed: token expired'));
    const c = client();
    const { authErrors, reconnecting } = watch(c);
    await expect(c.connect()).rejects.toMatchObject({
      code: 'AUTH_FAILED',
      serverMessage: 'Authentication failed: token expired',
      closeCode: 1000,
    });
    expect(authErrors).toEqual([
      {
        code: null,
        message: 'Authentication failed: token expired',
        closeCode: 1000,
        httpStatus: undefined,
        willRetry: false,
      },
    ]);
    expect(c.state).toBe('closed');
    expect(reconnecting).toEqual([]);
    expect(log.connections).toHaveLength(1);
  });

  it.each([1008, 4401])(
    'treats a bare close %i before the verdict as an auth failure',
    async (code) => {
      const log = mock((mockClient) => refuse(mockClient, undefined, code, 'nope'));
      const c = client();
      const { authErrors, reconnecting } = watch(c);
      await expect(c.connect()).rejects.toMatchObject({
        code: 'AUTH_FAILED',
        closeCode: code,
        closeReason: 'nope',
      });
      expect(authErrors).toEqual([
        { code: null, message: 'nope', closeCode: code, httpStatus: undefined, willRetry: false },
      ]);
      expect(c.state).toBe('closed');
      expect(reconnecting).toEqual([]);
      expect(log.connections).toHaveLength(1);
    },
  );

  it('asks the token function again once and connects when the fresh token is accepted', async () => {
    const log = mock((mockClient) => {
      if (mockClient.url.searchParams.get('token') === 'fresh') ack(mockClient);
      else refuse(mockClient, '{"type":"error","code":"token_expired","message":"expired"}', 1008);
    });
    const contexts: TokenContext[] = [];
    const c = client({
      token: (context) => {
        contexts.push(context);
        return contexts.length === 1 ? 'stale' : 'fresh';
      },
    });
    const { authErrors, reconnecting } = watch(c);
    await c.connect();
    expect(c.state).toBe('open');
    expect(contexts.map((context) => context.reason)).toEqual(['connect', 'auth-retry']);
    expect(contexts[1]?.error).toMatchObject({ code: 'AUTH_FAILED', serverCode: 'token_expired' });
    expect(log.tokens).toEqual(['stale', 'fresh']);
    expect(authErrors).toEqual([
      {
        code: 'token_expired',
        message: 'expired',
        closeCode: 1008,
        httpStatus: undefined,
        willRetry: true,
      },
    ]);
    expect(reconnecting).toEqual([]);
  });

  it('gives up after the fresh token is refused too: two connections, no loop', async () => {
    const log = mock((mockClient) =>
      refuse(mockClient, '{"type":"error","code":"auth_failed"}', 1008),
    );
    const reasons: string[] = [];
    const c = client({
      token: ({ reason }) => {
        reasons.push(reason);
        return `t${reasons.length}`;
      },
    });
    const { authErrors, reconnecting } = watch(c);
    await expect(c.connect()).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    expect(reasons).toEqual(['connect', 'auth-retry']);
    expect(authErrors.map((info) => info.willRetry)).toEqual([true, false]);
    expect(c.state).toBe('closed');
    expect(reconnecting).toEqual([]);
    expect(log.tokens).toEqual(['t1', 't2']);
  });
});

describe('heartbeat against msw', () => {
  it('drops a connection whose server went silent and reconnects', async () => {
    const log = mock((mockClient, index) => {
      ack(mockClient);
      if (index === 0) return; // then silence: pings go unanswered
      mockClient.addEventListener('message', (event) => {
        if (event.data === '{"type":"ping"}') mockClient.send('{"type":"pong"}');
      });
    });
    const c = client({ heartbeat: { intervalMs: 30, timeoutMs: 30 } });
    const timedOut = new Promise<TaskStatusError>((resolve) =>
      c.on('error', (error) => error.code === 'HEARTBEAT_TIMEOUT' && resolve(error)),
    );
    const closed = nextEvent<[CloseEventInfo]>(c, 'close');
    const reopened = new Promise<OpenInfo>((resolve) =>
      c.on('open', (info) => info.reconnected && resolve(info)),
    );
    await c.connect();
    await timedOut;
    expect((await closed)[0]).toMatchObject({ code: 1006, willReconnect: true });
    expect(log.received[0]).toContain('{"type":"ping"}');
    await expect.poll(() => log.closed[0]).toBe(true);
    await reopened;
    expect(log.connections).toHaveLength(2);
    const [beat] = await nextEvent<[{ rttMs: number }]>(c, 'heartbeat');
    expect(beat.rttMs).toBeGreaterThanOrEqual(0);
  });

  it('reports the error a quiet server answers a ping with, and reconnects after its close', async () => {
    const log = mock((mockClient, index) => {
      if (index > 0) return;
      mockClient.addEventListener('message', () =>
        mockClient.send('{"type":"error","message":"Unsupported message"}'),
      );
    });
    const c = client({ authGraceMs: 10, heartbeat: { intervalMs: 30, timeoutMs: 20 } });
    const serverError = new Promise<TaskStatusError>((resolve) =>
      c.on('error', (error) => error.code === 'SERVER_ERROR' && resolve(error)),
    );
    const errors = record(c, ['error']);
    await c.connect();
    expect(await serverError).toMatchObject({ serverMessage: 'Unsupported message' });
    log.connections[0]?.close(1000);
    await expect.poll(() => log.connections).toHaveLength(2);
    expect(errors.map(([, error]) => (error as TaskStatusError).code)).not.toContain('AUTH_FAILED');
  });

  it('answers JSON and plain-text server pings in kind', async () => {
    const log = mock((mockClient) => {
      ack(mockClient);
      mockClient.send('{"type":"ping"}');
      mockClient.send('ping');
    });
    const c = client();
    const messages = record(c, ['message']);
    await c.connect();
    await expect.poll(() => log.received[0]).toEqual(['{"type":"pong"}', 'pong']);
    expect(messages.map(([, frame]) => frame)).toEqual([
      { kind: 'connected', frame: { type: 'connected', user_id: 2 } },
      { kind: 'ping', format: 'json' },
      { kind: 'ping', format: 'text' },
    ]);
  });
});

describe('reconnect policy against msw', () => {
  it('lets shouldReconnect veto the reconnect after a server close 1001', async () => {
    const log = mock((mockClient) => {
      ack(mockClient);
      setTimeout(() => mockClient.close(1001, 'going away'), 0);
    });
    const seen: number[] = [];
    const c = client({
      shouldReconnect: (info) => {
        seen.push(info.code);
        return false;
      },
    });
    const closed = nextEvent<[CloseEventInfo]>(c, 'close');
    await c.connect();
    expect((await closed)[0]).toMatchObject({ code: 1001, willReconnect: false });
    expect(seen).toEqual([1001]);
    expect(c.state).toBe('closed');
    expect(log.connections).toHaveLength(1);
  });

  it('lets shouldReconnect retry an auth close code without an authError', async () => {
    const log = mock((mockClient, index) => {
      if (index === 0) refuse(mockClient, undefined, 4401, 'custom');
      else ack(mockClient);
    });
    const errorCodes: string[] = [];
    const c = client({
      shouldReconnect: (info) => {
        errorCodes.push(info.error.code);
        return info.code === 4401;
      },
    });
    const authErrors = record(c, ['authError']);
    await c.connect();
    expect(c.state).toBe('open');
    expect(errorCodes).toEqual(['AUTH_FAILED']);
    expect(authErrors).toEqual([]);
    expect(log.connections).toHaveLength(2);
  });
});

describe('task updates against msw', () => {
  it('delivers task updates as task events in the order sent', async () => {
    mock((mockClient) => {
      ack(mockClient);
      mockClient.send(update(1, 'pending'));
      mockClient.send(update(1, 'running', { progress: 50, message: 'half way' }));
      mockClient.send(update(2, 'pending'));
      mockClient.send(update(1, 'completed', { progress: 100, result: { url: '/r/1' } }));
      mockClient.send(update(2, 'failed', { error: 'boom', updated_at: '2024-05-01T12:30:00Z' }));
    });
    const c = client();
    const updates: TaskUpdate[] = [];
    c.on('task', (u) => updates.push(u));
    await c.connect();
    await expect.poll(() => updates.length).toBe(5);
    expect(updates.map((u) => [u.taskId, u.status, u.progress])).toEqual([
      [1, 'pending', null],
      [1, 'running', 50],
      [2, 'pending', null],
      [1, 'completed', 100],
      [2, 'failed', null],
    ]);
    expect(updates[1]?.message).toBe('half way');
    expect(updates[3]?.result).toEqual({ url: '/r/1' });
    expect(updates[4]).toMatchObject({ error: 'boom', updatedAt: '2024-05-01T12:30:00Z' });
  });
});
