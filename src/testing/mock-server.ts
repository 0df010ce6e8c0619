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
import { decodeUserSegment, type TaskServerControls, type TaskServerOptions } from './types.js';

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
  /**
   * The URL the handlers match, e.g. `ws://localhost:8000/api/v1/ws/tasks/:userId`, where
   * `:userId` is one path segment and `*` any origin; they match it exactly, case included.
   */
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
 * that is never removed, so a link per mock server (one per test) would pile them up. (msw also
 * adds one per open connection, which no link sharing avoids.)
 */
const links = new Map<string, WebSocketLink>();

/** One path segment. */
const SEGMENT = '[^/]+';
/** Any `ws:` or `wss:` origin, for a mock with no `baseUrl`. */
const ANY_ORIGIN = 'wss?://[^/]+';

/**
 * Sockets a mock server has taken. msw runs the connection listener of every matching handler,
 * so two mocks of one URL (a file's backend and a test's `server.use()` override) would both
 * answer one socket: the first in msw's order, the one added last, takes it.
 */
const taken = new WeakSet<MockClient>();

function linkFor(pattern: RegExp): WebSocketLink {
  let link = links.get(pattern.source);
  if (link === undefined) {
    link = ws.link(pattern);
    links.set(pattern.source, link);
  }
  return link;
}

class MockServer extends TaskServerBrain implements MockTaskServer {
  readonly handlers: readonly WebSocketHandler[];
  readonly url: string;

  /** The socket route's path, the user segment captured. */
  readonly #path: RegExp;

  constructor(options: MockTaskServerOptions) {
    super(options, ['baseUrl']);
    const route = canonicalRoute(options.baseUrl, this.options.path);
    this.url = `${route.origin ?? '*'}${route.before}/:userId${route.after}`;
    this.#path = new RegExp(`^${literal(route.before)}/(${SEGMENT})${literal(route.after)}$`);
    const link = linkFor(linkRegExp(route));
    this.handlers = [link.addEventListener('connection', ({ client }) => this.#connect(client))];
  }

  #connect(client: MockClient): void {
    if (taken.has(client)) return;
    taken.add(client);
    // A socket the app closed in the tick it opened it (React StrictMode, connect() then
    // close()) still reaches msw's connection listener, already closing, and its close event
    // went out before this listener could hear it. A real server never sees such a socket.
    if (closedAlready(client)) return;
    const segment = this.#path.exec(client.url.pathname)?.[1];
    const userId = segment === undefined ? undefined : decodeUserSegment(segment);
    if (userId === undefined) {
      // A path the real server answers with 404 that msw lets through (a user segment of
      // `%FF` or `a%2Fb`; a trailing slash, which msw strips when no query follows): closed
      // before it opens, as a browser reports a refused handshake.
      client.close(1006, '');
      return;
    }
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
      { url, userId },
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

/** The canonical socket URL of a mock: its origin (none for any) and the path around the user. */
interface CanonicalRoute {
  readonly origin: string | undefined;
  readonly before: string;
  readonly after: string;
}

/** The client's own URL builder's answer, with the user segment cut out. */
function canonicalRoute(baseUrl: string | undefined, path: string): CanonicalRoute {
  const built = buildTaskStatusUrl({
    baseUrl: baseUrl ?? 'http://any-origin.invalid',
    userId: USER_SLOT,
    token: 't',
    path,
  });
  const url = new URL(built);
  const [before = '', after = ''] = url.pathname.split(`/${USER_SLOT}`);
  return { origin: baseUrl === undefined ? undefined : url.origin, before, after };
}

/**
 * The RegExp msw matches a socket's origin and path against: exactly the canonical URL, case
 * and trailing slash included, as the backend's router matches. A string would be a path
 * pattern to msw, where `(`, `*`, `+` or an IPv6 host mean something else, and which msw
 * matches ignoring case and a trailing slash. No group: msw would percent-decode it, and throw
 * for a malformed one.
 */
function linkRegExp(route: CanonicalRoute): RegExp {
  const origin = route.origin === undefined ? ANY_ORIGIN : literal(route.origin);
  return new RegExp(`^${origin}${literal(route.before)}/${SEGMENT}${literal(route.after)}$`);
}

/** `text` as a RegExp source that matches it and nothing else. */
function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
