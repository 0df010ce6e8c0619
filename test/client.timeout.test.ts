import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TaskStatusClient, type TaskStatusError } from '../src/index.js';
import { rejection } from './helpers/events.js';
import { startWsServer, type TestServer } from './helpers/ws-server.js';

let server: TestServer;
const clients: TaskStatusClient[] = [];

beforeEach(async () => {
  server = await startWsServer();
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await server.close();
});

describe('handshake timeout', () => {
  it('gives up on a server that takes TCP but never answers the upgrade', async () => {
    server.onUpgrade = () => {};
    const c = new TaskStatusClient({
      baseUrl: server.baseUrl,
      userId: 2,
      token: 'tok',
      connectTimeoutMs: 80,
      reconnect: false,
    });
    clients.push(c);
    const started = Date.now();
    const error = await rejection(c.connect());
    expect(error.code).toBe('HANDSHAKE_TIMEOUT');
    expect(error.message).toContain('opening handshake');
    expect(Date.now() - started).toBeGreaterThanOrEqual(75);
    expect(c.state).toBe('closed');
  });

  it('times out a server that accepts but never gives a verdict within connectTimeoutMs', async () => {
    const c = new TaskStatusClient({
      baseUrl: server.baseUrl,
      userId: 2,
      token: 'tok',
      connectTimeoutMs: 60,
      authGraceMs: 10_000,
      reconnect: false,
    });
    clients.push(c);
    await expect(c.connect()).rejects.toMatchObject({ code: 'HANDSHAKE_TIMEOUT' });
  });

  it('waits out connectTimeoutMs, not authGraceMs, after an error frame the server never follows with a close', async () => {
    server.onSocket = (ws) =>
      ws.send('{"type":"error","code":"auth_failed","message":"bad token"}');
    const c = new TaskStatusClient({
      baseUrl: server.baseUrl,
      userId: 2,
      token: 'tok',
      connectTimeoutMs: 300,
      authGraceMs: 20,
      reconnect: false,
    });
    clients.push(c);
    const opened = new Promise<number>((resolve) => {
      c.on('state', (state) => {
        if (state === 'open') resolve(Date.now());
      });
    });
    const started = Date.now();
    const error = await rejection(c.connect());
    // The error frame ended the grace period: quiet after it is no acceptance, the deadline is.
    expect(error.code).toBe('AUTH_FAILED');
    expect(error.serverMessage).toBe('bad token');
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    expect(await Promise.race([opened, Promise.resolve('never')])).toBe('never');
  });

  it('retries a timed-out handshake and connects once the server answers', async () => {
    let delayed = 0;
    server.onUpgrade = (_request, _socket, accept) => {
      if (delayed++ === 0) return; // first upgrade hangs forever
      accept();
    };
    const c = new TaskStatusClient({
      baseUrl: server.baseUrl,
      userId: 2,
      token: 'tok',
      connectTimeoutMs: 60,
      authGraceMs: 0,
      reconnect: { initialDelayMs: 0, maxDelayMs: 0 },
    });
    clients.push(c);
    const errors: string[] = [];
    c.on('error', (e) => errors.push(e.code));
    await c.connect();
    expect(errors).toEqual(['HANDSHAKE_TIMEOUT']);
    expect(c.state).toBe('open');
  });

  it('reports a refused connection and keeps retrying while connect() waits', async () => {
    const port = server.port;
    await server.close();
    const c = new TaskStatusClient({
      baseUrl: `http://127.0.0.1:${port}`,
      userId: 2,
      token: 'tok',
      authGraceMs: 0,
      reconnect: {
        initialDelayMs: 5,
        maxDelayMs: 20,
        maxInitialAttempts: Number.POSITIVE_INFINITY,
      },
    });
    clients.push(c);
    const errors: TaskStatusError[] = [];
    c.on('error', (e) => errors.push(e));
    const connecting = c.connect();
    await expect.poll(() => errors.length).toBeGreaterThanOrEqual(2);
    expect(errors[0]?.code).toBe('CONNECTION_ERROR');
    expect(c.state).toBe('reconnecting');
    await server.listen();
    await connecting;
    expect(c.state).toBe('open');
  });
});
