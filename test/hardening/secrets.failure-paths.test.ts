/**
 * The token never leaves the client through anything it shows: error messages, event payloads,
 * thrown stacks and causes, `toString()`/`toJSON()`, or console and stdio output. Each test
 * drives one failure path with a server (or token function) that echoes the token back.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  TaskStatusClient,
  type TaskStatusClientOptions,
  type TaskStatusError,
  type WebSocketConstructor,
} from '../../src/index.js';
import { nextEvent, rejection } from '../helpers/events.js';
import { startWsServer, type TestServer } from '../helpers/ws-server.js';
import { NODE_WEBSOCKET } from './helpers/connections.js';
import { captureOutput, leaksIn, recordEvents, render, TOKEN } from './helpers/secrets.js';

let server: TestServer;
let output: ReturnType<typeof captureOutput>;
const clients: TaskStatusClient[] = [];

beforeEach(async () => {
  server = await startWsServer();
  output = captureOutput();
});

afterEach(async () => {
  output.restore();
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await server.close();
});

function client(options: Partial<TaskStatusClientOptions> = {}) {
  const created = new TaskStatusClient({
    WebSocket: NODE_WEBSOCKET,
    baseUrl: server.baseUrl,
    userId: 2,
    token: TOKEN,
    heartbeat: false,
    authGraceMs: 60_000,
    reconnect: false,
    ...options,
  });
  clients.push(created);
  return { client: created, events: recordEvents(created) };
}

/** Fails with every leaking form found in everything the client showed. */
function expectNoLeak(shown: {
  client?: TaskStatusClient;
  events?: unknown[][];
  thrown?: unknown;
}): void {
  const c = shown.client;
  const text = [
    ...(shown.events ?? []).map((args) => render(args)),
    shown.thrown === undefined ? '' : render(shown.thrown),
    c === undefined ? '' : `${String(c)}\n${JSON.stringify(c)}\n${render(c)}`,
    output.text(),
  ].join('\n');
  const leaks = leaksIn(text);
  const where =
    leaks.length === 0
      ? ''
      : text.slice(
          Math.max(0, text.indexOf(leaks[0] ?? '') - 200),
          text.indexOf(leaks[0] ?? '') + 100,
        );
  expect(leaks, `token leaked near: …${where}…`).toEqual([]);
}

function codes(events: unknown[][]): string[] {
  return events
    .filter(([name]) => name === 'error')
    .map(([, error]) => (error as TaskStatusError).code);
}

describe('the leak detector', () => {
  it('finds the token, its URL and JSON encodings, and a truncated slice of it', () => {
    expect(leaksIn(`x ${TOKEN} y`)).toContain(TOKEN);
    expect(leaksIn(`?token=${encodeURIComponent(TOKEN)}`)).toContain(encodeURIComponent(TOKEN));
    expect(leaksIn(`"${TOKEN.slice(0, 7)}… (300 chars)"`)).not.toEqual([]);
    expect(leaksIn('token=*** tok- SECR')).toEqual([]);
  });

  it('sees what reaches the console', () => {
    vi.spyOn(console, 'info').mockImplementation(() => {});
    console.info(`refreshing ${TOKEN.slice(0, 8)}`);
    expect(leaksIn(output.text())).not.toEqual([]);
  });
});

describe('secrets on every failure path', () => {
  it('keeps the token out of a JSON auth error that echoes it, and the auth close after it', async () => {
    server.onSocket = (ws) => {
      ws.send(
        JSON.stringify({
          type: 'error',
          code: 'auth_failed',
          message: `Invalid token ${TOKEN}`,
          detail: `token=${TOKEN}`,
        }),
      );
      ws.close(1008, `bad token ${TOKEN}`);
    };
    const { client: c, events } = client();
    const thrown = await rejection(c.connect());
    expect(thrown.code).toBe('AUTH_FAILED');
    expectNoLeak({ client: c, events, thrown });
  });

  it('keeps the token out of a plain-text auth error that echoes it', async () => {
    server.onSocket = (ws) => {
      ws.send(`Authentication failed for token ${TOKEN} (?token=${encodeURIComponent(TOKEN)})`);
      ws.close(1000);
    };
    const { client: c, events } = client();
    const thrown = await rejection(c.connect());
    expect(thrown.code).toBe('AUTH_FAILED');
    expect(thrown.serverMessage).toContain('Authentication failed');
    expectNoLeak({ client: c, events, thrown });
  });

  it('keeps the token out of an auth close code whose reason echoes it', async () => {
    server.onSocket = (ws) => ws.close(4401, `expired: ${TOKEN}`);
    const { client: c, events } = client();
    const thrown = await rejection(c.connect());
    expect(thrown).toMatchObject({ code: 'AUTH_FAILED', closeCode: 4401 });
    expectNoLeak({ client: c, events, thrown });
  });

  it('keeps the token out of an HTTP 401 answer to the upgrade that echoes it', async () => {
    const body = `{"detail":"token ${TOKEN} expired"}`;
    server.onUpgrade = (_request, socket) => {
      socket.end(
        `HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer error="${TOKEN}"\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    };
    const { client: c, events } = client();
    const thrown = await rejection(c.connect());
    expect(thrown).toMatchObject({ code: 'AUTH_FAILED', httpStatus: 401 });
    expectNoLeak({ client: c, events, thrown });
  });

  it.each([
    ['the upgrade', () => (server.onUpgrade = () => {})],
    ['the auth verdict', () => (server.onSocket = () => {})],
  ])('keeps the token out of a handshake timeout waiting for %s', async (_what, stall) => {
    stall();
    const { client: c, events } = client({ connectTimeoutMs: 80 });
    const thrown = await rejection(c.connect());
    expect(thrown.code).toBe('HANDSHAKE_TIMEOUT');
    expectNoLeak({ client: c, events, thrown });
  });

  it('keeps the token out of a heartbeat timeout', async () => {
    server.onSocket = (ws) => ws.send('{"type":"connected"}');
    const { client: c, events } = client({ heartbeat: { intervalMs: 30, timeoutMs: 30 } });
    await c.connect();
    await expect.poll(() => c.state).toBe('closed');
    expect(codes(events)).toContain('HEARTBEAT_TIMEOUT');
    expectNoLeak({ client: c, events });
  });

  it('keeps the token out of protocol errors about frames that echo it', async () => {
    const frames = [
      `not json but has ${TOKEN}`.replace(/^/, '{'),
      JSON.stringify({ type: 'task_update', task_id: -1, status: 'x', message: TOKEN }),
      JSON.stringify({ type: 'task_update', task_id: 1, status: 'x', progress: TOKEN }),
      JSON.stringify({ type: 'echo', query: `?token=${encodeURIComponent(TOKEN)}`, raw: TOKEN }),
      JSON.stringify({ type: 'error', code: 'boom', message: `could not use ${TOKEN}` }),
      JSON.stringify({ type: 'task_update', task_id: 1, status: 'x', message: TOKEN.repeat(9) }),
    ];
    server.onSocket = (ws) => {
      ws.send('{"type":"connected"}');
      for (const frame of frames) ws.send(frame);
      ws.send(Buffer.from(`binary ${TOKEN}`), { binary: true });
      ws.send('{"type":"task_update","task_id":"last","status":"running"}');
    };
    const { client: c, events } = client({ maxFrameBytes: 120 });
    await c.connect();
    await expect.poll(() => c.getTask('last')?.status).toBe('running');
    expect(codes(events)).toEqual([
      'PROTOCOL_ERROR',
      'PROTOCOL_ERROR',
      'PROTOCOL_ERROR',
      'UNKNOWN_FRAME',
      'SERVER_ERROR',
      'FRAME_TOO_LARGE',
      'PROTOCOL_ERROR',
    ]);
    expectNoLeak({ client: c, events });
  });

  it('keeps the token out of taskSchema errors about updates that echo it', async () => {
    // As valibot writes its issues: the value received, quoted. A record's keys are in the path.
    const echoing: NonNullable<TaskStatusClientOptions['taskSchema']> = {
      '~standard': {
        version: 1,
        vendor: 'echo',
        validate: (value) => {
          const { result } = value as { result: unknown };
          if (typeof result === 'object' && result !== null) {
            const [key = ''] = Object.keys(result);
            return { issues: [{ message: 'Invalid entry', path: ['result', key] }] };
          }
          if (result === 'throw') throw new Error(`cannot read ${TOKEN}`);
          return { issues: [{ message: `Expected Object but received "${String(result)}"` }] };
        },
      },
    };
    server.onSocket = (ws) => {
      ws.send('{"type":"connected"}');
      ws.send(JSON.stringify({ type: 'task_update', task_id: 1, status: 'x', result: TOKEN }));
      ws.send(
        JSON.stringify({ type: 'task_update', task_id: 2, status: 'x', result: { [TOKEN]: 1 } }),
      );
      ws.send(JSON.stringify({ type: 'task_update', task_id: TOKEN, status: 'x', result: 1 }));
      ws.send(
        JSON.stringify({ type: 'task_update', task_id: TOKEN, status: 'x', result: 'throw' }),
      );
    };
    const { client: c } = client({ taskSchema: echoing });
    const errors: TaskStatusError[] = [];
    c.on('error', (error) => errors.push(error));
    await c.connect();
    await expect.poll(() => errors.length).toBe(4);
    expect(errors.map((error) => error.code)).toEqual(Array(4).fill('PROTOCOL_ERROR'));
    expect(c.state).toBe('open');
    expectNoLeak({ client: c, events: errors.map((error) => ['error', error]) });
  });

  it('keeps the token out of a token function that throws an error naming it', async () => {
    server.onSocket = (ws) => {
      ws.send(JSON.stringify({ type: 'error', code: 'token_expired', message: 'expired' }));
      ws.close(1008);
    };
    let calls = 0;
    const { client: c, events } = client({
      token: () => {
        if (calls++ === 0) return TOKEN;
        throw new Error(`cannot refresh ${TOKEN}: refresh token revoked`);
      },
      reconnect: { initialDelayMs: 0, maxDelayMs: 0, maxAttempts: 1 },
    });
    const thrown = await rejection(c.connect());
    // The refresh of a refused token failed: final, with the token function's error as cause.
    expect(thrown.code).toBe('AUTH_FAILED');
    expect((thrown.cause as TaskStatusError).code).toBe('TOKEN_ERROR');
    expect(thrown.message).toContain('refresh token revoked');
    expectNoLeak({ client: c, events, thrown });
  });

  it('keeps the token out of a token function that throws a string naming it', async () => {
    server.onSocket = (ws) => ws.close(4401);
    let calls = 0;
    const { client: c, events } = client({
      token: () => {
        if (calls++ === 0) return TOKEN;
        throw `refresh of ${TOKEN} refused`;
      },
      reconnect: { initialDelayMs: 0, maxDelayMs: 0, maxAttempts: 0 },
    });
    const thrown = await rejection(c.connect());
    expect(thrown.code).toBe('AUTH_FAILED');
    // The string is what the app said: shown, with the token masked.
    expect((thrown.cause as TaskStatusError).message).toMatch(
      /^The token function failed: refresh of .+ refused$/,
    );
    expectNoLeak({ client: c, events, thrown });
  });

  it('keeps the token out of a token function whose promise rejects with it', async () => {
    server.onSocket = (ws) => ws.close(4401);
    let calls = 0;
    const { client: c, events } = client({
      token: async () => {
        if (calls++ === 0) return TOKEN;
        throw new Error(`POST /refresh?token=${encodeURIComponent(TOKEN)} answered 401`);
      },
      reconnect: { initialDelayMs: 0, maxDelayMs: 0, maxAttempts: 0 },
    });
    const thrown = await rejection(c.connect());
    expect(thrown.code).toBe('AUTH_FAILED');
    expect((thrown.cause as TaskStatusError).code).toBe('TOKEN_ERROR');
    expect(thrown.message).toContain('answered 401');
    expectNoLeak({ client: c, events, thrown });
  });

  it('keeps the token out of a WebSocket constructor that throws with the URL', async () => {
    const Throwing = class {
      constructor(url: string) {
        throw new TypeError(`cannot open ${url} (${decodeURIComponent(url)})`);
      }
    } as unknown as WebSocketConstructor;
    const { client: c, events } = client({ WebSocket: Throwing });
    const thrown = await rejection(c.connect());
    expect(thrown.code).toBe('CONNECTION_ERROR');
    expectNoLeak({ client: c, events, thrown });
  });

  it('keeps the token out of a refused connection', async () => {
    const port = server.port;
    await server.close();
    const { client: c, events } = client({ baseUrl: `http://127.0.0.1:${port}` });
    const thrown = await rejection(c.connect());
    expect(thrown.code).toBe('CONNECTION_ERROR');
    await server.listen();
    expectNoLeak({ client: c, events, thrown });
  });

  it.each([
    ['an error', (text: string) => new Error(text)],
    ['a string', (text: string) => text],
  ])('keeps the token out of a failed resync that throws %s naming it', async (_what, thrown) => {
    server.onSocket = (ws) => ws.send('{"type":"connected"}');
    const { client: c, events } = client({
      reconnect: { initialDelayMs: 0, maxDelayMs: 0 },
      resync: () => {
        throw thrown(`GET /tasks?token=${TOKEN} failed: 401 for ${TOKEN}`);
      },
    });
    await c.connect();
    const failed = new Promise<void>((resolve) =>
      c.on('error', (error) => error.code === 'RESYNC_FAILED' && resolve()),
    );
    server.sockets[0]?.terminate();
    await failed;
    expectNoLeak({ client: c, events });
  });

  it.each<[string, Partial<TaskStatusClientOptions> & Record<string, unknown>]>([
    ['a misspelt option', { tokken: TOKEN }],
    ['a bad heartbeat', { heartbeat: { intervalMs: -1 } }],
    ['a bad reconnect', { reconnect: { initialDelayMs: 10, maxDelayMs: 1 } }],
    ['a bad user id', { userId: -1 }],
    ['an empty path', { path: ' ' }],
    ['a base URL of the wrong scheme', { baseUrl: `ftp://example.com/?token=${TOKEN}` }],
    ['a relative base URL', { baseUrl: `/api?token=${TOKEN}` }],
    ['an unparsable base URL', { baseUrl: `http://[::1?token=${TOKEN}` }],
  ])('keeps the token out of the error for invalid options: %s', (_what, options) => {
    let thrown: unknown;
    try {
      new TaskStatusClient({ baseUrl: 'http://127.0.0.1:9', userId: 2, token: TOKEN, ...options });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: 'INVALID_OPTIONS' });
    expectNoLeak({ thrown });
  });

  it('keeps the token out of the client itself while it is open', async () => {
    server.onSocket = (ws) => ws.send('{"type":"connected"}');
    const { client: c, events } = client();
    const opened = nextEvent(c, 'open');
    await c.connect();
    await opened;
    expect(String(c)).toContain('token=***');
    expectNoLeak({ client: c, events });
  });
});
