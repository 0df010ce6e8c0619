/**
 * The one place that reaches a WebSocket implementation. Public types are structural, so no DOM
 * or `ws` type leaks into a user's program.
 */
import NodeWebSocket from 'isomorphic-ws';

/** The event a WebSocket passes to `onmessage`. */
export interface MessageEventLike {
  /** The frame's payload: a string for a text frame, binary data (an `ArrayBuffer`) else. */
  readonly data: unknown;
}

/** The event a WebSocket passes to `onclose`. */
export interface CloseEventLike {
  /** The close code. */
  readonly code: number;
  /** The close reason. */
  readonly reason: string;
  /**
   * Whether the closing handshake completed (absent from some test doubles).
   * @default `true` unless `code` is 1006
   */
  readonly wasClean?: boolean;
}

/** The event a WebSocket passes to `onerror` (`message` and `error` exist in Node only). */
export interface ErrorEventLike {
  /** `'error'` (absent from some test doubles). */
  readonly type?: string;
  /**
   * What went wrong, in words (`ws`; Node's own class leaves it empty): the client keeps it for
   * its error message.
   */
  readonly message?: string;
  /** The underlying error (`ws` only). */
  readonly error?: unknown;
}

/**
 * An event handler slot. Written as a method's type, which TypeScript compares both ways, so the
 * DOM's and `ws`'s sockets fit with their own, richer event types (`Event`, `MessageEvent`).
 */
export type EventHandlerLike<E> = { bivariant(event: E): void }['bivariant'] | null;

/** The part of the WHATWG `WebSocket` (and of `ws`) the client uses. */
export interface WebSocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** Set to `'arraybuffer'` by the client, so a binary frame never arrives as a `Blob`. */
  binaryType: string;
  /** Called once the upgrade succeeded. */
  onopen: EventHandlerLike<unknown>;
  /** Called for each frame received. */
  onmessage: EventHandlerLike<MessageEventLike>;
  /** Called once, when the socket has closed or failed to open. */
  onclose: EventHandlerLike<CloseEventLike>;
  /** Called when the socket fails; a close follows. */
  onerror: EventHandlerLike<ErrorEventLike>;
  /** Sends a text frame. */
  send(data: string): void;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
}

/** A WebSocket constructor: the global one, `ws`'s, or a test double. */
export type WebSocketConstructor = new (
  url: string,
  protocols?: string | string[],
) => WebSocketLike;

/** `readyState` of an open socket. */
export const OPEN = 1;

/** `readyState` of a socket whose closing handshake has begun. */
export const CLOSING = 2;

/** `readyState` of a closed socket. */
export const CLOSED = 3;

/**
 * Picks the implementation at connect time (not at import, so msw and test doubles installed
 * later are seen): the option, else the platform's global, else `ws` through isomorphic-ws. On
 * Node, `ws` wins over Node's own global (22+): that one hides the status of a refused upgrade
 * and cannot drop a socket on a dead link, whose closing handshake then never ends and keeps
 * the process alive. A global that a mock replaced (msw wraps it in a Proxy) is still used.
 */
export function pickWebSocket(override: WebSocketConstructor | undefined): WebSocketConstructor {
  if (override !== undefined) return override;
  const global = (globalThis as { WebSocket?: unknown }).WebSocket;
  if (typeof global === 'function' && !isNodeOwn(global)) return global as WebSocketConstructor;
  return NodeWebSocket as unknown as WebSocketConstructor;
}

/**
 * Node's own WebSocket class (undici's, written in JavaScript, checking its arguments with
 * `webidl`). A browser's reads as native code, and so does a Proxy around Node's (msw's). A test
 * double of the app's own (`class WebSocket extends EventTarget`) has no `webidl`, and is used.
 */
function isNodeOwn(global: object): boolean {
  return /^class _?WebSocket extends EventTarget\b.*?\bwebidl\./s.test(
    Function.prototype.toString.call(global),
  );
}

/** A socket with a Node-style emitter beside its `on*` handlers, and `terminate()`: `ws`. */
interface EmitterSocket extends WebSocketLike {
  on(event: string, listener: SocketHandler): unknown;
  off(event: string, listener: SocketHandler): unknown;
  terminate(): void;
}

/**
 * A handler for one socket event. From `ws`'s emitter it gets that event's arguments (`message`:
 * payload and `isBinary`; `close`: code and reason bytes; `error`: the error), else the event.
 */
type SocketHandler = (...args: never[]) => void;

function isEmitter(socket: WebSocketLike): socket is EmitterSocket {
  const candidate = socket as Partial<EmitterSocket>;
  return (
    typeof candidate.on === 'function' &&
    typeof candidate.off === 'function' &&
    typeof candidate.terminate === 'function'
  );
}

/**
 * What an owner (a connection) does with its socket's events. From `ws`'s emitter each gets that
 * event's own arguments (`message`: the payload and `isBinary`; `close`: the code and the reason
 * bytes; `error`: the error); elsewhere each gets the event.
 */
export interface SocketEvents<O> {
  open(owner: O): void;
  message(owner: O, event: MessageEventLike, isBinary?: boolean): void;
  close(owner: O, event: CloseEventLike | number, reasonBytes?: unknown): void;
  error(owner: O, event: ErrorEventLike): void;
}

/** The owner a `ws` socket reports to, kept on the socket itself. */
const OWNER = Symbol('owner');
/** The listeners of a socket that does not call them with itself as `this` (`callsWithSelf`). */
const OWN_LISTENERS = Symbol('listeners');

type Owned<O> = {
  [OWNER]?: O | undefined;
  [OWN_LISTENERS]?: SocketHandlers<O>['shared'] | undefined;
};

/** `SocketEvents` with the `ws` listeners that serve every socket, made once. */
export interface SocketHandlers<O> {
  readonly events: SocketEvents<O>;
  readonly shared: Readonly<Record<'open' | 'message' | 'close' | 'error', SocketHandler>>;
}

/**
 * `ws` calls its emitter's listeners with the socket as `this`, so one set of listeners finds
 * each socket's owner through the socket: an idle connection holds no closure per event. (Its
 * `on*` setters would wrap each handler in a closure with a property store of its own, about 100
 * bytes per handler.)
 */
export function socketHandlers<O>(events: SocketEvents<O>): SocketHandlers<O> {
  return {
    events,
    shared: {
      open(this: Owned<O>) {
        const owner = this[OWNER];
        if (owner !== undefined) events.open(owner);
      },
      message(this: Owned<O>, data: MessageEventLike, isBinary?: boolean) {
        const owner = this[OWNER];
        if (owner !== undefined) events.message(owner, data, isBinary);
      },
      close(this: Owned<O>, code: number, reasonBytes?: unknown) {
        const owner = this[OWNER];
        if (owner !== undefined) events.close(owner, code, reasonBytes);
      },
      error(this: Owned<O>, error: ErrorEventLike) {
        const owner = this[OWNER];
        if (owner !== undefined) events.error(owner, error);
      },
    },
  };
}

/** Sends a socket's events to `owner`. */
export function listen<O>(socket: WebSocketLike, owner: O, handlers: SocketHandlers<O>): void {
  if (isEmitter(socket)) {
    let listeners = handlers.shared;
    if (callsWithSelf(socket)) (socket as Owned<O>)[OWNER] = owner;
    else {
      // Kept on the socket for `unlisten`.
      listeners = ownListeners(handlers.events, owner);
      (socket as Owned<O>)[OWN_LISTENERS] = listeners;
    }
    socket.on('open', listeners.open);
    socket.on('message', listeners.message);
    socket.on('close', listeners.close);
    socket.on('error', listeners.error);
  } else {
    const listeners = ownListeners(handlers.events, owner);
    socket.onopen = listeners.open;
    socket.onmessage = listeners.message;
    socket.onclose = listeners.close;
    socket.onerror = listeners.error;
  }
}

/**
 * Closures of one owner, which need no `this`. They pass on whatever arguments come: an `on*`
 * handler gets the event alone, an emitter listener that event's own arguments.
 */
function ownListeners<O>(events: SocketEvents<O>, owner: O) {
  return {
    open: () => events.open(owner),
    message: (event: MessageEventLike, isBinary?: boolean) =>
      events.message(owner, event, isBinary),
    close: (event: CloseEventLike | number, reasonBytes?: unknown) =>
      events.close(owner, event, reasonBytes),
    error: (event: ErrorEventLike) => events.error(owner, event),
  };
}

/**
 * Stops `listen`'s handlers, leaving a no-op error handler for late errors (an `error` event with
 * no listener would be thrown by `ws`'s emitter).
 */
export function unlisten<O>(socket: WebSocketLike, handlers: SocketHandlers<O>): void {
  if (isEmitter(socket)) {
    const owned = socket as Owned<O>;
    const listeners = owned[OWN_LISTENERS] ?? handlers.shared;
    socket.off('open', listeners.open);
    socket.off('message', listeners.message);
    socket.off('close', listeners.close);
    socket.off('error', listeners.error);
    socket.on('error', ignore);
    if (owned[OWNER] !== undefined) owned[OWNER] = undefined;
    if (owned[OWN_LISTENERS] !== undefined) owned[OWN_LISTENERS] = undefined;
  } else {
    socket.onopen = null;
    socket.onmessage = null;
    socket.onclose = null;
    socket.onerror = ignore;
  }
}

/**
 * Whether the socket's emitter calls the shared listeners with the socket as `this`: a socket of
 * the `ws` this package uses, whose `on` is the emitter's own. A subclass that wraps listeners,
 * or a wrapper that passes them on to a socket inside it, gets closures of its own.
 */
function callsWithSelf(socket: EmitterSocket): boolean {
  return (
    typeof NodeWebSocket === 'function' &&
    socket instanceof NodeWebSocket &&
    socket.on === (NodeWebSocket.prototype as Partial<EmitterSocket>).on
  );
}

/** Calls `handler` once the socket has closed, after `unlisten`. */
export function onceClosed(socket: WebSocketLike, handler: () => void): void {
  if (isEmitter(socket)) socket.on('close', handler);
  else socket.onclose = handler;
}

function ignore(): void {}

/** Drops a socket at once, without a closing handshake, where the platform can (`ws`). */
export function dropSocket(socket: WebSocketLike, code: number, reason: string): void {
  const terminate = (socket as { terminate?: unknown }).terminate;
  try {
    if (typeof terminate === 'function') terminate.call(socket);
    else socket.close(code, reason);
  } catch {
    // A socket that is already closing may refuse; it is being dropped either way.
  }
}
