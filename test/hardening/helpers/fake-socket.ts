import { afterEach } from 'vitest';
import { TaskStatusClient, type TaskStatusClientOptions } from '../../../src/index.js';
import { type FakeSocket, fakeWebSocket } from './fake-websocket.js';

export { type FakeSocket, fakeWebSocket };

/**
 * Registers the clean-up for a test file and returns how to get a client that is already open
 * on a fake socket (no heartbeat, no reconnect, no grace period), with the socket to drive.
 */
export function setupFakeClients(): (
  options?: Partial<TaskStatusClientOptions>,
) => Promise<{ client: TaskStatusClient; socket: FakeSocket }> {
  const clients: TaskStatusClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });
  return async (options = {}) => {
    const fake = fakeWebSocket();
    const client = new TaskStatusClient({
      baseUrl: 'http://127.0.0.1:9',
      userId: 2,
      token: 'tok',
      WebSocket: fake.WebSocket,
      authGraceMs: 0,
      heartbeat: false,
      reconnect: false,
      ...options,
    });
    clients.push(client);
    const connecting = client.connect();
    const socket = fake.sockets[0] as FakeSocket;
    socket.open();
    // The ack: accepted for sure, not only presumed, so no frame is held as a possible refusal.
    socket.receive('{"type":"connected"}');
    await connecting;
    await socket.handled();
    return { client, socket };
  };
}
