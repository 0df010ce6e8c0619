import { afterEach } from 'vitest';
import {
  type MessageEventLike,
  TaskStatusClient,
  type TaskStatusClientOptions,
  type WebSocketConstructor,
  type WebSocketLike,
} from '../../../src/index.js';

/** A hand-driven WebSocket double: the test opens it, feeds it frames and drops it. */
export interface FakeSocket extends WebSocketLike {
  readonly url: string;
  /** Frames the client sent. */
  readonly sent: string[];
  /** Completes the opening handshake. */
  open(): void;
  /** Delivers one frame, exactly as a platform WebSocket would call `onmessage`. */
  receive(data: unknown): void;
  /**
   * Resolves once the client has handled every frame received so far: it handles them in a
   * microtask queued at the first, and this one is queued after it.
   */
  handled(): Promise<void>;
  /** Ends the socket from the network side. */
  drop(code?: number, reason?: string): void;
}

/** A fresh WebSocket class per test, remembering every socket it made. */
export function fakeWebSocket(): { WebSocket: WebSocketConstructor; sockets: FakeSocket[] } {
  const sockets: FakeSocket[] = [];
  class Fake implements FakeSocket {
    readonly sent: string[] = [];
    readyState = 0;
    binaryType = 'blob';
    onopen: WebSocketLike['onopen'] = null;
    onmessage: WebSocketLike['onmessage'] = null;
    onclose: WebSocketLike['onclose'] = null;
    onerror: WebSocketLike['onerror'] = null;

    constructor(readonly url: string) {
      sockets.push(this);
    }

    open(): void {
      this.readyState = 1;
      this.onopen?.({});
    }

    receive(data: unknown): void {
      const event: MessageEventLike = { data };
      this.onmessage?.(event);
    }

    handled(): Promise<void> {
      return new Promise((resolve) => queueMicrotask(resolve));
    }

    drop(code = 1006, reason = ''): void {
      if (this.readyState === 3) return;
      this.readyState = 3;
      this.onclose?.({ code, reason, wasClean: code !== 1006 });
    }

    send(data: string): void {
      this.sent.push(data);
    }

    close(code = 1000, reason = ''): void {
      this.drop(code, reason);
    }
  }
  return { WebSocket: Fake, sockets };
}

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
    await connecting;
    return { client, socket };
  };
}
