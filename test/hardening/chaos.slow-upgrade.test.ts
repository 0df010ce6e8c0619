/**
 * An upgrade answered late: the `101` held back by the network. Within `connectTimeoutMs` the
 * client waits it out; past it, the client gives up on that socket at the deadline, tears it
 * down, and connects with the next attempt, once.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TaskStatusClient, type TaskStatusClientOptions } from '../../src/index.js';
import { startWsServer, type TestServer } from '../helpers/ws-server.js';
import {
  connectionLog,
  NODE_WEBSOCKET,
  numberedConnections,
  openProblems,
  SLACK_MS,
} from './helpers/connections.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';

const CONNECT_TIMEOUT_MS = 250;
let server: TestServer;
let proxy: TcpProxy;
const clients: TaskStatusClient[] = [];

beforeEach(async () => {
  server = await startWsServer(numberedConnections());
  proxy = await startTcpProxy(server.port);
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await proxy.close();
  await server.close();
});

function client(options: Partial<TaskStatusClientOptions> = {}) {
  const created = new TaskStatusClient({
    WebSocket: NODE_WEBSOCKET,
    baseUrl: proxy.baseUrl,
    userId: 2,
    token: 'tok',
    authGraceMs: 5_000,
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    heartbeat: false,
    reconnect: { initialDelayMs: 0, maxDelayMs: 10 },
    ...options,
  });
  clients.push(created);
  return created;
}

describe('a delayed upgrade', () => {
  it('is waited out while it fits in connectTimeoutMs', async () => {
    proxy.upgradeDelayMs = () => 150;
    const c = client();
    const errors: string[] = [];
    c.on('error', (error) => errors.push(error.code));
    const started = Date.now();
    await c.connect();
    expect(Date.now() - started).toBeGreaterThanOrEqual(145);
    expect(errors).toEqual([]);
    expect(proxy.accepted).toBe(1);
  });

  it('is abandoned at connectTimeoutMs, and the next attempt connects once', async () => {
    proxy.upgradeDelayMs = (n) => (n === 1 ? 2_000 : 0);
    const c = client();
    const log = connectionLog(c);
    const failures: { code: string; afterMs: number }[] = [];
    const started = Date.now();
    c.on('error', (error) => failures.push({ code: error.code, afterMs: Date.now() - started }));

    await c.connect();

    expect(failures.map((f) => f.code)).toEqual(['HANDSHAKE_TIMEOUT']);
    expect(failures[0]?.afterMs).toBeGreaterThanOrEqual(CONNECT_TIMEOUT_MS - 5);
    expect(failures[0]?.afterMs).toBeLessThan(CONNECT_TIMEOUT_MS + SLACK_MS);
    expect(log).toEqual(['open', 'connected:2']);
    // The abandoned socket is torn down at both ends, so its late 101 can never open it.
    await expect.poll(() => proxy.links).toBe(1);
    await expect.poll(() => server.sockets[0]?.readyState).toBe(server.sockets[0]?.CLOSED);
    expect(openProblems(log)).toEqual([]);
  });
});
