/**
 * The msw transport of the testing kit: the protocol brain behind a `ws.link()` handler, for
 * `setupServer` (Node, vitest, jest) and `setupWorker` (browser, Storybook). No Node-only import.
 */
import {
  type WebSocketHandler,
  type WebSocketHandlerConnection,
  type WebSocketLink,
  ws,
} from 'msw';
import { buildTaskStatusUrl } from 'task-status-client';
import { TaskServerBrain } from './brain.js';
import type { TaskServerControls, TaskServerOptions } from './types.js';

/** Options of {@link createMockTaskServer}: the shared server options plus where to listen. */
export interface MockTaskServerOptions extends TaskServerOptions {
  /**
   * The backend the app under test talks to, in any form the client's `baseUrl` takes
   * (`http://localhost:8000`, `https://api.example.com/api/v1`, …); only sockets to that origin
   * and route are mocked. Without it the route is mocked on every origin.
   * @default undefined (any origin)
   * @example 'http://localhost:8000'
   */
  baseUrl?: string | undefined;
}

/** A mocked task-status backend: msw handlers plus the controls of {@link TaskServerControls}. */
export interface MockTaskServer extends TaskServerControls {
  /** The msw handlers to pass to `setupServer(...)` / `setupWorker(...)` or `server.use(...)`. */
  readonly handlers: readonly WebSocketHandler[];
  /** The URL pattern the handlers match, e.g. `ws://localhost:8000/api/v1/ws/tasks/:userId`. */
  readonly url: string;
}

type MockClient = WebSocketHandlerConnection['client'];

/** `WebSocket.CLOSING` and `WebSocket.CLOSED`, without reading a global that may be absent. */
const CLOSING = 2;
const CLOSED = 3;

/**
 * `setTimeout` as it was when the kit loaded: a test's fake timers (`vi.useFakeTimers()`,
 * jest's) would hold the close that follows a refusal frame until the test advanced them, and
 * the client would wait for ever.
 */
const realSetTimeout = globalThis.setTimeout.bind(globalThis);

/** A segment no real user id takes, swapped for msw's `:userId` parameter after URL building. */
const USER_SLOT = 'userIdSlot0a7f';

/**
 * One `ws.link()` per URL pattern: msw gives every link a listener on a shared BroadcastChannel
 * that is never removed, so a link per mock server (one per test) would pile them up.
 */
const links = new Map<string, WebSocketLink>();

/**
 * Sockets a mock server has taken. msw runs the connection listener of every matching handler,
 * so two mocks of one URL (a file's backend and a test's `server.use()` override) would both
 * answer one socket: the first in msw's order, the one added last, takes it.
 */
const taken = new WeakSet<MockClient>();

function linkFor(pattern: string): WebSocketLink {
  let link = links.get(pattern);
  if (link === undefined) {
    link = ws.link(pattern);
    links.set(pattern, link);
  }
  return link;
}

class MockServer extends TaskServerBrain implements MockTaskServer {
  readonly handlers: readonly WebSocketHandler[];
  readonly url: string;

  constructor(options: MockTaskServerOptions) {
    super(options, ['baseUrl']);
    this.url = linkPattern(options.baseUrl, this.options.path);
    const link = linkFor(this.url);
    this.handlers = [
      link.addEventListener('connection', ({ client, params }) => this.#connect(client, params)),
    ];
  }

  #connect(client: MockClient, params: Record<string, unknown>): void {
    if (taken.has(client)) return;
    taken.add(client);
    // A socket the app closed in the tick it opened it (React StrictMode, connect() then
    // close()) still reaches msw's connection listener, already closing, and its close event
    // went out before this listener could hear it. A real server never sees such a socket.
    if (closedAlready(client)) return;
    const { userId } = params;
    const url = `${client.url.pathname}${client.url.search}`;
    const connection = this.accept(
      {
        send: (data) => client.send(data),
        // msw drops a frame still queued when close() runs, and a close inside the connection
        // listener cancels the client's `open`: close on the next task, after both.
        close: (code, reason) => {
          realSetTimeout(() => client.close(code, reason), 0);
        },
      },
      { url, userId: typeof userId === 'string' ? userId : String(userId) },
    );
    client.addEventListener('message', (event) => {
      if (typeof event.data === 'string') connection.receive(event.data);
    });
    client.addEventListener('close', (event) => connection.closed(event.code, event.reason));
  }
}

/**
 * Creates a mocked task-status backend on msw's `ws.link()`. Pass its `handlers` to msw; script
 * it with the controls. Under Node 20 msw needs a global `WebSocket` first:
 * `globalThis.WebSocket ??= (await import('ws')).WebSocket`.
 *
 * @throws {TaskStatusError} `INVALID_OPTIONS` for unknown or invalid options.
 * @example
 * ```ts
 * const backend = createMockTaskServer({ baseUrl: 'http://localhost:8000', tokens: { t2: 2 } });
 * const msw = setupServer(...backend.handlers);
 * msw.listen();
 * // … the app connects …
 * backend.pushUpdate(2, { taskId: 42, status: 'running', progress: 40 });
 * backend.completeTask(2, 42, { url: '/report.pdf' });
 * ```
 */
export function createMockTaskServer(options: MockTaskServerOptions = {}): MockTaskServer {
  return new MockServer(options);
}

/** Whether the app's socket is closing or closed; msw's client has it, though its type does not. */
function closedAlready(client: MockClient): boolean {
  const socket = Reflect.get(client, 'socket') as { readyState?: unknown } | undefined;
  return socket?.readyState === CLOSING || socket?.readyState === CLOSED;
}

/** The `ws.link()` pattern: the client's own URL builder, with the user segment as `:userId`. */
function linkPattern(baseUrl: string | undefined, path: string): string {
  if (baseUrl === undefined) {
    const route = path
      .split('/')
      .filter((part) => part !== '')
      .map((part) => (/^\{(userId|user_id)\}$/.test(part) ? ':userId' : part));
    return `*/${route.join('/')}`;
  }
  const url = new URL(buildTaskStatusUrl({ baseUrl, userId: USER_SLOT, token: 't', path }));
  url.search = '';
  return url.href.replace(`/${USER_SLOT}`, '/:userId');
}
