import { expect, vi } from 'vitest';
import { TaskStatusClient } from '../../src/index.js';
import { startTaskStatusServer } from '../../src/testing/index.js';

/** A client the app started before a server render: open, holding task 42 as `running`. */
export interface StartedClient {
  readonly client: TaskStatusClient;
  /** Closes the client, then its server. */
  close(): Promise<void>;
}

export async function startedClient(): Promise<StartedClient> {
  const server = await startTaskStatusServer({ tokens: { t2: 2 } });
  const client = new TaskStatusClient({ baseUrl: server.url, userId: 2, token: 't2' });
  await client.connect();
  server.pushUpdate(2, { taskId: 42, status: 'running' });
  await vi.waitFor(() => expect(client.getTask(42)).toBeDefined());
  return {
    client,
    async close() {
      await client.close();
      await server.close();
    },
  };
}
