import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TaskStatusClient } from '../src/index.js';
import { nextEvent, record, rejection } from './helpers/events.js';
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

function client(token: string | (() => string)) {
  const created = new TaskStatusClient({
    baseUrl: server.baseUrl,
    userId: 2,
    token,
    heartbeat: false,
    authGraceMs: 60_000,
    reconnect: { initialDelayMs: 0, maxDelayMs: 0 },
  });
  clients.push(created);
  return created;
}

describe('listeners that act on the client', () => {
  it('stays closed when an error listener calls close() during a drop', async () => {
    server.onSocket = (ws) => ws.send('{"type":"connected"}');
    const c = client('tok');
    await c.connect();
    c.once('error', () => void c.close());
    const reconnecting = record(c, ['reconnecting']);
    const closed = nextEvent(c, 'close');
    server.sockets[0]?.close(1001);
    await closed;
    expect(reconnecting).toEqual([]);
    expect(c.state).toBe('closed');
    expect(server.sockets).toHaveLength(1);
  });

  it('stays closed when an authError listener calls close()', async () => {
    server.onSocket = (ws) => {
      ws.send('{"type":"error","code":"auth_failed"}');
      ws.close(1008);
    };
    let calls = 0;
    const c = client(() => `t${++calls}`);
    c.on('authError', () => void c.close());
    expect((await rejection(c.connect())).code).toBe('CONNECTION_CLOSED');
    expect(calls).toBe(1);
    expect(c.state).toBe('closed');
  });

  it('is reconnecting, not open, while it re-authenticates after an accepted connection', async () => {
    server.onSocket = (ws, request) => {
      ws.send('{"type":"connected"}');
      if (request.url?.endsWith('token=t1')) {
        setTimeout(() => {
          ws.send('{"type":"error","code":"token_expired"}');
          ws.close(1008);
        }, 5);
      }
    };
    let calls = 0;
    const c = client(() => `t${++calls}`);
    await c.connect();
    await nextEvent(c, 'authError');
    expect(c.state).toBe('reconnecting');
    await nextEvent(c, 'open');
    expect(calls).toBe(2);
  });
});
