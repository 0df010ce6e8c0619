import { afterEach, beforeEach } from 'vitest';
import {
  TaskStatusClient,
  type TaskStatusClientOptions,
  type TaskUpdate,
} from '../../src/index.js';
import { startWsServer, type TestServer } from './ws-server.js';

/** A test file's real server (fresh per test) and the clients it made (closed after each test). */
export interface WsHarness {
  /** The current test's server. */
  readonly server: TestServer;
  /**
   * A client of user 2 with token `tok` on the current server, with the file's defaults; typed
   * by its `taskSchema` when it has one.
   */
  client<T extends TaskUpdate = TaskUpdate>(
    options?: Partial<TaskStatusClientOptions<T>>,
  ): TaskStatusClient<T>;
}

/** Options a test file sets for all its clients: none that depends on the update type. */
export type HarnessDefaults = Partial<Omit<TaskStatusClientOptions, 'taskSchema' | 'resync'>>;

/** Registers the hooks: a `ws` server on 127.0.0.1:0 per test; every client closed after it. */
export function setupWsHarness(defaults: HarnessDefaults = {}): WsHarness {
  let current: TestServer | undefined;
  const clients: { close(): Promise<void> }[] = [];
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
    client<T extends TaskUpdate = TaskUpdate>(options: Partial<TaskStatusClientOptions<T>> = {}) {
      const created = new TaskStatusClient<T>({
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
