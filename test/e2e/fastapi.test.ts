/**
 * The client in Node against a real FastAPI backend on uvicorn (`fastapi/server.py`), with both of
 * uvicorn's WebSocket implementations: the route as nested routers register it, a JWT in the
 * query, accept-then-authenticate (and ack-then-authenticate), each common way of refusing, token
 * checks that fail as with a database down, a server too busy to accept in time, a token check
 * slower than `authGraceMs`, tokens that expire mid-session, heartbeats, and a server that dies
 * or shuts down and comes back.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  type AuthErrorInfo,
  TaskStatusClient,
  type TaskStatusClientOptions,
  type TaskStatusError,
  type TaskUpdate,
} from '../../src/index.js';
import { nextEvent, rejection } from '../helpers/events.js';
import {
  type Backend,
  type BackendOptions,
  killBackends,
  startBackend,
} from './fastapi/backend.js';

const clients: TaskStatusClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await killBackends();
});

/** A client of user 2, recording its errors and auth errors; closed after the test. */
function clientOf(
  backend: Backend,
  options: Omit<TaskStatusClientOptions, 'baseUrl' | 'userId'> & { baseUrl?: string },
) {
  const client = new TaskStatusClient({ baseUrl: backend.baseUrl, userId: 2, ...options });
  clients.push(client);
  const errors: TaskStatusError[] = [];
  const authErrors: AuthErrorInfo[] = [];
  client.on('error', (error) => errors.push(error));
  client.on('authError', (info) => authErrors.push(info));
  return { client, errors, authErrors };
}

/** Resolves with the first `count` task updates the client emits. */
function updates(client: TaskStatusClient, count: number): Promise<TaskUpdate[]> {
  const seen: TaskUpdate[] = [];
  return new Promise((resolve) => {
    const listener = (update: TaskUpdate) => {
      seen.push(update);
      if (seen.length < count) return;
      client.off('task', listener);
      resolve(seen);
    };
    client.on('task', listener);
  });
}

describe.each(['websockets', 'wsproto'] as const)('a FastAPI backend on uvicorn (%s)', (ws) => {
  const start = (options: BackendOptions = {}) => startBackend({ ws, ...options });

  it('streams typed task updates to a good token, under a base URL that names /api/v1', async () => {
    const backend = await start();
    const { client, errors } = clientOf(backend, {
      baseUrl: `${backend.baseUrl}/api/v1`,
      token: backend.tokens.good,
    });
    const first = updates(client, 6);
    const acked = nextEvent<[{ kind: string }]>(client, 'message');
    await client.connect();
    const received = await first;

    expect(client.state).toBe('open');
    expect(await acked).toEqual([{ kind: 'connected', frame: { type: 'connected', user_id: 2 } }]);
    for (const update of received) {
      expect(update).toMatchObject({
        taskId: expect.any(Number),
        status: expect.stringMatching(/^(running|completed)$/),
        progress: expect.any(Number),
        message: expect.stringMatching(/^step \d+$/),
        updatedAt: expect.stringMatching(/\+00:00$/),
      });
    }
    const completed = received.find((update) => update.status === 'completed');
    expect(completed?.result).toEqual({ url: expect.stringMatching(/^\/files\/\d+\.png$/) });
    expect([...client.tasks.keys()].sort()).toEqual([100, 101, 102]);
    expect(errors).toEqual([]);
  });

  it.each([
    ['json', 'an error frame, then the default close 1000', 1000, 'Invalid token'],
    ['text', 'plain text, then the default close 1000', 1000, 'Authentication failed'],
    ['detail-1008', '{"detail": …}, then close 1008', 1008, 'Could not validate credentials'],
    ['close-4001', 'close 4001 alone, with a reason', 4001, 'unauthorized'],
  ] as const)(
    'reads a refusal by %s (%s) as AUTH_FAILED, not retried',
    async (refuse, _how, closeCode, message) => {
      const backend = await start({ refuse });
      const { client, authErrors, errors } = clientOf(backend, { token: backend.tokens.expired });
      let reconnects = 0;
      client.on('reconnecting', () => reconnects++);

      const error = await rejection(client.connect());

      expect(error.code).toBe('AUTH_FAILED');
      expect(error.closeCode).toBe(closeCode);
      if (message !== null) expect(error.message).toContain(message);
      expect(authErrors).toEqual([
        { code: null, message, closeCode, httpStatus: undefined, willRetry: false },
      ]);
      expect(client.state).toBe('closed');
      expect(reconnects).toBe(0);
      // Whatever frame carried it, the refusal is the one error: no protocol error beside it.
      expect(errors.map((seen) => seen.code)).toEqual(['AUTH_FAILED']);
      for (const seen of [error, ...errors])
        expect(seen.message).not.toContain(backend.tokens.expired);
    },
  );

  it('reads a close before accept (HTTP 403 in Node) as AUTH_FAILED, not retried', async () => {
    const backend = await start({ refuse: 'before-accept' });
    const { client, authErrors } = clientOf(backend, { token: backend.tokens.otherUser });

    const error = await rejection(client.connect());

    expect(error).toMatchObject({ code: 'AUTH_FAILED', httpStatus: 403 });
    expect(authErrors).toEqual([
      { code: null, message: null, closeCode: undefined, httpStatus: 403, willRetry: false },
    ]);
    expect(error.message).not.toContain(backend.tokens.otherUser);
  });

  it('waits longer after each handshake timeout, until a busy server gets to the accept', async () => {
    const backend = await start({ acceptDelay: 1.5 });
    const { client, errors } = clientOf(backend, {
      token: backend.tokens.good,
      connectTimeoutMs: 500,
      reconnect: { initialDelayMs: 10, maxDelayMs: 20 },
    });

    await client.connect();

    // 500 ms, then 1 s: too short for the 1.5 s before the accept; then 2 s is long enough.
    expect(errors.map((error) => [error.code, error.message])).toEqual([
      ['HANDSHAKE_TIMEOUT', 'Timed out after 500 ms waiting for the opening handshake'],
      ['HANDSHAKE_TIMEOUT', 'Timed out after 1000 ms waiting for the opening handshake'],
    ]);
    expect(await updates(client, 1)).toHaveLength(1);
  });

  it('names the URL when FastAPI answers 403 to a route it does not have', async () => {
    const backend = await start();
    const { client } = clientOf(backend, {
      token: backend.tokens.good,
      path: '/api/v1/api/v1/ws/tasks/{userId}',
    });

    const error = await rejection(client.connect());

    expect(error).toMatchObject({ code: 'AUTH_FAILED', httpStatus: 403 });
    expect(error.message).toBe(
      'The server refused the token: HTTP 403 (or it has no WebSocket route for ' +
        `ws://127.0.0.1:${backend.port}/api/v1/api/v1/ws/tasks/2?token=***)`,
    );
  });

  it('takes a refusal that comes after authGraceMs of quiet as AUTH_FAILED', async () => {
    const backend = await start({ authDelay: 0.6 });
    const { client } = clientOf(backend, { token: backend.tokens.expired, authGraceMs: 200 });
    const closed = nextEvent<[{ willReconnect: boolean }]>(client, 'close');

    // The grace period ends first: the client opens, presuming the token good.
    await client.connect();
    const [error] = await nextEvent<[TaskStatusError]>(client, 'error');

    expect(error.code).toBe('AUTH_FAILED');
    expect(error.message).toContain('Invalid token');
    expect((await closed)[0].willReconnect).toBe(false);
    expect(client.state).toBe('closed');
  });

  it('has a refused token replaced through the token function', async () => {
    const backend = await start();
    const reasons: string[] = [];
    const { client, authErrors } = clientOf(backend, {
      token: ({ reason }) => {
        reasons.push(reason);
        return reasons.length === 1 ? backend.tokens.expired : backend.tokens.good;
      },
    });
    const first = updates(client, 1);

    await client.connect();
    await first;

    expect(reasons).toEqual(['connect', 'auth-retry']);
    expect(authErrors).toEqual([
      {
        code: null,
        message: 'Invalid token',
        closeCode: 1000,
        httpStatus: undefined,
        willRetry: true,
      },
    ]);
    expect(client.state).toBe('open');
  });

  it('has the token refreshed each time the server ends a session because it expired', async () => {
    const backend = await start({ expireSessions: true });
    const reasons: string[] = [];
    const { client, authErrors, errors } = clientOf(backend, {
      // As an app does: a refresh endpoint signs a new token, here one that lasts 0.8 s.
      token: async ({ reason, signal }) => {
        reasons.push(reason);
        const url = `${backend.baseUrl}/api/v1/auth/token?user_id=2&ttl=0.8`;
        const response = await fetch(url, { signal });
        return ((await response.json()) as { access_token: string }).access_token;
      },
      // Sessions shorter than this would count as failures, and a second refusal in a row would
      // be final; real sessions last as long as their token, minutes at least.
      reconnect: { stableAfterMs: 300 },
    });
    await client.connect();
    let opens = 0;
    // Two more sessions, or the end of the client, which the expectations below then show.
    await new Promise<void>((resolve) => {
      client.on('open', () => {
        if (++opens === 2) resolve();
      });
      client.on('state', (state) => {
        if (state === 'closed') resolve();
      });
    });

    expect(reasons).toEqual(['connect', 'auth-retry', 'auth-retry']);
    expect(authErrors).toEqual([
      {
        code: 'token_expired',
        message: 'Token has expired',
        closeCode: 1000,
        httpStatus: undefined,
        willRetry: true,
      },
      {
        code: 'token_expired',
        message: 'Token has expired',
        closeCode: 1000,
        httpStatus: undefined,
        willRetry: true,
      },
    ]);
    expect(errors.map((error) => error.code)).toEqual(['AUTH_FAILED', 'AUTH_FAILED']);
    expect(client.state).toBe('open');
    expect(await updates(client, 1)).toHaveLength(1);
  });

  it('measures heartbeat round trips against pongs from the server', async () => {
    const backend = await start();
    const { client, errors } = clientOf(backend, {
      token: backend.tokens.good,
      heartbeat: { intervalMs: 100, timeoutMs: 1_000 },
    });
    await client.connect();
    const [beat] = await nextEvent<[{ rttMs: number }]>(client, 'heartbeat');

    expect(beat.rttMs).toBeGreaterThanOrEqual(0);
    expect(beat.rttMs).toBeLessThan(1_000);
    expect(errors).toEqual([]);
  });

  it.each([
    ['the default ping', 'HEARTBEAT_TIMEOUT', undefined],
    ["heartbeat.message 'ping'", 'none', 'ping'],
  ] as const)(
    'with %s, against an idle server that answers only a plain-text ping: error %s',
    async (_with, dropped, message) => {
      const backend = await start({ quiet: true, pings: 'text' });
      const { client, errors } = clientOf(backend, {
        token: backend.tokens.good,
        heartbeat: { intervalMs: 100, timeoutMs: 300, ...(message ? { message } : {}) },
      });
      await client.connect();
      // Three round trips, or the first error: the client drops the link 300 ms after a ping that
      // the server ignores.
      let beats = 0;
      await new Promise<void>((resolve) => {
        client.on('heartbeat', () => {
          if (++beats === 3) resolve();
        });
        client.on('error', () => resolve());
      });

      expect(errors[0]?.code ?? 'none').toBe(dropped);
      expect(beats).toBe(dropped === 'none' ? 3 : 0);
    },
  );

  it.each(['killed', 'shut down'] as const)(
    'reconnects to a server that was %s and started again on its port',
    async (how) => {
      let backend = await start();
      const { client } = clientOf(backend, {
        token: backend.tokens.good,
        reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
      });
      await client.connect();
      await updates(client, 1);
      const dropped = nextEvent<[{ code: number; willReconnect: boolean }]>(client, 'close');

      if (how === 'killed') await backend.kill();
      else await backend.stop();
      const [close] = await dropped;
      const reopened = nextEvent<[{ reconnected: boolean }]>(client, 'open');
      backend = await start({ port: backend.port });
      const [open] = await reopened;
      await updates(client, 1);

      // Killed, the socket drops (1006). Shut down, uvicorn closes it with 1012 ("service
      // restart"), except that Debian 12's uvicorn (0.17) drops it under `websockets`.
      const codes = how === 'killed' ? [1006] : ws === 'wsproto' ? [1012] : [1006, 1012];
      expect(codes).toContain(close.code);
      expect(close.willReconnect).toBe(true);
      expect(open.reconnected).toBe(true);
      expect(client.state).toBe('open');
    },
  );

  it('stops at the refusal of a server that acks first and checks the token after', async () => {
    // `{"type":"error","message":"Invalid token"}` with no code, after the ack, then close 1000.
    const backend = await start({ ackFirst: true });
    const { client, authErrors } = clientOf(backend, { token: backend.tokens.expired });
    const closed = nextEvent<[{ code: number; willReconnect: boolean }]>(client, 'close');
    const refused = new Promise<TaskStatusError>((resolve) =>
      client.on('error', (error) => error.code === 'AUTH_FAILED' && resolve(error)),
    );

    await client.connect();
    const error = await refused;

    expect(error).toMatchObject({ serverMessage: 'Invalid token', closeCode: 1000 });
    expect(authErrors).toMatchObject([{ code: null, message: 'Invalid token', willRetry: false }]);
    expect((await closed)[0]).toMatchObject({ code: 1000, willReconnect: false });
    expect(client.state).toBe('closed');
  });

  it('reconnects, with the same token, after token checks that fail with 1013', async () => {
    // A database down while the token is checked: an error frame on that, then close 1013.
    const backend = await start({ failChecks: 2 });
    const { client, errors, authErrors } = clientOf(backend, {
      token: backend.tokens.good,
      reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
    });
    const first = updates(client, 1);

    await client.connect();
    await first;

    const health = await fetch(`${backend.baseUrl}/health`);
    expect(await health.json()).toMatchObject({ failed_checks: 2 });
    expect(authErrors).toEqual([]);
    expect(errors.map((error) => error.code)).toEqual([
      'SERVER_ERROR',
      'CONNECTION_LOST',
      'SERVER_ERROR',
      'CONNECTION_LOST',
    ]);
    expect(errors[0]?.message).toBe('Server error: Database unavailable');
    expect(client.state).toBe('open');
  });

  it('reconnects to a server that greets in text and shuts down before the verdict', async () => {
    let backend = await start({ greet: true, quiet: true });
    const { client, errors, authErrors } = clientOf(backend, {
      token: backend.tokens.good,
      authGraceMs: 2_000,
      // Never connected yet: without this, the default of 6 initial attempts may run out while
      // uvicorn starts again.
      reconnect: {
        initialDelayMs: 50,
        maxDelayMs: 200,
        maxInitialAttempts: Number.POSITIVE_INFINITY,
      },
    });
    const texts: string[] = [];
    client.on('message', (frame) => frame.kind === 'text' && texts.push(frame.text));
    const connecting = client.connect();
    const greeted = async () => {
      const health = await fetch(`${backend.baseUrl}/health`);
      return ((await health.json()) as { greeted: number }).greeted;
    };
    // The greeting is out and no verdict yet: within authGraceMs, uvicorn shuts down.
    await expect.poll(greeted, { interval: 20 }).toBe(1);
    const dropped = nextEvent<[{ code: number; willReconnect: boolean }]>(client, 'close');
    await backend.stop();
    const [close] = await dropped;
    backend = await start({ greet: true, quiet: true, port: backend.port });
    await connecting;

    // Closed with 1012, or dropped (Debian 12's uvicorn under `websockets`): no refusal.
    expect(ws === 'wsproto' ? [1012] : [1006, 1012]).toContain(close.code);
    expect(close.willReconnect).toBe(true);
    expect(authErrors).toEqual([]);
    expect(errors.map((error) => error.code)).not.toContain('AUTH_FAILED');
    expect(texts[0]).toBe('Welcome to the task stream');
    expect(client.state).toBe('open');
  });
});
