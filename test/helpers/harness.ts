import { afterEach, beforeEach } from 'vitest';
import { TaskStatusClient, type TaskStatusClientOptions } from '../../src/index.js';
import { startWsServer, type TestServer } from './ws-server.js';

/** A test file's real server (fresh per test) and the clients it made (closed after each test). */
export interface WsHarness {
  /** The current test's server. */
  readonly server: TestServer;
  /** A client of user 2 with token `tok` on the current server, with the file's defaults. */
  client(options?: Partial<TaskStatusClientOptions>): TaskStatusClient;
}

/** Registers the hooks: a `ws` server on 127.0.0.1:0 per test; every client closed after it. */
export function setupWsHarness(defaults: Partial<TaskStatusClientOptions> = {}): WsHarness {
  let current: TestServer | undefined;
  const clients: TaskStatusClient[] = [];
  beforeEach(async () => {
    current = await startWsServer();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await current?.close();
  });
  const harness: WsHarness = {
    get server() {
      if (current === undefined) throw new Error('the server starts in beforeEach');
      return current;
    },
    client(options = {}) {
      const created = new TaskStatusClient({
        baseUrl: harness.server.baseUrl,
        userId: 2,
        token: 'tok',
        ...defaults,
        ...options,
      });
      clients.push(created);
      return created;
    },
  };
  return harness;
}
