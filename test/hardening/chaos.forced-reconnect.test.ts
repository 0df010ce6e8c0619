/**
 * Replacing an open socket, whoever starts it (the server restarting, or the app calling
 * `reconnect()`), reads the same in the events: the old socket's `close`, then the new `open`.
 * Never two `open`s in a row.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TaskStatusClient } from '../../src/index.js';
import { nextEvent } from '../helpers/events.js';
import { startWsServer, type TestServer } from '../helpers/ws-server.js';
import {
  connectionLog,
  NODE_WEBSOCKET,
  numberedConnections,
  openProblems,
} from './helpers/connections.js';

let server: TestServer;
let client: TaskStatusClient;

beforeEach(async () => {
  server = await startWsServer(numberedConnections());
  client = new TaskStatusClient({
    WebSocket: NODE_WEBSOCKET,
    baseUrl: server.baseUrl,
    userId: 2,
    token: 'tok',
    authGraceMs: 5_000,
    heartbeat: false,
    reconnect: { initialDelayMs: 0, maxDelayMs: 10 },
  });
});

afterEach(async () => {
  await client.close();
  await server.close();
});

describe('a replaced socket', () => {
  it('closes before the next open when the server restarts (1012)', async () => {
    const log = connectionLog(client);
    await client.connect();
    const reopened = nextEvent(client, 'open');
    server.sockets[0]?.close(1012, 'restart');
    await reopened;
    expect(log).toEqual(['open', 'connected:1', 'close', 'open', 'connected:2']);
    expect(openProblems(log)).toEqual([]);
  });

  it('closes before the next open when the app calls reconnect()', async () => {
    const log = connectionLog(client);
    await client.connect();
    await client.reconnect();
    await expect.poll(() => server.sockets[0]?.readyState).toBe(server.sockets[0]?.CLOSED);
    expect(openProblems(log)).toEqual([]);
    expect(log).toEqual(['open', 'connected:1', 'close', 'open', 'connected:2']);
  });
});
