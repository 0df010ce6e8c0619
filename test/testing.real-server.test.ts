import { get as httpsGet } from 'node:https';
import { connect, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import NodeWebSocket from 'ws';
import {
  isTaskStatusError,
  TaskStatusClient,
  type TaskStatusClientOptions,
  type TaskStatusError,
  type TaskUpdate,
} from '../src/index.js';
import {
  startTaskStatusServer,
  type TaskStatusServer,
  type TaskStatusServerOptions,
} from '../src/testing/index.js';
import { createTestCertificates, type TestCertificates, webSocketTrusting } from './helpers/tls.js';

const servers: TaskStatusServer[] = [];
const clients: TaskStatusClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(options: TaskStatusServerOptions = {}): Promise<TaskStatusServer> {
  const server = await startTaskStatusServer({ tokens: { t2: 2, t3: 3 }, ...options });
  servers.push(server);
  return server;
}

function client(server: TaskStatusServer, options: Partial<TaskStatusClientOptions> = {}) {
  const created = new TaskStatusClient({
    baseUrl: server.url,
    userId: 2,
    token: 't2',
    heartbeat: false,
    authGraceMs: 5_000,
    reconnect: { initialDelayMs: 5, maxDelayMs: 20 },
    ...options,
  });
  clients.push(created);
  return created;
}

/** Whether something accepts TCP connections on the port (on 127.0.0.1). */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * A WebSocket peer on user 2's route that completes the opening handshake and then answers
 * nothing, not even the close frame: the server waits for it when it stops.
 */
async function mutePeer(server: TaskStatusServer): Promise<Socket> {
  const socket = connect(server.port, '127.0.0.1');
  socket.on('error', () => {});
  socket.write(
    [
      'GET /api/v1/ws/tasks/2?token=t2 HTTP/1.1',
      `Host: 127.0.0.1:${server.port}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      'Sec-WebSocket-Version: 13',
      '',
      '',
    ].join('\r\n'),
  );
  await vi.waitFor(() => expect(server.clients).toMatchObject([{ state: 'open' }]));
  return socket;
}

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.json() };
}

describe('startTaskStatusServer over HTTP', () => {
  it('listens on 127.0.0.1 on a free port by default', async () => {
    const server = await start();
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
  });

  it('serves GET /health like a FastAPI backend', async () => {
    const server = await start();
    expect(await getJson(`${server.url}/health`)).toEqual({
      status: 200,
      body: { status: 'healthy', version: '1.0.0' },
    });
    const custom = await start({ version: '2.3.4' });
    expect((await getJson(`${custom.url}/health`)).body).toEqual({
      status: 'healthy',
      version: '2.3.4',
    });
  });

  it('reports the open connections of the token user on GET /api/v1/ws/status', async () => {
    const server = await start();
    await client(server).connect();
    await client(server).connect();
    await client(server, { userId: 3, token: 't3' }).connect();
    expect(await getJson(`${server.url}/api/v1/ws/status?token=t2`)).toEqual({
      status: 200,
      body: { user_id: 2, connections: 2 },
    });
    expect((await getJson(`${server.url}/api/v1/ws/status?token=t3`)).body).toEqual({
      user_id: 3,
      connections: 1,
    });
  });

  it('answers the status endpoint with 401 for a bad or missing token', async () => {
    const server = await start();
    const unauthorized = { status: 401, body: { detail: 'Invalid or expired token' } };
    expect(await getJson(`${server.url}/api/v1/ws/status?token=nope`)).toEqual(unauthorized);
    expect(await getJson(`${server.url}/api/v1/ws/status`)).toEqual(unauthorized);
  });

  it("answers the status endpoint with 401 and the verifier's message for its own refusal", async () => {
    const server = await start({
      tokens: (token) => (token === 'stale' ? { code: 'token_expired', message: 'Expired' } : 2),
    });
    expect(await getJson(`${server.url}/api/v1/ws/status?token=stale`)).toEqual({
      status: 401,
      body: { detail: 'Expired' },
    });
    expect((await getJson(`${server.url}/api/v1/ws/status?token=fresh`)).status).toBe(200);
  });

  it('counts connections by token when the verifier does not name a user', async () => {
    const server = await start({ tokens: () => true });
    await client(server, { token: 'abc' }).connect();
    expect((await getJson(`${server.url}/api/v1/ws/status?token=abc`)).body).toEqual({
      user_id: null,
      connections: 1,
    });
  });

  it('answers 404 on any other HTTP path', async () => {
    const server = await start();
    expect(await getJson(`${server.url}/api/v1/ws/tasks/2`)).toEqual({
      status: 404,
      body: { detail: 'Not Found' },
    });
  });
});

describe('startTaskStatusServer over WebSocket', () => {
  it('answers an upgrade to any other path with HTTP 404', async () => {
    const server = await start();
    const c = client(server, {
      path: '/api/v1/api/v1/ws/tasks/{userId}',
      reconnect: false,
      // ws shows the HTTP status of a refused upgrade; Node 22+'s global WebSocket does not.
      WebSocket: NodeWebSocket,
    });
    const error = (await c.connect().catch((e: unknown) => e)) as TaskStatusError;
    expect(error).toMatchObject({ code: 'HANDSHAKE_REJECTED', httpStatus: 404 });
    expect(server.connections).toEqual([]);
  });

  it.each([
    ['/api/v1/ws/tasks/2/', 404],
    ['/api/v1//ws/tasks/2', 404],
    ['/api/v1/ws/tasks/a%2Fb', 404],
    ['/api/v1/ws/tasks/John%20Doe', 101],
  ])('matches the route exactly, as Starlette does: %s gets %i', async (path, status) => {
    const server = await start({ tokens: () => true });
    const socket = new NodeWebSocket(`ws://127.0.0.1:${server.port}${path}?token=t`);
    const answer = await new Promise<number>((resolve) => {
      socket.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
      socket.on('upgrade', (response) => resolve(response.statusCode ?? 0));
      socket.on('error', () => {});
    });
    socket.terminate();
    expect(answer).toBe(status);
    expect(server.connections).toHaveLength(status === 101 ? 1 : 0);
  });

  it('answers it with HTTP 403, as Starlette does, with unmatchedUpgradeStatus: 403', async () => {
    const server = await start({ unmatchedUpgradeStatus: 403 });
    const c = client(server, {
      path: '/api/v1/api/v1/ws/tasks/{userId}',
      reconnect: false,
      WebSocket: NodeWebSocket,
    });
    const error = (await c.connect().catch((e: unknown) => e)) as TaskStatusError;
    expect(error).toMatchObject({ code: 'AUTH_FAILED', httpStatus: 403 });
    expect(server.connections).toEqual([]);
  });

  it('refuses the next upgrades on the route with rejectNextUpgrade(status), in order', async () => {
    const server = await start();
    server.rejectNextUpgrade();
    server.rejectNextUpgrade(503);
    const reasons: string[] = [];
    const c = client(server, {
      token: ({ reason }) => {
        reasons.push(reason);
        return 't2';
      },
      WebSocket: NodeWebSocket,
    });
    const errors: unknown[] = [];
    c.on('error', (error) => errors.push([error.code, error.httpStatus]));
    await c.connect();
    // 403 is an auth failure, so the token function is asked again; 503 is retried with backoff.
    expect(errors).toEqual([
      ['AUTH_FAILED', 403],
      ['HANDSHAKE_REJECTED', 503],
    ]);
    expect(reasons).toEqual(['connect', 'auth-retry', 'reconnect']);
    expect(server.connections).toMatchObject([{ state: 'open' }]);
    expect(() => server.rejectNextUpgrade(101 as never)).toThrow(/rejectNextUpgrade/);
  });

  it('serves a custom route template', async () => {
    const server = await start({ path: '/tasks/{user_id}' });
    await client(server, { path: '/tasks/{user_id}' }).connect();
    expect(server.clients).toMatchObject([{ url: '/tasks/2?token=t2', state: 'open' }]);
  });

  it('delays the upgrade by handshakeDelayMs, which can change at any time', async () => {
    const server = await start({ handshakeDelayMs: 5_000 });
    const slow = client(server, { connectTimeoutMs: 50, reconnect: false });
    await expect(slow.connect()).rejects.toMatchObject({ code: 'HANDSHAKE_TIMEOUT' });
    expect(server.connections).toEqual([]);
    server.handshakeDelayMs = 60;
    const started = Date.now();
    await client(server).connect();
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
    for (const bad of [-1, 2 ** 31]) {
      expect(() => {
        server.handshakeDelayMs = bad;
      }).toThrow(/handshakeDelayMs/);
    }
    expect(server.handshakeDelayMs).toBe(60);
  });

  it('restart() closes with 1012, listens on the same port, and keeps the task table', async () => {
    const server = await start({ snapshotOnConnect: true });
    const port = server.port;
    const c = client(server);
    const tasks: TaskUpdate[] = [];
    const closes: number[] = [];
    c.on('task', (task) => tasks.push(task));
    c.on('close', (info) => closes.push(info.code));
    await c.connect();
    server.pushUpdate(2, { taskId: 1, status: 'running', progress: 10 });
    await vi.waitFor(() => expect(tasks).toHaveLength(1));
    const restarted = server.restart();
    // Sent while no one is connected: only the snapshot on reconnect can deliver it.
    server.pushUpdate(2, { taskId: 1, status: 'running', progress: 20 });
    await restarted;
    expect(server.port).toBe(port);
    await vi.waitFor(() => expect(server.clients).toMatchObject([{ state: 'open' }]));
    await vi.waitFor(() => expect(tasks.map((task) => task.progress)).toEqual([10, 20]));
    expect(closes).toEqual([1012]);
    expect(server.connections.map((x) => [x.state, x.closeCode])).toEqual([
      ['closed', 1012],
      ['open', null],
    ]);
  });

  it('refuses connections during the downtime of restart({ downtimeMs })', async () => {
    const server = await start();
    const c = client(server);
    const errors: string[] = [];
    c.on('error', (error) => errors.push(error.code));
    await c.connect();
    await server.restart({ downtimeMs: 150, code: 1001 });
    await vi.waitFor(() => expect(c.state).toBe('open'));
    expect(errors[0]).toBe('CONNECTION_LOST');
    expect(errors).toContain('CONNECTION_ERROR');
    expect(server.connections.map((x) => x.closeCode)).toEqual([1001, null]);
  });

  it.each([
    ['restart()', (server: TaskStatusServer) => server.restart()],
    ['close()', (server: TaskStatusServer) => server.close()],
  ])(
    'refuses connections at once while %s waits for clients to finish closing',
    async (_name, stop) => {
      const server = await start();
      const peer = await mutePeer(server);
      const stopped = stop(server);
      // The mute peer holds the stop for a while: a connection meanwhile is refused, not held.
      expect(await listening(server.port)).toBe(false);
      expect(server.connections).toHaveLength(1);
      await stopped;
      peer.destroy();
    },
  );

  it('takes an explicit undefined for any option, as if it were left out', async () => {
    const server = await start({
      host: undefined,
      port: undefined,
      handshakeDelayMs: undefined,
      version: undefined,
      unmatchedUpgradeStatus: undefined,
      tls: undefined,
      ack: undefined,
      errorFormat: undefined,
      errorCloseCode: undefined,
      heartbeat: { intervalMs: undefined, format: undefined },
      snapshotOnConnect: undefined,
      path: undefined,
      simulate: undefined,
    });
    const c = client(server);
    const tasks: TaskUpdate[] = [];
    c.on('task', (task) => tasks.push(task));
    await c.connect();
    server.pushUpdate(2, {
      taskId: 1,
      status: 'running',
      progress: undefined,
      message: undefined,
      updatedAt: undefined,
    });
    const simulation = server.simulate({
      userId: 2,
      tasks: 1,
      firstTaskId: undefined,
      failures: undefined,
      progressSteps: undefined,
      minStepMs: 0,
      maxStepMs: 0,
      random: undefined,
    });
    await simulation.done;
    // `failures` took its default, 1: the one task fails.
    const simulated = simulation.taskIds[0];
    await vi.waitFor(() =>
      expect(tasks.at(-1)).toMatchObject({ taskId: simulated, status: 'failed' }),
    );
    expect(tasks[0]).toMatchObject({ taskId: 1, progress: null, message: null });
    await server.restart({ code: undefined, downtimeMs: undefined });
    expect(server.connections[0]?.closeCode).toBe(1012);
  });

  it('close() says 1001 to its clients, frees the port, and is idempotent', async () => {
    const server = await start();
    const c = client(server, { reconnect: false });
    const closes: number[] = [];
    c.on('close', (info) => closes.push(info.code));
    await c.connect();
    const first = server.close();
    expect(server.close()).toBe(first);
    await first;
    expect(closes).toEqual([1001]);
    expect(server.connections).toMatchObject([{ closeReason: 'server shutting down' }]);
    await expect(fetch(`${server.url}/health`)).rejects.toThrow();
    await expect(server.restart()).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
  });

  it('refuses simulate() once closed, as restart(), so no timer outlives the server', async () => {
    const server = await start();
    await server.close();
    let thrown: unknown;
    try {
      server.simulate({ userId: 2 });
    } catch (error) {
      thrown = error;
    }
    expect(isTaskStatusError(thrown, 'CONNECTION_CLOSED')).toBe(true);
    expect(server.tasks(2)).toEqual([]);
  });

  it('holds a task pushed as 42 and as "42" once, as the client does', async () => {
    const server = await start();
    server.pushUpdate(2, { taskId: 42, status: 'running', progress: 30 });
    const failed = server.failTask(2, '42');
    expect(failed).toMatchObject({ task_id: '42', status: 'failed', progress: 30 });
    expect(server.tasks(2)).toEqual([failed]);
  });

  it('refuses an update that cannot be written as JSON with INVALID_OPTIONS', async () => {
    const server = await start();
    const error = (() => {
      try {
        server.pushUpdate(2, { taskId: 1, status: 'running', result: 1n });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(isTaskStatusError(error, 'INVALID_OPTIONS')).toBe(true);
    expect((error as Error).message).toMatch(/^pushUpdate: not writable as JSON/);
    expect(server.tasks(2)).toEqual([]);
  });

  it('close() during a restart resolves once the port is free, and the restart ends', async () => {
    const server = await start();
    const c = client(server, { reconnect: false });
    await c.connect();
    const restarted = server.restart();
    await server.close();
    expect(await listening(server.port)).toBe(false);
    await restarted;
    expect(await listening(server.port)).toBe(false);
  });

  it('close() while a restart stops its listener does not sit out the downtime', async () => {
    const server = await start();
    const c = client(server, { reconnect: false });
    await c.connect();
    const restarted = server.restart({ downtimeMs: 60_000 });
    // One turn of the event loop: the restart is then waiting for the client's closing handshake.
    await new Promise<void>((resolve) => setImmediate(resolve));
    await server.close();
    await restarted;
    expect(await listening(server.port)).toBe(false);
  });

  it('runs two restarts asked for at once one after the other, and listens after both', async () => {
    const server = await start();
    await Promise.all([server.restart(), server.restart({ downtimeMs: 20 })]);
    expect(await listening(server.port)).toBe(true);
    const c = client(server);
    await c.connect();
    expect(c.state).toBe('open');
  });

  it.each([
    [{ downtimeMs: -1 }, /"restart\(\{ downtimeMs \}\)": must be a number of ms from 0 to/],
    [{ downtimeMs: 2 ** 31 }, /"restart\(\{ downtimeMs \}\)": .* to 2147483647, got 2147483648/],
    [{ downtimeMs: 'abc' }, /"restart\(\{ downtimeMs \}\)"/],
    [{ code: 5 }, /"restart\(\{ code \}\)": must be a close code/],
    [null, /"restart\(options\)": must be an object with code, downtimeMs, got null/],
    [{ downtime: 5 }, /"restart\(options\).downtime": is not a known key/],
  ])('rejects restart(%j) with INVALID_OPTIONS and keeps serving', async (options, message) => {
    const server = await start();
    const error = await server.restart(options as { code?: number }).catch((e: unknown) => e);
    expect(isTaskStatusError(error, 'INVALID_OPTIONS')).toBe(true);
    expect((error as Error).message).toMatch(message);
    expect(await listening(server.port)).toBe(true);
  });

  it.each([
    [{ port: -1 }, /"port"/],
    [{ port: 1.5 }, /"port"/],
    [{ host: '' }, /"host"/],
    [{ handshakeDelayMs: Number.NaN }, /"handshakeDelayMs"/],
    [{ handshakeDelayMs: 2 ** 31 }, /"handshakeDelayMs": .* to 2147483647/],
    [{ baseUrl: 'http://x' }, /"baseUrl": is not a known option/],
  ])('rejects the options %j with INVALID_OPTIONS', async (options, message) => {
    const error = await startTaskStatusServer(options as TaskStatusServerOptions).catch(
      (e: unknown) => e,
    );
    expect(isTaskStatusError(error, 'INVALID_OPTIONS')).toBe(true);
    expect((error as Error).message).toMatch(message);
  });
});

describe('startTaskStatusServer over TLS', () => {
  let certificates: TestCertificates;
  beforeAll(async () => {
    certificates = await createTestCertificates();
  });
  afterAll(() => certificates.remove());

  /** `ws`, trusting the test CA as well as Node's own. */
  const trustingTestCa = () => webSocketTrusting(certificates.ca);

  it('serves /health over HTTPS and the route over wss:, also after a restart', async () => {
    const { cert, key } = certificates.trusted;
    const server = await start({ tls: { cert, key }, snapshotOnConnect: true });
    expect(server.url).toBe(`https://127.0.0.1:${server.port}`);
    const c = client(server, { WebSocket: trustingTestCa() });
    const tasks: TaskUpdate[] = [];
    c.on('task', (task) => tasks.push(task));
    await c.connect();
    expect(String(c)).toContain(`wss://127.0.0.1:${server.port}/api/v1/ws/tasks/2?token=***`);
    server.pushUpdate(2, { taskId: 1, status: 'running', progress: 10 });
    await vi.waitFor(() => expect(tasks).toHaveLength(1));
    await server.restart();
    await vi.waitFor(() => expect(server.clients).toMatchObject([{ state: 'open' }]));
    server.pushUpdate(2, { taskId: 1, status: 'completed' });
    await vi.waitFor(() =>
      expect(tasks.map((task) => task.status)).toEqual(['running', 'completed']),
    );
    const health = await new Promise<string>((resolve, reject) => {
      const request = httpsGet(`${server.url}/health`, { ca: certificates.ca }, (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () => resolve(body));
      });
      request.on('error', reject);
    });
    expect(JSON.parse(health)).toMatchObject({ status: 'healthy' });
  });

  it('takes the certificate and key as bytes', async () => {
    const { cert, key } = certificates.trusted;
    const server = await start({
      tls: { cert: new TextEncoder().encode(cert), key: new TextEncoder().encode(key) },
    });
    await client(server, { WebSocket: trustingTestCa() }).connect();
    expect(server.clients).toMatchObject([{ state: 'open' }]);
  });

  it('is refused by a client that does not trust its certificate, before any upgrade', async () => {
    const { cert, key } = certificates.trusted;
    const server = await start({ tls: { cert, key } });
    const c = client(server, { reconnect: { maxInitialAttempts: 0 } });
    const failure = await c.connect().then(
      () => undefined,
      (error: TaskStatusError) => error,
    );
    expect(failure?.code).toBe('RECONNECT_EXHAUSTED');
    expect(failure?.message).toContain('unable to verify the first certificate');
    expect(server.connections).toEqual([]);
  });

  it.each([
    ['not an object', 'cert.pem', /"tls": must be an object with cert, key, got "cert\.pem"/],
    ['with an unknown key', { cert: 'x', key: 'y', ca: 'z' }, /"tls\.ca": is not a known key/],
    ['without a key', { cert: 'x' }, /"tls\.key": must be PEM text.*got undefined/],
    ['with an empty certificate', { cert: '', key: 'y' }, /"tls\.cert": must be PEM text/],
    ['with text that is not PEM', { cert: 'x', key: 'y' }, /"tls": Node cannot use this/],
  ])('refuses tls %s with INVALID_OPTIONS', async (_name, tls, message) => {
    const failure = await start({ tls } as TaskStatusServerOptions).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isTaskStatusError(failure, 'INVALID_OPTIONS')).toBe(true);
    expect((failure as Error).message).toMatch(message);
  });

  it("refuses a key that is not the certificate's, naming the problem", async () => {
    const failure = await start({
      tls: { cert: certificates.ca, key: certificates.trusted.key },
    }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isTaskStatusError(failure, 'INVALID_OPTIONS')).toBe(true);
    expect((failure as Error).message).toMatch(/"tls": Node cannot use .*key values mismatch/);
  });
});

describe('the demo simulation', () => {
  it('runs five tasks to completion, one failing, within five seconds', async () => {
    const server = await start({ simulate: { userId: 2 } });
    const c = client(server);
    const tasks: TaskUpdate[] = [];
    c.on('task', (task) => tasks.push(task));
    const started = Date.now();
    await c.connect();
    const finished = () => tasks.filter((t) => t.status === 'completed' || t.status === 'failed');
    await vi.waitFor(() => expect(finished()).toHaveLength(5), { timeout: 5_000, interval: 50 });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(finished().filter((t) => t.status === 'failed')).toHaveLength(1);
    for (const id of [1, 2, 3, 4, 5]) {
      const mine = tasks.filter((task) => task.taskId === id);
      expect(mine[0]?.status).toBe('pending');
      const progress = mine.map((task) => task.progress ?? 0);
      expect(progress).toEqual([...progress].sort((a, b) => a - b));
    }
  });
});

describe('task-status-client/testing/server', () => {
  it('offers the real server without msw anywhere in its imports', async () => {
    const { build } = await import('esbuild');
    const result = await build({
      entryPoints: ['src/testing/server.ts'],
      bundle: true,
      write: false,
      platform: 'node',
      format: 'esm',
      metafile: true,
      external: ['ws', 'eventemitter3', 'zod', 'isomorphic-ws'],
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((path) => path.includes('node_modules/msw/'))).toBe(false);
    expect(inputs).toContain('src/testing/real-server.ts');
    const entry = await import('../src/testing/server.js');
    expect(entry.startTaskStatusServer).toBe(startTaskStatusServer);
  });
});
