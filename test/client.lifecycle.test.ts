import { execFile } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { setImmediate } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { isTaskStatusError, TaskStatusClient, type WebSocketConstructor } from '../src/index.js';
import { rejection } from './helpers/events.js';
import { watchTimers } from './helpers/timers.js';
import { startWsServer, type TestServer } from './helpers/ws-server.js';

const run = promisify(execFile);
const fixture = fileURLToPath(new URL('./fixtures/exit-after-close.ts', import.meta.url));
let server: TestServer;

beforeEach(async () => {
  server = await startWsServer((ws) => {
    ws.send('{"type":"connected"}');
    ws.send('{"type":"task_update","task_id":9,"status":"running"}');
  });
});

afterEach(async () => {
  await server.close();
});

describe('timers', () => {
  it('holds exactly one timer per open client with heartbeat and reconnect on, none after close', async () => {
    const timers = watchTimers();
    const clients = [1, 2, 3].map(
      (userId) => new TaskStatusClient({ baseUrl: server.baseUrl, userId, token: 'tok' }),
    );
    await Promise.all(clients.map((client) => client.connect()));
    // Accepted on the `connected` frame: the connect deadline gave way to the heartbeat.
    expect(timers.live()).toBe(3);
    await Promise.all(clients.map((client) => client.close()));
    // The server (in this process) and Node 24's built-in WebSocket keep a close timer each for a
    // moment after the handshake; the clients' own would stay for the whole heartbeat interval.
    await expect.poll(() => timers.live()).toBe(0);
  });
});

describe('socket listeners', () => {
  it('shares its ws listeners among clients and leaves only a no-op error listener at the end', async () => {
    const sockets: WebSocket[] = [];
    class RecordingWebSocket extends WebSocket {
      constructor(url: string) {
        super(url);
        sockets.push(this);
      }
    }
    const clients = [1, 2].map(
      (userId) =>
        new TaskStatusClient({
          baseUrl: server.baseUrl,
          userId,
          token: 'tok',
          WebSocket: RecordingWebSocket,
        }),
    );
    await Promise.all(clients.map((client) => client.connect()));
    const [first, second] = sockets;
    if (first === undefined || second === undefined) throw new Error('expected two sockets');
    for (const event of ['open', 'message', 'close', 'error']) {
      expect(first.listenerCount(event), event).toBe(1);
      // One function serves every socket: a client holds no closure per socket event.
      expect(first.listeners(event), event).toEqual(second.listeners(event));
    }
    const onError = first.listeners('error')[0];
    await Promise.all(clients.map((client) => client.close()));
    for (const socket of sockets) {
      expect(socket.listenerCount('open')).toBe(0);
      expect(socket.listenerCount('message')).toBe(0);
      const [late] = socket.listeners('error');
      expect(socket.listenerCount('error')).toBe(1);
      expect(late).not.toBe(onError);
      // A late error on a finished socket is swallowed, not thrown out of ws's emitter.
      expect(() => socket.emit('error', new Error('late'))).not.toThrow();
    }
    expect(clients.map((client) => client.state)).toEqual(['closed', 'closed']);
  });
  it('works with a ws subclass that wraps its listeners, and with a wrapper around a ws socket', async () => {
    // Neither calls a listener with the socket as `this`, which the shared listeners rely on.
    class TracingWebSocket extends WebSocket {
      override on(event: string | symbol, listener: (...args: never[]) => void): this {
        return super.on(event as 'open', (...args: unknown[]) => listener(...(args as never[])));
      }
    }
    const inners: WebSocket[] = [];
    class ForwardingWebSocket {
      readonly #inner: WebSocket;
      constructor(url: string) {
        this.#inner = new WebSocket(url, { headers: { 'x-app': 'demo' } });
        inners.push(this.#inner);
      }
      get readyState() {
        return this.#inner.readyState;
      }
      binaryType = 'arraybuffer';
      onopen = null;
      onmessage = null;
      onclose = null;
      onerror = null;
      on(event: string, listener: (...args: never[]) => void) {
        this.#inner.on(event as 'open', listener);
        return this;
      }
      off(event: string, listener: (...args: never[]) => void) {
        this.#inner.off(event as 'open', listener);
        return this;
      }
      send(data: string) {
        this.#inner.send(data);
      }
      close(code?: number, reason?: string) {
        this.#inner.close(code, reason);
      }
      terminate() {
        this.#inner.terminate();
      }
    }
    for (const Implementation of [TracingWebSocket, ForwardingWebSocket]) {
      const client = new TaskStatusClient({
        baseUrl: server.baseUrl,
        userId: 3,
        token: 'tok',
        connectTimeoutMs: 2_000,
        WebSocket: Implementation,
      });
      const task = new Promise((resolve) => client.once('task', resolve));
      await client.connect();
      await expect(task).resolves.toMatchObject({ taskId: 9, status: 'running' });
      await client.close();
      expect(client.state).toBe('closed');
    }
    const [inner] = inners;
    expect(inner?.listenerCount('message')).toBe(0);
    expect(inner?.listenerCount('error')).toBe(1);
  });
});

describe('shutdown', () => {
  it.each(['close', 'abort'])('lets a Node process exit by itself after %s()', async (mode) => {
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', fixture, server.baseUrl, mode],
      {
        timeout: 8_000,
      },
    );
    expect(stdout).toContain('task 9');
    expect(stdout.trim().split('\n').at(-1)).toBe('state closed');
  });

  it('closes on an aborted signal: rejects connect with ABORTED and never reconnects', async () => {
    const controller = new AbortController();
    server.onSocket = () => {};
    const client = new TaskStatusClient({
      baseUrl: server.baseUrl,
      userId: 2,
      token: 'tok',
      authGraceMs: 60_000,
      signal: controller.signal,
    });
    const connecting = client.connect();
    await expect.poll(() => server.sockets.length).toBe(1);
    controller.abort();
    expect(client.state).toBe('closed');
    const error = await rejection(connecting);
    expect(isTaskStatusError(error, 'ABORTED')).toBe(true);
    await expect(client.connect()).rejects.toMatchObject({ code: 'ABORTED' });
    await expect.poll(() => server.sockets[0]?.readyState).toBe(server.sockets[0]?.CLOSED);
    expect(server.sockets).toHaveLength(1);
  });

  it('closes an idle client on abort: its waits reject with ABORTED and its iterators end', async () => {
    const controller = new AbortController();
    const client = new TaskStatusClient({
      baseUrl: server.baseUrl,
      userId: 2,
      token: 'tok',
      signal: controller.signal,
    });
    const states: string[] = [];
    client.on('state', (state) => states.push(state));
    const waiting = client.waitForTask(9);
    const next = client.updates()[Symbol.asyncIterator]().next();
    controller.abort();
    expect(client.state).toBe('closed');
    expect(states).toEqual(['closed']);
    expect(isTaskStatusError(await rejection(waiting), 'ABORTED')).toBe(true);
    await expect(next).resolves.toEqual({ done: true, value: undefined });
    await expect(client.connect()).rejects.toMatchObject({ code: 'ABORTED' });
    expect(server.sockets).toHaveLength(0);
  });

  it('puts one listener on a signal that many clients share, and takes it off after them', async () => {
    // A service's one shutdown signal for all its clients: Node warns of a leak past 10.
    const controller = new AbortController();
    const clients = Array.from(
      { length: 12 },
      (_, userId) =>
        new TaskStatusClient({
          baseUrl: server.baseUrl,
          userId,
          token: 'tok',
          signal: controller.signal,
        }),
    );
    const [first, second] = clients as [TaskStatusClient, TaskStatusClient];
    await Promise.all([first.connect(), second.connect()]);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);

    await first.close();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    const waiting = second.waitForTask(404);
    controller.abort();

    expect(clients.map((client) => client.state)).toEqual(Array(12).fill('closed'));
    expect(isTaskStatusError(await rejection(waiting), 'ABORTED')).toBe(true);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    const other = new AbortController();
    const client = new TaskStatusClient({
      baseUrl: server.baseUrl,
      userId: 2,
      token: 'tok',
      signal: other.signal,
    });
    await client.close();
    expect(getEventListeners(other.signal, 'abort')).toHaveLength(0);
  });

  it('is closed from the start when its signal was aborted before it was made', async () => {
    const client = new TaskStatusClient({
      baseUrl: server.baseUrl,
      userId: 2,
      token: 'tok',
      signal: AbortSignal.abort(),
    });
    expect(client.state).toBe('closed');
    expect(isTaskStatusError(await rejection(client.waitForTask(9)), 'ABORTED')).toBe(true);
    await expect(client.connect()).rejects.toMatchObject({ code: 'ABORTED' });
    expect(server.sockets).toHaveLength(0);
  });

  it('lets a connect() of a client whose signal was aborted be fired and forgotten', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    onTestFinished(() => {
      process.off('unhandledRejection', onUnhandled);
    });
    const client = new TaskStatusClient({
      baseUrl: server.baseUrl,
      userId: 2,
      token: 'tok',
      signal: AbortSignal.abort(),
    });
    void client.connect();
    // Node reports a rejection nobody handled once the turn that made it is over.
    await setImmediate();
    expect(unhandled).toEqual([]);
  });

  it('emits a close event and resolves close() once the socket is closed', async () => {
    const client = new TaskStatusClient({ baseUrl: server.baseUrl, userId: 2, token: 'tok' });
    await client.connect();
    const closes: unknown[] = [];
    client.on('close', (info) => closes.push(info));
    await client.close();
    expect(closes).toEqual([
      { code: 1000, reason: 'client closed', wasClean: true, willReconnect: false },
    ]);
    await expect.poll(() => server.sockets[0]?.readyState).toBe(server.sockets[0]?.CLOSED);
  });

  it('resolves close() once the socket reconnect() replaced has closed too', async () => {
    const sockets: WebSocket[] = [];
    const Recording = class extends WebSocket {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        sockets.push(this);
      }
    } as unknown as WebSocketConstructor;
    const client = new TaskStatusClient({
      baseUrl: server.baseUrl,
      userId: 2,
      token: 'tok',
      WebSocket: Recording,
    });
    await client.connect();
    void client.reconnect().catch(() => {});
    await client.close();
    expect(sockets).toHaveLength(2);
    expect(sockets[0]?.readyState).toBe(WebSocket.CLOSED);
  });

  it('supports await using through Symbol.asyncDispose where the runtime has it', async () => {
    const client = new TaskStatusClient({ baseUrl: server.baseUrl, userId: 2, token: 'tok' });
    await client.connect();
    expect(typeof client[Symbol.asyncDispose]).toBe('function');
    await client[Symbol.asyncDispose]();
    expect(client.state).toBe('closed');
  });
});
