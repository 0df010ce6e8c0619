import { describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import {
  type AuthErrorInfo,
  isTaskStatusError,
  type TaskStatusClient,
  type TaskStatusError,
} from '../src/index.js';
import { rejection } from './helpers/events.js';
import { setupWsHarness } from './helpers/harness.js';

const SECRET = 'sekr3t-T0KEN+/=';
const harness = setupWsHarness({
  token: SECRET,
  heartbeat: false,
  authGraceMs: 60_000,
  reconnect: { initialDelayMs: 10, maxDelayMs: 20 },
});
const client = harness.client;

/** A FastAPI server of this kind: accept, check the token, on failure send an error frame, then close. */
function authServer(
  valid: (token: string | null) => boolean,
  reject: (ws: import('ws').WebSocket) => void,
) {
  harness.server.onSocket = (ws, request) => {
    const token = new URL(request.url ?? '', 'http://x').searchParams.get('token');
    if (valid(token)) ws.send(JSON.stringify({ type: 'connected', user_id: 2 }));
    else reject(ws);
  };
}

/** A server that acks every connection, then refuses its token (an ack sent before the check). */
function ackThenRefuse(closeCode: number) {
  harness.server.onSocket = (ws) => {
    ws.send(JSON.stringify({ type: 'connected', user_id: 2 }));
    ws.send(JSON.stringify({ type: 'error', code: 'token_expired', message: 'expired' }));
    ws.close(closeCode);
  };
}

function collect(c: TaskStatusClient) {
  const authErrors: AuthErrorInfo[] = [];
  const errors: TaskStatusError[] = [];
  c.on('authError', (info) => authErrors.push(info));
  c.on('error', (error) => errors.push(error));
  return { authErrors, errors };
}

describe('auth verdict after accept', () => {
  it('treats a JSON error frame then close 1008 as a final auth failure with a static token', async () => {
    authServer(
      () => false,
      (ws) => {
        ws.send(JSON.stringify({ type: 'error', code: 'auth_failed', message: 'Invalid token' }));
        ws.close(1008, 'auth_failed');
      },
    );
    const c = client();
    const { authErrors } = collect(c);
    const error = await rejection(c.connect());
    expect(isTaskStatusError(error, 'AUTH_FAILED')).toBe(true);
    expect(error).toMatchObject({
      serverCode: 'auth_failed',
      serverMessage: 'Invalid token',
      closeCode: 1008,
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
    expect(harness.server.sockets).toHaveLength(1);
  });

  it('treats a plain-text error frame then Starlette default close 1000 as an auth failure', async () => {
    authServer(
      () => false,
      (ws) => {
        ws.send('Authentication failed: token expired');
        ws.close(1000);
      },
    );
    const c = client();
    const { authErrors } = collect(c);
    await expect(c.connect()).rejects.toSatisfy((e) => isTaskStatusError(e, 'AUTH_FAILED'));
    expect(authErrors[0]).toMatchObject({
      code: null,
      message: 'Authentication failed: token expired',
      closeCode: 1000,
    });
    expect(harness.server.sockets).toHaveLength(1);
  });

  it('reads an error frame encoded twice (send_json(json.dumps(…))) as the error it holds', async () => {
    const frame = JSON.stringify({ type: 'error', code: 'auth_failed', message: 'Invalid token' });
    authServer(
      () => false,
      (ws) => {
        ws.send(JSON.stringify(frame));
        ws.close(1000);
      },
    );
    const c = client();
    const { authErrors } = collect(c);
    const error = await rejection(c.connect());
    expect(error).toMatchObject({ code: 'AUTH_FAILED', serverCode: 'auth_failed' });
    expect(authErrors).toMatchObject([{ code: 'auth_failed', message: 'Invalid token' }]);
    expect(harness.server.sockets).toHaveLength(1);
  });

  it.each([1008, 4001, 4003, 4401, 4403])(
    'treats a bare close %i before the verdict as an auth failure',
    async (code) => {
      authServer(
        () => false,
        (ws) => ws.close(code, 'nope'),
      );
      const c = client();
      const { authErrors } = collect(c);
      await expect(c.connect()).rejects.toMatchObject({ code: 'AUTH_FAILED', closeCode: code });
      expect(authErrors).toEqual([
        { code: null, message: 'nope', closeCode: code, httpStatus: undefined, willRetry: false },
      ]);
      expect(harness.server.sockets).toHaveLength(1);
    },
  );

  it('gives a bare close with no reason a null message', async () => {
    authServer(
      () => false,
      (ws) => ws.close(1008),
    );
    const c = client();
    const { authErrors } = collect(c);
    await expect(c.connect()).rejects.toMatchObject({ code: 'AUTH_FAILED', closeCode: 1008 });
    expect(authErrors).toMatchObject([{ code: null, message: null, closeCode: 1008 }]);
  });

  it('refreshes the token once and reaches open when the first token had expired', async () => {
    authServer(
      (token) => token === 'fresh',
      (ws) => {
        ws.send(JSON.stringify({ type: 'error', code: 'token_expired', message: 'expired' }));
        ws.close(1008);
      },
    );
    const calls: string[] = [];
    const c = client({
      token: ({ reason, attempt }) => {
        calls.push(`${reason} ${attempt}`);
        return calls.length === 1 ? 'stale' : 'fresh';
      },
    });
    const { authErrors } = collect(c);
    await c.connect();
    expect(c.state).toBe('open');
    // A refused token is not a failed attempt that waits: the count stays as it was.
    expect(calls).toEqual(['connect 0', 'auth-retry 0']);
    expect(authErrors).toHaveLength(1);
    expect(authErrors[0]?.willRetry).toBe(true);
  });

  it('gives up after the refreshed token is refused too', async () => {
    authServer(
      () => false,
      (ws) => {
        ws.send(JSON.stringify({ type: 'error', code: 'auth_failed' }));
        ws.close(1000);
      },
    );
    let calls = 0;
    const c = client({ token: () => `t${++calls}` });
    await expect(c.connect()).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    expect(calls).toBe(2);
    expect(harness.server.sockets).toHaveLength(2);
    expect(c.state).toBe('closed');
  });

  it('refreshes a token only once against a server that refuses later than authGraceMs', async () => {
    // A slow token check: quiet past the grace period (so the token is presumed accepted), then
    // the refusal and Starlette's default close.
    harness.server.onSocket = (ws) =>
      setTimeout(() => {
        ws.send(JSON.stringify({ type: 'error', code: 'auth_failed', message: 'Invalid token' }));
        ws.close(1000);
      }, 60);
    const reasons: string[] = [];
    const c = client({
      authGraceMs: 10,
      token: ({ reason }) => {
        reasons.push(reason);
        return `t${reasons.length}`;
      },
    });
    const { authErrors } = collect(c);
    const failed = new Promise<TaskStatusError>((resolve) =>
      c.on('error', (e) => e.code === 'AUTH_FAILED' && authErrors.length === 2 && resolve(e)),
    );
    await c.connect();
    await failed;
    expect(c.state).toBe('closed');
    expect(reasons).toEqual(['connect', 'auth-retry']);
    expect(authErrors.map((info) => info.willRetry)).toEqual([true, false]);
    expect(harness.server.sockets).toHaveLength(2);
  });

  it('refreshes a token only once against a server that refuses later than stableAfterMs', async () => {
    // A token check slower than stableAfterMs, with the token presumed accepted as the socket
    // opens: the quiet before the refusal is no sign that the token works.
    harness.server.onSocket = (ws) =>
      setTimeout(() => {
        ws.send(JSON.stringify({ type: 'error', message: 'Invalid token' }));
        ws.close(1000);
      }, 80);
    const reasons: string[] = [];
    const c = client({
      authGraceMs: 0,
      reconnect: { initialDelayMs: 5, maxDelayMs: 10, stableAfterMs: 30 },
      token: ({ reason }) => {
        reasons.push(reason);
        return `t${reasons.length}`;
      },
    });
    const { authErrors } = collect(c);
    const failed = new Promise<TaskStatusError>((resolve) =>
      c.on('error', (e) => e.code === 'AUTH_FAILED' && !authErrors.at(-1)?.willRetry && resolve(e)),
    );
    await c.connect();
    await vi.waitFor(() => expect(c.state).toBe('closed'), { timeout: 2000 });
    await failed;
    expect(reasons).toEqual(['connect', 'auth-retry']);
    expect(authErrors.map((info) => info.willRetry)).toEqual([true, false]);
    expect(harness.server.sockets).toHaveLength(2);
  });

  it.each([
    { type: 'error', message: 'Invalid token' },
    { type: 'error', code: 'bad_request', message: 'Invalid token' },
  ])(
    'reads an error whose message speaks of the token, after an ack, as a refusal (%o)',
    async (frame) => {
      // A handler that acks first, then checks: `send_json({"type": "error", "message": …})`, then
      // Starlette's close 1000. Read as a drop, it would reconnect with the same token forever.
      harness.server.onSocket = (ws) => {
        ws.send(JSON.stringify({ type: 'connected', user_id: 2 }));
        ws.send(JSON.stringify(frame));
        ws.close(1000);
      };
      const c = client();
      const { authErrors } = collect(c);
      const failed = new Promise<TaskStatusError>((resolve) =>
        c.on('error', (e) => e.code === 'AUTH_FAILED' && resolve(e)),
      );
      await c.connect();
      expect(await failed).toMatchObject({ serverMessage: 'Invalid token', closeCode: 1000 });
      expect(authErrors).toMatchObject([{ message: 'Invalid token', willRetry: false }]);
      expect(c.state).toBe('closed');
      expect(harness.server.sockets).toHaveLength(1);
    },
  );

  it('keeps an error after an ack that does not speak of the token as an error, and reconnects', async () => {
    // "tokens" here are a model's, not the client's: not a refusal, whatever close follows.
    let sockets = 0;
    harness.server.onSocket = (ws) => {
      sockets += 1;
      ws.send(JSON.stringify({ type: 'connected', user_id: 2 }));
      if (sockets > 1) return;
      ws.send(JSON.stringify({ type: 'error', message: 'Request exceeds max 8192 tokens' }));
      ws.close(1000);
    };
    const c = client();
    const { authErrors, errors } = collect(c);
    await c.connect();
    await vi.waitFor(() => expect(sockets).toBe(2));
    await vi.waitFor(() => expect(c.state).toBe('open'));
    expect(authErrors).toEqual([]);
    expect(errors.map((error) => error.code)).toEqual(['SERVER_ERROR', 'CONNECTION_LOST']);
  });

  it('stops at a refusal with a server error close after a session, not retrying it forever', async () => {
    // The first session ends with a reload (1012); each later socket is refused by a handler
    // that sends the error and then raises (1011). The message names no credential.
    let sockets = 0;
    harness.server.onSocket = (ws) => {
      sockets += 1;
      if (sockets === 1) {
        ws.send(JSON.stringify({ type: 'connected', user_id: 2 }));
        setTimeout(() => ws.close(1012), 20);
        return;
      }
      ws.send(JSON.stringify({ type: 'error', message: 'User not found' }));
      ws.close(1011);
    };
    const c = client();
    const failed = new Promise<TaskStatusError>((resolve) =>
      c.on('error', (e) => e.code === 'AUTH_FAILED' && resolve(e)),
    );
    await c.connect();
    expect(await failed).toMatchObject({ serverMessage: 'User not found', closeCode: 1011 });
    expect(c.state).toBe('closed');
    expect(sockets).toBe(2);
  });

  it('stops after one refresh when the server acks before it checks the token', async () => {
    // Each connection is acked, then its token refused (an ack that comes before the check).
    // The ack is no proof that the refreshed token works: a second refusal is final.
    ackThenRefuse(1008);
    const reasons: string[] = [];
    const c = client({
      token: ({ reason }) => {
        reasons.push(reason);
        return `t${reasons.length}`;
      },
    });
    const { authErrors, errors } = collect(c);
    await c.connect();
    await expect.poll(() => c.state).toBe('closed');
    expect(harness.server.sockets.length).toBe(2);
    expect(reasons).toEqual(['connect', 'auth-retry']);
    expect(authErrors.map((info) => info.willRetry)).toEqual([true, false]);
    expect(errors.at(-1)?.code).toBe('AUTH_FAILED');
  });

  it.each([
    [
      'rejects',
      () => Promise.reject(new Error('refresh endpoint said 401')),
      'refresh endpoint said 401',
    ],
    ['returns an empty token', () => '', 'empty or non-string'],
    [
      'never settles',
      () => new Promise<string>(() => {}),
      'did not settle within connectTimeoutMs',
    ],
  ])(
    'ends with AUTH_FAILED when the token function keeps failing (%s) to replace a refused token',
    async (_, refresh, said) => {
      // A session is running when its token is refused; every refresh fails (a revoked session).
      harness.server.onSocket = (ws) => {
        ws.send(JSON.stringify({ type: 'connected', user_id: 2 }));
        setTimeout(() => {
          ws.send(JSON.stringify({ type: 'error', code: 'token_expired', message: 'expired' }));
          ws.close(1000);
        }, 20);
      };
      const reasons: string[] = [];
      const c = client({
        connectTimeoutMs: 200,
        token: ({ reason }) => {
          reasons.push(reason);
          return reasons.length === 1 ? 'good' : refresh();
        },
      });
      const { errors } = collect(c);
      await c.connect();
      // Seven token calls of up to connectTimeoutMs (200 ms) each, with backoff between them.
      await expect.poll(() => c.state, { timeout: 5_000 }).toBe('closed');
      // The refresh is retried with backoff, as a moment's failure of a refresh endpoint would
      // be, but only reconnect.maxInitialAttempts (6) times: the session is no longer proven.
      expect(reasons).toEqual(['connect', 'auth-retry', ...Array(6).fill('reconnect')]);
      expect(harness.server.sockets.length).toBe(1);
      expect(errors.filter((error) => error.code === 'TOKEN_ERROR')).toHaveLength(7);
      const last = errors.at(-1);
      expect(last?.code).toBe('AUTH_FAILED');
      expect(last?.message).toContain('the token function gave no new one');
      expect(last?.message).toContain(said);
      expect(last?.serverMessage).toBe('expired');
      expect((last?.cause as TaskStatusError | undefined)?.code).toBe('TOKEN_ERROR');
    },
  );

  it('waits out a refresh that fails for a moment, and reconnects with the token it then gives', async () => {
    let refused = false;
    harness.server.onSocket = (ws, request) => {
      const token = new URL(request.url ?? '', 'http://x').searchParams.get('token');
      ws.send(JSON.stringify({ type: 'connected', user_id: 2 }));
      if (token === 'old' && !refused) {
        refused = true;
        ws.send(JSON.stringify({ type: 'error', code: 'token_expired', message: 'expired' }));
        ws.close(1000);
      }
    };
    const reasons: string[] = [];
    const c = client({
      token: ({ reason }) => {
        reasons.push(reason);
        if (reason === 'connect') return 'old';
        // The refresh endpoint answers 503 twice, then gives a new token.
        if (reasons.length <= 3) throw new Error('refresh endpoint answered 503');
        return 'new';
      },
    });
    const { errors } = collect(c);
    const opened = new Promise<void>((resolve) => {
      c.on('open', ({ reconnected }) => reconnected && resolve());
    });
    await c.connect();
    await opened;
    expect(reasons).toEqual(['connect', 'auth-retry', 'reconnect', 'reconnect']);
    expect(errors.map((error) => error.code)).toEqual([
      'AUTH_FAILED',
      'TOKEN_ERROR',
      'TOKEN_ERROR',
    ]);
    expect(c.state).toBe('open');
  });

  it('ends with AUTH_FAILED when the refresh of a refused token only gives tokens that cannot go in a URL', async () => {
    harness.server.onSocket = (ws) => {
      ws.send(JSON.stringify({ type: 'error', code: 'token_expired', message: 'expired' }));
      ws.close(1000);
    };
    const reasons: string[] = [];
    const c = client({
      token: ({ reason }) => {
        reasons.push(reason);
        return reasons.length === 1 ? 'old' : 'bad-\uD800-secret';
      },
    });
    const { errors } = collect(c);
    const thrown = await rejection(c.connect());
    expect(thrown.code).toBe('AUTH_FAILED');
    expect(reasons).toEqual(['connect', 'auth-retry', ...Array(6).fill('reconnect')]);
    expect(errors.filter((error) => error.code === 'TOKEN_ERROR')).toHaveLength(7);
    expect(harness.server.sockets.length).toBe(1);
  });

  it('once the refresh gives a token, retries a server that is down as a connected client does', async () => {
    // Refused, the refresh fails once, then gives a token while the server is down: past
    // maxInitialAttempts, the client keeps trying, as it did before the refusal.
    ackThenRefuse(1000);
    const reasons: string[] = [];
    const c = client({
      token: ({ reason }) => {
        reasons.push(reason);
        if (reasons.length === 2) throw new Error('refresh endpoint answered 503');
        return reasons.length === 1 ? 'old' : 'new';
      },
    });
    const { errors } = collect(c);
    let downAfterRefusal: Promise<void> | undefined;
    c.once('authError', () => {
      downAfterRefusal = harness.server.close();
    });
    await c.connect();
    await expect
      .poll(() => errors.filter((error) => error.code === 'CONNECTION_ERROR').length, {
        timeout: 5_000,
      })
      .toBeGreaterThan(8);
    expect(c.state).toBe('reconnecting');
    await downAfterRefusal;
    harness.server.onSocket = (ws) => ws.send(JSON.stringify({ type: 'connected', user_id: 2 }));
    await harness.server.listen();
    await expect.poll(() => c.state, { timeout: 5_000 }).toBe('open');
  });

  it('reports a token the token function gives that cannot go in a URL as TOKEN_ERROR, and retries', async () => {
    authServer(
      (token) => token === 'good',
      (ws) => ws.close(1008),
    );
    const tokens = ['bad-\uD800-secret', 'good'];
    const c = client({ token: () => tokens.shift() ?? 'good' });
    const { errors } = collect(c);
    await c.connect();
    expect(errors.map((error) => error.code)).toEqual(['TOKEN_ERROR']);
    expect(errors[0]?.message).toContain('well-formed Unicode');
    expect(errors[0]?.message).not.toContain('secret');
    expect(harness.server.sockets.length).toBe(1);
  });

  it('restores the refresh after a connection stayed up for stableAfterMs, however it ended', async () => {
    // Socket 1: refused. Socket 2: quiet (accepted by authGraceMs), up past stableAfterMs, then
    // an ordinary close. Socket 3: refused again, which may refresh again. Socket 4: acked.
    harness.server.onSocket = (ws) => {
      const n = harness.server.sockets.length;
      if (n === 1 || n === 3) ws.close(4001);
      else if (n === 2) setTimeout(() => ws.close(1012), 150);
      else ws.send(JSON.stringify({ type: 'connected' }));
    };
    const reasons: string[] = [];
    const c = client({
      authGraceMs: 10,
      reconnect: { initialDelayMs: 5, maxDelayMs: 10, stableAfterMs: 100 },
      token: ({ reason }) => {
        reasons.push(reason);
        return `t${reasons.length}`;
      },
    });
    const { authErrors } = collect(c);
    await c.connect();
    await expect.poll(() => harness.server.sockets.length).toBe(4);
    await expect.poll(() => c.state).toBe('open');
    expect(reasons).toEqual(['connect', 'auth-retry', 'reconnect', 'auth-retry']);
    expect(authErrors.map((info) => info.willRetry)).toEqual([true, true]);
  });

  it('counts attempts from zero again after a connection stayed up for stableAfterMs, then was refused', async () => {
    // Socket 1: a drop before any verdict (one failure). Socket 2: acked, up past stableAfterMs,
    // then its token expires. The refresh of that token starts a new count.
    harness.server.onSocket = (ws) => {
      const n = harness.server.sockets.length;
      if (n === 1) ws.terminate();
      else if (n === 2) {
        ws.send(JSON.stringify({ type: 'connected' }));
        setTimeout(() => {
          ws.send(JSON.stringify({ type: 'error', code: 'token_expired', message: 'expired' }));
          ws.close(1008);
        }, 150);
      } else ws.send(JSON.stringify({ type: 'connected' }));
    };
    const calls: string[] = [];
    const c = client({
      reconnect: { initialDelayMs: 5, maxDelayMs: 10, stableAfterMs: 100 },
      token: ({ reason, attempt }) => {
        calls.push(`${reason} ${attempt}`);
        return `t${calls.length}`;
      },
    });
    await c.connect();
    await expect.poll(() => harness.server.sockets.length).toBe(3);
    await expect.poll(() => c.state).toBe('open');
    expect(calls).toEqual(['connect 0', 'reconnect 1', 'auth-retry 0']);
  });

  it('counts attempts from zero again after reconnect() replaced a connection up for stableAfterMs', async () => {
    // Socket 1: a drop before any verdict (one failure). Socket 2: acked and up past
    // stableAfterMs, then replaced by reconnect(). Sockets 3 and after: acked.
    harness.server.onSocket = (ws) => {
      if (harness.server.sockets.length === 1) ws.terminate();
      else ws.send(JSON.stringify({ type: 'connected' }));
    };
    const calls: string[] = [];
    const c = client({
      reconnect: { initialDelayMs: 5, maxDelayMs: 10, stableAfterMs: 50 },
      token: ({ reason, attempt }) => {
        calls.push(`${reason} ${attempt}`);
        return `t${calls.length}`;
      },
    });
    await c.connect();
    const stable = Date.now() + 60;
    await expect.poll(() => Date.now() >= stable).toBe(true);
    await c.reconnect();
    expect(calls).toEqual(['connect 0', 'reconnect 1', 'reconnect 0']);
  });

  it('does not refresh a refused token under reconnect: false', async () => {
    authServer(
      () => false,
      (ws) => {
        ws.send(JSON.stringify({ type: 'error', code: 'auth_failed', message: 'Invalid token' }));
        ws.close(1000);
      },
    );
    const reasons: string[] = [];
    const c = client({
      reconnect: false,
      token: ({ reason }) => {
        reasons.push(reason);
        return 'fresh';
      },
    });
    const { authErrors } = collect(c);
    await expect(c.connect()).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    expect(reasons).toEqual(['connect']);
    expect(authErrors.map((info) => info.willRetry)).toEqual([false]);
    expect(harness.server.sockets).toHaveLength(1);
  });

  it('treats an HTTP 401 upgrade refusal (visible through ws) as an auth failure, not a loop', async () => {
    harness.server.onUpgrade = (_request, socket) => {
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    };
    // Node 22+ has a global WebSocket that, like a browser, hides the status: use ws's.
    const c = client({ WebSocket: WebSocket });
    const { authErrors } = collect(c);
    await expect(c.connect()).rejects.toMatchObject({ code: 'AUTH_FAILED', httpStatus: 401 });
    expect(authErrors[0]).toMatchObject({ httpStatus: 401, willRetry: false });
    expect(harness.server.requests).toHaveLength(1);
  });

  it.each([
    [403, ' (or it has no WebSocket route for ws://127.0.0.1:PORT/api/v1/ws/tasks/2?token=***)'],
    [401, ''],
  ])(
    'names the URL on an HTTP %i upgrade refusal only where FastAPI may mean a missing route',
    async (status, hint) => {
      harness.server.onUpgrade = (_request, socket) => {
        socket.end(`HTTP/1.1 ${status} No\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      };
      const c = client({ WebSocket: WebSocket });
      const error = await rejection(c.connect());
      expect(error.message).toBe(
        `The server refused the token: HTTP ${status}${hint.replace('PORT', String(harness.server.port))}`,
      );
    },
  );

  it('retries an opaque pre-open failure (what a browser shows for a refused upgrade) with backoff', async () => {
    harness.server.onUpgrade = (_request, socket) => socket.destroy();
    const c = client({ reconnect: { initialDelayMs: 20, maxDelayMs: 40, maxAttempts: 3 } });
    const { authErrors, errors } = collect(c);
    const started = Date.now();
    expect((await rejection(c.connect())).code).toBe('RECONNECT_EXHAUSTED');
    expect(authErrors).toEqual([]);
    expect(errors.filter((e) => e.code === 'CONNECTION_ERROR')).toHaveLength(4);
    expect(harness.server.requests).toHaveLength(4);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it.each([
    ['token_expired', 'token_expired'],
    [401, '401'],
    ['4403', '4403'],
  ])(
    'reads an error frame coded %j after open, then close, as an auth failure',
    async (code, serverCode) => {
      harness.server.onSocket = (ws) => {
        ws.send(JSON.stringify({ type: 'connected' }));
        ws.send(JSON.stringify({ type: 'error', code, message: 'expired' }));
        setTimeout(() => ws.close(1000), 20);
      };
      const c = client();
      await c.connect();
      const failure = new Promise<TaskStatusError>((resolve) =>
        c.on('error', (e) => e.code === 'AUTH_FAILED' && resolve(e)),
      );
      await expect(failure).resolves.toMatchObject({ serverCode });
      expect(c.state).toBe('closed');
    },
  );

  it('never puts the token in an error, event or string form', async () => {
    authServer(
      () => false,
      (ws) => {
        ws.send(`bad token ${SECRET} and ${encodeURIComponent(SECRET)}`);
        ws.close(1008, `reason ${SECRET}`.slice(0, 100));
      },
    );
    const c = client();
    const seen: unknown[] = [];
    for (const event of ['authError', 'error', 'close', 'open', 'state', 'reconnecting']) {
      c.on(event as 'error', (value: unknown) => seen.push(value));
    }
    const error = await rejection(c.connect());
    const dump = JSON.stringify([seen, error, String(error), error.stack, `${c}`, c.toJSON()]);
    expect(dump).not.toContain(SECRET);
    expect(dump).not.toContain(encodeURIComponent(SECRET));
    expect(dump).toContain('***');
  });

  it('keeps the credentials of a base URL out of errors, events and string forms', async () => {
    let authorization: string | undefined;
    harness.server.onUpgrade = (request, socket) => {
      authorization = request.headers.authorization;
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    };
    const baseUrl = harness.server.baseUrl.replace('//', '//deploy:pa55word@');
    const c = client({ baseUrl, WebSocket: WebSocket });
    const seen: unknown[] = [];
    for (const event of ['authError', 'error', 'close', 'state']) {
      c.on(event as 'error', (value: unknown) => seen.push(value));
    }
    const error = await rejection(c.connect());
    const dump = JSON.stringify([seen, error, String(error), error.stack, `${c}`, c.toJSON()]);
    expect(error.message).toContain('no WebSocket route for ws://***@127.0.0.1:');
    expect(dump).not.toContain('pa55word');
    // The credentials still reach the server: only what the client reports is masked.
    expect(authorization).toBe(`Basic ${btoa('deploy:pa55word')}`);
  });

  it("masks the token as the URL carries it, with !'()* encoded, when the server echoes it", async () => {
    const token = "it's(my)tok!*";
    harness.server.onSocket = (ws, request) => {
      // The raw query value, as a server that logs or echoes its query string has it.
      const raw = /[?&]token=([^&]*)/.exec(request.url ?? '')?.[1] ?? '';
      ws.send(JSON.stringify({ type: 'error', code: 'auth_failed', message: `rejected ${raw}` }));
      ws.close(1008, `raw=${raw}`);
    };
    const c = client({ token });
    const seen: unknown[] = [];
    c.on('authError', (info) => seen.push(info));
    const error = await rejection(c.connect());
    expect(harness.server.requests[0]).toContain('it%27s%28my%29tok%21%2A');
    const dump = JSON.stringify([seen, error, String(error), error.stack]);
    expect(dump).not.toContain('it%27s%28my%29tok%21%2A');
    expect(dump).not.toContain(token);
    expect(error.serverMessage).toBe('rejected ***');
  });
});

describe('authGraceMs: 0 (accepted as the socket opens)', () => {
  it.each([
    [
      'a JSON error frame then close 1000',
      JSON.stringify({ type: 'error', message: 'Invalid token' }),
    ],
    ['a plain-text frame then close 1000', 'Authentication failed'],
  ])('still reads %s as a final refusal of a static token', async (_name, frame) => {
    harness.server.onSocket = (ws) => {
      ws.send(frame);
      ws.close(1000);
    };
    const c = client({ authGraceMs: 0 });
    const failed = new Promise<TaskStatusError>((resolve) =>
      c.on('error', (e) => e.code === 'AUTH_FAILED' && resolve(e)),
    );
    await c.connect().catch(() => {});
    expect((await failed).serverMessage).toMatch(/Invalid token|Authentication failed/);
    expect(c.state).toBe('closed');
    expect(harness.server.sockets).toHaveLength(1);
  });

  it('refreshes a refused token once, not on every socket that opens', async () => {
    harness.server.onSocket = (ws) => ws.close(4001);
    const reasons: string[] = [];
    const c = client({
      authGraceMs: 0,
      token: ({ reason }) => {
        reasons.push(reason);
        return `t${reasons.length}`;
      },
    });
    const failed = new Promise<TaskStatusError>((resolve) =>
      c.on('error', (e) => e.code === 'AUTH_FAILED' && c.state === 'closed' && resolve(e)),
    );
    await c.connect().catch(() => {});
    await failed;
    expect(reasons).toEqual(['connect', 'auth-retry']);
    expect(harness.server.sockets).toHaveLength(2);
  });

  it('gives up after maxInitialAttempts against a server that closes every socket it opens', async () => {
    harness.server.onSocket = (ws) => ws.close(1000);
    const c = client({
      authGraceMs: 0,
      reconnect: { initialDelayMs: 1, maxDelayMs: 2, maxInitialAttempts: 3 },
    });
    const exhausted = new Promise<TaskStatusError>((resolve) =>
      c.on('error', (e) => e.code === 'RECONNECT_EXHAUSTED' && resolve(e)),
    );
    await c.connect().catch(() => {});
    await exhausted;
    expect(harness.server.sockets).toHaveLength(4);
  });
});

describe('odd frames before the verdict', () => {
  it('reads a FastAPI-style {"detail": …} frame then close 1000 as an auth failure', async () => {
    authServer(
      () => false,
      (ws) => {
        ws.send(JSON.stringify({ detail: 'Could not validate credentials' }));
        ws.close(1000);
      },
    );
    const c = client();
    const { authErrors, errors } = collect(c);
    await expect(c.connect()).rejects.toMatchObject({ code: 'AUTH_FAILED', closeCode: 1000 });
    expect(authErrors[0]).toMatchObject({ code: null, message: 'Could not validate credentials' });
    // The frame is the refusal's message, not also a protocol error of its own.
    expect(errors.map((e) => e.code)).toEqual(['AUTH_FAILED']);
    expect(harness.server.sockets).toHaveLength(1);
  });

  it('still accepts after an odd frame when no close follows, and reports it a second later', async () => {
    harness.server.onSocket = (ws) => ws.send(JSON.stringify({ type: 'welcome', motd: 'hi' }));
    const c = client({ authGraceMs: 30 });
    const { errors } = collect(c);
    await c.connect();
    expect(c.state).toBe('open');
    // Held for the second a refusing server has to close after the grace period.
    expect(errors).toEqual([]);
    await expect
      .poll(() => errors.map((e) => e.code), { timeout: 3_000 })
      .toEqual(['UNKNOWN_FRAME']);
    expect(errors[0]?.message).toContain('"welcome"');
    expect(c.state).toBe('open');
  });

  it('reports an odd frame at once when a valid frame follows it, in order', async () => {
    harness.server.onSocket = (ws) => {
      ws.send('{"detail":"Unsupported"}');
      ws.send(JSON.stringify({ type: 'task_update', task_id: 1, status: 'running' }));
    };
    const c = client({ authGraceMs: 2_000 });
    const log: string[] = [];
    c.on('error', (e) => log.push(`error ${e.code}`));
    c.on('task', (update) => log.push(`task ${update.taskId}`));
    await c.connect();
    await expect.poll(() => log).toEqual(['error PROTOCOL_ERROR', 'task 1']);
    expect(c.state).toBe('open');
  });
});

describe('plain text before the verdict', () => {
  it('reads a text greeting that no close follows as a message, and opens', async () => {
    harness.server.onSocket = (ws) => ws.send('Welcome to the task stream');
    const c = client({ authGraceMs: 50, connectTimeoutMs: 3_000, reconnect: false });
    const texts: string[] = [];
    c.on('message', (frame) => frame.kind === 'text' && texts.push(frame.text));
    const { errors } = collect(c);
    await c.connect();
    await expect.poll(() => texts, { timeout: 3_000 }).toEqual(['Welcome to the task stream']);
    expect(c.state).toBe('open');
    expect(errors).toEqual([]);
  });

  it('opens at once on a valid frame after a text greeting, and keeps the text', async () => {
    harness.server.onSocket = (ws) => {
      ws.send('Welcome to the task stream');
      ws.send(JSON.stringify({ type: 'connected', user_id: 2 }));
    };
    const c = client({ connectTimeoutMs: 3_000, reconnect: false });
    const kinds: string[] = [];
    c.on('message', (frame) => kinds.push(frame.kind));
    await c.connect();
    expect(kinds).toEqual(['text', 'connected']);
  });

  it('still reads a text frame as a refusal when its close comes just after authGraceMs', async () => {
    harness.server.onSocket = (ws) => {
      setTimeout(() => ws.send('Authentication failed'), 30);
      setTimeout(() => ws.close(1000), 90);
    };
    const c = client({ authGraceMs: 50 });
    const failed = new Promise<TaskStatusError>((resolve) =>
      c.on('error', (e) => e.code === 'AUTH_FAILED' && resolve(e)),
    );
    // Whether the grace period ended before the text or not, the close makes it a refusal.
    void c.connect().catch(() => {});
    expect((await failed).serverMessage).toBe('Authentication failed');
    expect(c.state).toBe('closed');
    expect(harness.server.sockets).toHaveLength(1);
  });
});

describe('a server going away right after a greeting', () => {
  it.each([
    { what: 'a text greeting', greeting: 'Welcome to the task stream', code: 1012 },
    { what: 'a text greeting', greeting: 'Welcome to the task stream', code: 1013 },
    { what: 'a text greeting', greeting: 'Welcome to the task stream', code: 1011 },
    { what: 'a text greeting', greeting: 'Welcome to the task stream', code: 1006 },
    { what: 'an odd frame', greeting: '{"type":"welcome"}', code: 1001 },
    { what: 'a greeting that names the token', greeting: 'Authenticated as user 2', code: 1012 },
    {
      what: 'an error frame',
      greeting: '{"type":"error","code":"server_busy","message":"Token check queue is full"}',
      code: 1013,
    },
    { what: 'an error frame', greeting: '{"type":"error","message":"Invalid token"}', code: 1012 },
  ])('reads $what then close $code as a drop, and reconnects', async ({ greeting, code }) => {
    // uvicorn closes every socket as it restarts (`--reload` does on every save): with 1012, or
    // with no close frame at all (1006) in older releases. A server going away, restarting or
    // overloaded says nothing of the token, whatever it sent before; a server error (1011) or a
    // drop (1006) says nothing after a greeting either.
    let sockets = 0;
    harness.server.onSocket = (ws) => {
      sockets += 1;
      if (sockets > 1) ws.send(JSON.stringify({ type: 'connected', user_id: 2 }));
      else {
        ws.send(greeting);
        if (code === 1006) ws.terminate();
        else ws.close(code);
      }
    };
    const c = client({ connectTimeoutMs: 3_000 });
    const { authErrors, errors } = collect(c);
    const texts: string[] = [];
    c.on('message', (frame) => frame.kind === 'text' && texts.push(frame.text));
    await c.connect();
    expect(c.state).toBe('open');
    expect(authErrors).toEqual([]);
    expect(errors.at(-1)).toMatchObject({ code: 'CONNECTION_LOST', closeCode: code });
    // The greeting is reported as it would have been on a connection that stayed open.
    if (greeting.startsWith('{"type":"error"')) expect(errors[0]?.code).toBe('SERVER_ERROR');
    else if (greeting.startsWith('{')) expect(errors[0]?.code).toBe('UNKNOWN_FRAME');
    else expect(texts).toEqual([greeting]);
    expect(sockets).toBe(2);
  });

  it.each([
    // An error frame, whatever it says: a handler that sends the error and then raises ends so.
    [1011, JSON.stringify({ type: 'error', message: 'User not found' })],
    [1006, JSON.stringify({ type: 'error', code: 'token_expired', message: 'Session over' })],
    // Text or an odd frame, when it speaks of credentials.
    [1011, 'Authentication failed'],
    [1006, 'Invalid token'],
    [1011, JSON.stringify({ detail: 'Could not validate credentials' })],
  ])(
    'still reads a refusal (%#) then close %i, a server error or a drop, as a refusal',
    async (code, frame) => {
      authServer(
        () => false,
        (ws) => {
          ws.send(frame);
          if (code === 1006) ws.terminate();
          else ws.close(code);
        },
      );
      const c = client();
      await expect(c.connect()).rejects.toMatchObject({ code: 'AUTH_FAILED', closeCode: code });
      expect(harness.server.sockets).toHaveLength(1);
    },
  );
});

describe('a verdict that comes after authGraceMs', () => {
  it.each([
    ['a plain-text refusal', 'Authentication failed'],
    ['a JSON error without a code', JSON.stringify({ type: 'error', message: 'Invalid token' })],
    ['a FastAPI detail frame', JSON.stringify({ detail: 'Invalid token' })],
  ])('still reads %s then close 1000 as an auth failure', async (_name, frame) => {
    harness.server.onSocket = (ws) =>
      setTimeout(() => {
        ws.send(frame);
        ws.close(1000);
      }, 60);
    const c = client({ authGraceMs: 10 });
    const failed = new Promise<TaskStatusError>((resolve) =>
      c.on('error', (e) => e.code === 'AUTH_FAILED' && resolve(e)),
    );
    await c.connect();
    expect((await failed).serverMessage).toMatch(/Authentication failed|Invalid token/);
    expect(c.state).toBe('closed');
    expect(harness.server.sockets).toHaveLength(1);
  });

  it.each([
    ['a JSON error frame', JSON.stringify({ type: 'error', message: 'task 9 not found' })],
    ['a plain-text frame', 'task 9 not found'],
  ])(
    'reports %s that no close follows, and reconnects after a later close',
    async (_name, frame) => {
      // A quiet server (no ack) that answers something with an error and keeps the socket open.
      harness.server.onSocket = (ws) => {
        if (harness.server.sockets.length === 1) setTimeout(() => ws.send(frame), 60);
      };
      const c = client({ authGraceMs: 10 });
      const log: string[] = [];
      c.on('error', (e) => log.push(`error ${e.code} ${e.serverMessage ?? ''}`.trim()));
      c.on('message', (f) => f.kind === 'text' && log.push(`text ${f.text}`));
      c.on('reconnecting', () => log.push('reconnecting'));
      await c.connect();
      await expect.poll(() => log, { timeout: 3_000 }).toHaveLength(1);
      expect(log[0]).toMatch(/^(error SERVER_ERROR|text) task 9 not found$/);
      harness.server.sockets[0]?.close(1000);
      await expect.poll(() => harness.server.sockets.length).toBe(2);
      expect(log).toContain('reconnecting');
      expect(log.join()).not.toContain('AUTH_FAILED');
    },
  );

  it('reports an error frame from the quiet time once a valid frame follows it, and a close then is a drop', async () => {
    // A quiet server (no ack) that accepted the token: an error about something else, an update,
    // then a restart. The update shows the token works, so the close is no refusal.
    harness.server.onSocket = (ws) => {
      if (harness.server.sockets.length > 1) return;
      setTimeout(() => {
        ws.send(JSON.stringify({ type: 'error', message: 'task 9 not found' }));
        ws.send(JSON.stringify({ type: 'task_update', task_id: 1, status: 'running' }));
        ws.close(1000);
      }, 60);
    };
    const c = client({ authGraceMs: 10 });
    const log: string[] = [];
    c.on('error', (e) => log.push(`error ${e.code}`));
    c.on('task', (update) => log.push(`task ${update.taskId}`));
    c.on('reconnecting', () => log.push('reconnecting'));
    await c.connect();
    await expect.poll(() => log).toContain('reconnecting');
    expect(log.slice(0, 2)).toEqual(['error SERVER_ERROR', 'task 1']);
    expect(log).not.toContain('error AUTH_FAILED');
  });

  it('keeps reconnecting against a quiet server that answers pings with a frame of its own', async () => {
    // No ack, and `{"detail": …}` for every message it does not know: pings included.
    let pings = 0;
    harness.server.onSocket = (ws) =>
      ws.on('message', () => {
        pings++;
        ws.send(JSON.stringify({ detail: 'Unsupported message' }));
      });
    const c = client({ authGraceMs: 10, heartbeat: { intervalMs: 100, timeoutMs: 50 } });
    const errors = collect(c).errors;
    await c.connect();
    // The first answer holds the next ping for the second a late refusal's close may take.
    await expect.poll(() => pings, { timeout: 3_000 }).toBeGreaterThanOrEqual(2);
    harness.server.sockets[0]?.close(1000);
    await expect.poll(() => harness.server.sockets.length).toBe(2);
    expect(errors.map((e) => e.code)).not.toContain('AUTH_FAILED');
    expect(errors.map((e) => e.code)).toContain('PROTOCOL_ERROR');
  });

  it('reads an auth-coded error frame that no close follows as a server error, not a refusal', async () => {
    harness.server.onSocket = (ws) => {
      ws.send(JSON.stringify({ type: 'connected' }));
      if (harness.server.sockets.length === 1) {
        ws.send(JSON.stringify({ type: 'error', code: 'token_expired', message: 'soon' }));
      }
    };
    const c = client();
    const errors = collect(c).errors;
    await c.connect();
    await expect
      .poll(() => errors.map((e) => e.code), { timeout: 3_000 })
      .toEqual(['SERVER_ERROR']);
    expect(errors[0]).toMatchObject({ serverCode: 'token_expired', serverMessage: 'soon' });
    harness.server.sockets[0]?.close(1000);
    await expect.poll(() => harness.server.sockets.length).toBe(2);
    await expect.poll(() => c.state).toBe('open');
    expect(errors.map((e) => e.code)).not.toContain('AUTH_FAILED');
  });

  it('keeps text frames as messages once a real frame has arrived', async () => {
    harness.server.onSocket = (ws) => {
      ws.send(JSON.stringify({ type: 'connected' }));
      ws.send('hello there');
    };
    const c = client({ authGraceMs: 10 });
    const texts: string[] = [];
    c.on('message', (frame) => frame.kind === 'text' && texts.push(frame.text));
    await c.connect();
    await expect.poll(() => texts).toEqual(['hello there']);
  });
});
