/**
 * The client from Node through a real forward proxy (Debian's tinyproxy), with the `WebSocket`
 * class that docs/connection.md gives for it: updates, over `ws:` and `wss:`; a proxy's refusal
 * read as a connection error that names the proxy, not as the server refusing the token; and the
 * proxy's idle timeout, which heartbeats keep from cutting the socket.
 */
import { HttpsProxyAgent } from 'https-proxy-agent';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import NodeWebSocket from 'ws';
import {
  TaskStatusClient,
  type TaskStatusClientOptions,
  type TaskStatusError,
  type TaskUpdate,
  type WebSocketConstructor,
} from '../../src/index.js';
import { startTaskStatusServer, type TaskStatusServer } from '../../src/testing/index.js';
import { setupTinyproxies } from '../helpers/tinyproxy.js';
import { createTestCertificates, type TestCertificates } from '../helpers/tls.js';

const TOKEN = 'proxy-token-of-user-2';

let certificates: TestCertificates;
beforeAll(async () => {
  certificates = await createTestCertificates();
});
afterAll(() => certificates.remove());

const servers: TaskStatusServer[] = [];
const clients: TaskStatusClient[] = [];
const proxy = setupTinyproxies();
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function server(tls = false): Promise<TaskStatusServer> {
  const tlsOption = tls
    ? { tls: { cert: certificates.trusted.cert, key: certificates.trusted.key } }
    : {};
  const started = await startTaskStatusServer({ tokens: { [TOKEN]: 2 }, ...tlsOption });
  servers.push(started);
  return started;
}

/**
 * The class of docs/connection.md ("Behind a forward proxy"): `ws` with an agent that tunnels
 * through `proxyUrl`, and fails the attempt when the proxy refuses the tunnel. `ca`, the test's
 * private CA, is for the server's certificate, so it goes to `ws`: an agent's own TLS options
 * are for an `https:` proxy.
 */
function proxiedWebSocket(proxyUrl: string, ca?: string): WebSocketConstructor {
  const agent = new HttpsProxyAgent(proxyUrl);
  agent.on('proxyConnect', (answer, request) => {
    if (answer.statusCode !== 200) {
      request.destroy(
        new Error(`proxy refused the tunnel: ${answer.statusCode} ${answer.statusText}`),
      );
    }
  });
  return class ProxiedWebSocket extends NodeWebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols, ca === undefined ? { agent } : { agent, ca });
    }
  };
}

function client(baseUrl: string, options: Partial<TaskStatusClientOptions>): TaskStatusClient {
  const created = new TaskStatusClient({
    baseUrl,
    userId: 2,
    token: TOKEN,
    reconnect: { initialDelayMs: 5, maxDelayMs: 20, maxInitialAttempts: 1 },
    ...options,
  });
  clients.push(created);
  return created;
}

describe('through a forward proxy (tinyproxy)', () => {
  it('receives updates over ws: through the tunnel the proxy opens', async () => {
    const [forward, backend] = await Promise.all([proxy(), server()]);
    const watcher = client(backend.url, { WebSocket: proxiedWebSocket(forward.url) });
    const updates: TaskUpdate[] = [];
    watcher.on('task', (update) => updates.push(update));
    await watcher.connect();
    backend.pushUpdate(2, { taskId: 7, status: 'running', progress: 40 });
    backend.completeTask(2, 7);
    await vi.waitFor(() =>
      expect(updates.map((update) => update.status)).toEqual(['running', 'completed']),
    );
    expect(forward.connects()).toEqual([`127.0.0.1:${backend.port}`]);
  });

  it('receives updates over wss:, with TLS end to end inside the tunnel', async () => {
    const [forward, backend] = await Promise.all([proxy(), server(true)]);
    expect(backend.url).toMatch(/^https:/);
    const watcher = client(backend.url, {
      WebSocket: proxiedWebSocket(forward.url, certificates.ca),
    });
    const updates: TaskUpdate[] = [];
    watcher.on('task', (update) => updates.push(update));
    await watcher.connect();
    backend.completeTask(2, 8);
    await vi.waitFor(() => expect(updates.map((update) => update.status)).toEqual(['completed']));
    expect(forward.connects()).toEqual([`127.0.0.1:${backend.port}`]);
  });

  it('reads a proxy that refuses the port as a connection error, not as a refused token', async () => {
    const [forward, backend] = await Promise.all([proxy({ connectPorts: [443] }), server()]);
    const watcher = client(backend.url, { WebSocket: proxiedWebSocket(forward.url) });
    const errors: TaskStatusError[] = [];
    watcher.on('error', (error) => errors.push(error));
    const authErrors: unknown[] = [];
    watcher.on('authError', (info) => authErrors.push(info));
    const failure = await watcher.connect().then(
      () => undefined,
      (error: unknown) => error,
    );
    // Without the check of the proxy's answer, its 403 reads as the server's: AUTH_FAILED.
    expect(failure).toMatchObject({ code: 'RECONNECT_EXHAUSTED' });
    expect(errors[0]?.code).toBe('CONNECTION_ERROR');
    expect(errors[0]?.message).toContain('proxy refused the tunnel: 403 Access violation');
    expect(authErrors).toEqual([]);
    // The proxy refused: the server never saw the upgrade, nor the token.
    expect(backend.clients).toEqual([]);
  });

  it('reads a proxy that wants credentials (407) as a connection error naming it', async () => {
    const forward = await proxy({ basicAuth: { user: 'alice', password: 's3cret' } });
    const backend = await server();
    const watcher = client(backend.url, { WebSocket: proxiedWebSocket(forward.url) });
    const errors: TaskStatusError[] = [];
    watcher.on('error', (error) => errors.push(error));
    await expect(watcher.connect()).rejects.toMatchObject({ code: 'RECONNECT_EXHAUSTED' });
    expect(errors[0]?.message).toContain('proxy refused the tunnel: 407');
    expect(errors.every((error) => error.code !== 'HANDSHAKE_REJECTED')).toBe(true);
  });

  it('connects with the credentials in the proxy URL', async () => {
    const forward = await proxy({ basicAuth: { user: 'alice', password: 's3cret' } });
    const backend = await server();
    const withCredentials = forward.url.replace('//', '//alice:s3cret@');
    const watcher = client(backend.url, { WebSocket: proxiedWebSocket(withCredentials) });
    await watcher.connect();
    expect(watcher.state).toBe('open');
    expect(forward.connects()).toEqual([`127.0.0.1:${backend.port}`]);
  });

  it('keeps the socket through an idle timeout of the proxy with heartbeats', async () => {
    const forward = await proxy({ idleTimeoutS: 1 });
    const backend = await server();
    const watcher = client(backend.url, {
      WebSocket: proxiedWebSocket(forward.url),
      heartbeat: { intervalMs: 300, timeoutMs: 2_000 },
    });
    const closes: unknown[] = [];
    watcher.on('close', (info) => closes.push(info));
    let beats = 0;
    watcher.on('heartbeat', () => beats++);
    await watcher.connect();
    // Ten round trips span three seconds: three times the proxy's idle timeout.
    await vi.waitFor(() => expect(beats).toBeGreaterThanOrEqual(10), { timeout: 10_000 });
    expect(closes).toEqual([]);
    expect(forward.connects()).toHaveLength(1);
  });

  it('is cut by that idle timeout without heartbeats, and reconnects through the proxy', async () => {
    const forward = await proxy({ idleTimeoutS: 1 });
    const backend = await server();
    const watcher = client(backend.url, {
      WebSocket: proxiedWebSocket(forward.url),
      heartbeat: false,
    });
    const updates: TaskUpdate[] = [];
    watcher.on('task', (update) => updates.push(update));
    await watcher.connect();
    const opened = Date.now();
    const reconnected = new Promise((resolve) =>
      watcher.on('open', (info) => info.reconnected && resolve(info)),
    );
    await reconnected;
    expect(Date.now() - opened).toBeGreaterThanOrEqual(900);
    expect(forward.connects()).toHaveLength(2);
    backend.completeTask(2, 9);
    await vi.waitFor(() => expect(updates.map((update) => update.taskId)).toEqual([9]));
  });
});
