import { TaskStatusError, truncate } from '../errors.js';
import { CloseCode } from '../protocol/close-codes.js';
import {
  invalidFrameError,
  type ParsedFrame,
  PONG_FRAME,
  parseFrameValue,
  parseServerFrame,
  readJsonObject,
} from '../protocol/parse.js';
import {
  CLOSED,
  CLOSING,
  type CloseEventLike,
  dropSocket,
  type ErrorEventLike,
  listen,
  type MessageEventLike,
  OPEN,
  onceClosed,
  type SocketHandlers,
  socketHandlers,
  unlisten,
  type WebSocketConstructor,
  type WebSocketLike,
} from '../transport/websocket.js';
import { isAuthError } from './close-policy.js';
import type { MessageFrame } from './events.js';
import { hasNetworkEvents, listenNetwork } from './online.js';
import type { Complete, HeartbeatOptions } from './options.js';
import { rethrowLater } from './rethrow.js';

/** The timing and size settings of a connection: the client's own options object serves. */
export interface ConnectionSettings {
  readonly authGraceMs: number;
  readonly heartbeat: Complete<HeartbeatOptions> | false;
  readonly maxFrameBytes: number;
}

/** How a connection ended, with the facts the close policy needs. */
export interface ConnectionEnd {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
  /** The socket reached `open`. */
  readonly opened: boolean;
  /** The server accepted the token. */
  readonly accepted: boolean;
  /** Accepted only by quiet (`authGraceMs`, or the open with 0), and no valid frame came since. */
  readonly presumed: boolean;
  /** An auth error the server sent (error frame or plain text), if any. */
  readonly authError: { readonly code: string | null; readonly message: string | null } | undefined;
  /** HTTP status of a refused upgrade, where visible (Node). */
  readonly httpStatus: number | undefined;
  /** The transient error this end amounts to if it is not an auth failure. */
  readonly error: TaskStatusError;
}

/**
 * What a connection reports to its owner. One listener object serves every owner (each call
 * names it), so a connection adds no closures of its owner's to the heap.
 */
export interface ConnectionListener<O> {
  /**
   * The server accepted the token: by an ack or any valid frame, or `presumed` from
   * `authGraceMs` of quiet.
   */
  accepted(owner: O, connection: Connection<O>, presumed: boolean): void;
  /** A valid frame, after `accepted`. */
  frame(owner: O, parsed: MessageFrame): void;
  /** A non-fatal problem: bad frame, unknown type, server error frame. */
  problem(owner: O, error: TaskStatusError): void;
  /** A heartbeat round trip. */
  roundTrip(owner: O, rttMs: number): void;
  /** The connection is over; called exactly once, unless the owner closed it. */
  ended(owner: O, connection: Connection<O>, end: ConnectionEnd): void;
  /** Masks the token in any text that may reach a user. */
  scrub(owner: O, text: string): string;
}

type Phase = 'opening' | 'verdict' | 'accepted' | 'ended';

/** A frame that is not delivered as it is: an error, plain text, an unknown or an invalid one. */
type OddFrame = Extract<ParsedFrame, { kind: 'error' | 'text' | 'unknown' | 'invalid' }>;

/**
 * What the one timer of a connection is waiting for: the connect deadline, the end of the auth
 * grace period, the next ping, an answer to the last one, the close that would make an error
 * frame after the verdict a refusal, or the close event a closed socket's error should bring.
 */
type Due =
  | typeof NOTHING
  | typeof DEADLINE
  | typeof GRACE
  | typeof PING
  | typeof ANSWER
  | typeof LAST_CALL
  | typeof CLOSE_AFTER_ERROR
  | typeof MISSING_CLOSE;
const NOTHING = 0;
const DEADLINE = 1;
const GRACE = 2;
const PING = 3;
const ANSWER = 4;
const CLOSE_AFTER_ERROR = 5;
const MISSING_CLOSE = 6;
/** An answer's deadline has passed: the frames read in the next turn still count. */
const LAST_CALL = 7;

/**
 * How long a close may lag the error frame it belongs to after the verdict. A refusing server
 * closes right after its frame; a close later than this is an ordinary drop.
 */
const REFUSAL_CLOSE_MS = 1_000;

/**
 * Closes of a server going away, restarting or overloaded: no refusal of the token, whatever
 * frame came before them (no server refuses a token so).
 */
const SERVER_RESTART: ReadonlySet<number> = new Set([
  CloseCode.GoingAway,
  CloseCode.ServiceRestart,
  CloseCode.TryAgainLater,
]);

/**
 * A server error, and a drop with no close frame (a killed process; a refusing server closes).
 * After an error frame they are a refusal, as a handler that sends the error and then raises
 * ends so; after plain text or an odd frame, only if it speaks of credentials (`isAuthError`).
 */
const SERVER_FAILED: ReadonlySet<number> = new Set([CloseCode.InternalError, CloseCode.Abnormal]);

const HTTP_STATUS = /Unexpected server response: (\d{3})/;

/** A `\uXXXX` escape (its hex captured), or an escaped `/`. */
const JSON_ESCAPE = /\\u([0-9a-fA-F]{4})|\\\//g;

/** The socket handlers of every connection (see `socketHandlers`). */
let SOCKET_HANDLERS: SocketHandlers<Connection<unknown>>;

/**
 * One socket's life: open it, wait for the auth verdict, keep it alive with heartbeats, parse
 * its frames, and report how it ended. Reconnecting is the owner's business.
 *
 * Every wait (connect deadline, auth grace, ping interval, pong timeout) runs on one timer, whose
 * handler is the connection's only closure on `ws` (its socket handlers are shared by every
 * connection), so an idle connection costs little beyond its socket.
 */
export class Connection<O> {
  static {
    SOCKET_HANDLERS = socketHandlers<Connection<unknown>>({
      open: (connection) => connection.#onOpen(),
      message: (connection, event, isBinary) => connection.#onMessage(event, isBinary),
      close: (connection, event, reasonBytes) => connection.#onClose(event, reasonBytes),
      error: (connection, event) => connection.#onError(event),
    });
  }

  readonly #settings: ConnectionSettings;
  readonly #listener: ConnectionListener<O>;
  readonly #owner: O;
  readonly #socket: WebSocketLike;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #due: Due = NOTHING;
  /** Time allowed for the opening handshake plus the verdict, for the timeout's message. */
  readonly #timeoutMs: number;
  /** When the connect deadline passes (epoch ms). */
  readonly #deadlineAt: number;
  #phase: Phase = 'opening';
  #authError: ConnectionEnd['authError'];
  /** The pending auth error came from a frame that only looked like one (no `type: error`). */
  #authErrorGuessed = false;
  /** Accepted only because the server stayed quiet for authGraceMs, and still quiet since. */
  #presumed = false;
  /** A frame arrived since the last ping. */
  #alive = false;
  #pingSentAt = 0;
  #failure: string | undefined;
  #closed: (() => void) | undefined;
  /** Removes the `online` and `offline` listener of a browser connection (see `#pingOnNetworkChange`). */
  #stopOnline: (() => void) | undefined;
  /** The network went or came back before the verdict: the link is checked once accepted. */
  #networkChanged = false;
  /** Frames received and not yet handled; a drain is queued while there are any. */
  #inbox: unknown[] | undefined;
  /**
   * Error, text and odd frames held while a close may still make them a refusal (an odd frame
   * as the problem it is reported as).
   */
  #held: (ParsedFrame | TaskStatusError)[] | undefined;

  constructor(
    url: string,
    WebSocket: WebSocketConstructor,
    settings: ConnectionSettings,
    listener: ConnectionListener<O>,
    owner: O,
    /** Time allowed for the opening handshake plus the auth verdict. */
    timeoutMs: number,
  ) {
    this.#settings = settings;
    this.#listener = listener;
    this.#owner = owner;
    const socket = new WebSocket(url);
    this.#socket = socket;
    socket.binaryType = 'arraybuffer';
    listen(socket, this as Connection<unknown>, SOCKET_HANDLERS);
    this.#timeoutMs = timeoutMs;
    this.#deadlineAt = Date.now() + timeoutMs;
    this.#wait(DEADLINE, timeoutMs);
    this.#pingOnNetworkChange();
  }

  /**
   * Closes the socket on the user's behalf. Resolves when the close handshake ends, or after
   * `graceMs`, when the socket is dropped. `ended` is not called.
   */
  close(code: number, reason: string, graceMs = 1_000): Promise<void> {
    if (this.#phase === 'ended') return Promise.resolve();
    const wasOpen = this.#socket.readyState === OPEN;
    this.#finish();
    if (!wasOpen) {
      dropSocket(this.#socket, code, reason);
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        dropSocket(this.#socket, code, reason);
        this.#closed?.();
      }, graceMs);
      this.#closed = () => {
        clearTimeout(timer);
        this.#closed = undefined;
        resolve();
      };
      onceClosed(this.#socket, () => this.#closed?.());
      try {
        this.#socket.close(code, reason);
      } catch {
        this.#closed?.();
      }
    });
  }

  #send(frame: string): void {
    if (this.#socket.readyState !== OPEN) return;
    try {
      this.#socket.send(frame);
    } catch {
      // A send racing a close is harmless: the close event follows.
    }
  }

  #scrub(text: string): string {
    return this.#listener.scrub(this.#owner, text);
  }

  /**
   * A frame masked for an error message. JSON escapes can spell the token in a form of their
   * own (`\u0061…`, `\/`): a frame that holds any is also read with those decoded, as text
   * (whatever its nesting or repeated keys), and shown so if that names the token.
   */
  #scrubFrame(data: string): string {
    const safe = this.#scrub(data);
    if (!data.includes('\\')) return safe;
    const decoded = data.replace(JSON_ESCAPE, (sequence: string, hex: string | undefined) =>
      hex === undefined ? sequence.slice(1) : String.fromCharCode(Number.parseInt(hex, 16)),
    );
    const masked = this.#scrub(decoded);
    return masked === decoded ? safe : masked;
  }

  /** Points the one timer at `due`, replacing whatever it waited for. */
  #wait(due: Due, delayMs: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#due = due;
    this.#timer = setTimeout(this.#onTimer, Math.max(0, delayMs));
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#due = NOTHING;
  }

  /** Back to the connect deadline, e.g. when an error frame ends the grace period early. */
  #waitForDeadline(): void {
    this.#wait(DEADLINE, this.#deadlineAt - Date.now());
  }

  readonly #onTimer = (): void => {
    const due = this.#due;
    this.#timer = undefined;
    this.#due = NOTHING;
    if (due === DEADLINE) this.#onDeadline();
    else if (due === GRACE) {
      this.#presumed = true;
      this.#accept();
    } else if (due === PING) this.#ping();
    else if (due === ANSWER || due === LAST_CALL) this.#checkAnswer(due);
    else if (due === CLOSE_AFTER_ERROR) this.#closeOrRelease();
    else if (due === MISSING_CLOSE) this.#onClose(CloseCode.Abnormal);
  };

  #onOpen(): void {
    if (this.#phase !== 'opening') return;
    this.#phase = 'verdict';
    const graceMs = this.#settings.authGraceMs;
    if (graceMs === 0) {
      // Accepted as it opens, on no word from the server: a refusal may still follow.
      this.#presumed = true;
      this.#accept();
    }
    // The deadline still bounds the verdict: whichever comes first is waited for.
    else if (Date.now() + graceMs < this.#deadlineAt) this.#wait(GRACE, graceMs);
  }

  #accept(): void {
    if (this.#phase !== 'verdict') return;
    this.#phase = 'accepted';
    this.#beat();
    this.#listener.accepted(this.#owner, this, this.#presumed);
    // Quiet after an odd or text frame: a close soon after it still makes that frame a refusal.
    if (this.#authError !== undefined && this.#phase === 'accepted') this.#expectClose(undefined);
    // The quiet that made the verdict may have been the network's: the link is checked now.
    if (this.#networkChanged && this.#phase === 'accepted' && this.#due === PING) this.#ping();
  }

  /**
   * Plans the next ping an interval after the server last spoke (`sinceMs` ago), or stops the
   * timer without heartbeats.
   */
  #beat(sinceMs = 0): void {
    const heartbeat = this.#settings.heartbeat;
    if (heartbeat === false) this.#stopTimer();
    else this.#wait(PING, heartbeat.intervalMs - sinceMs);
  }

  /**
   * An error (or guessed error) frame after the verdict: a close soon after it makes it a
   * refusal. Until then the frame is held; the heartbeat waits, since the server just spoke.
   */
  #expectClose(held: ParsedFrame | TaskStatusError | undefined): void {
    if (held !== undefined) this.#hold(held);
    if (this.#due === CLOSE_AFTER_ERROR) return;
    this.#wait(CLOSE_AFTER_ERROR, REFUSAL_CLOSE_MS);
  }

  /**
   * No `close` event within a second of the error frame. A socket already closing has the
   * server's close frame, and fires `close` once the closing handshake is over, a round trip
   * later: on a slow link that is more than a second, so it is waited for.
   */
  #closeOrRelease(): void {
    if (this.#socket.readyState === CLOSING) this.#wait(CLOSE_AFTER_ERROR, REFUSAL_CLOSE_MS);
    else this.#release(REFUSAL_CLOSE_MS);
  }

  #hold(parsed: ParsedFrame | TaskStatusError): void {
    this.#held ??= [];
    this.#held.push(parsed);
  }

  /**
   * No close came (the server last spoke `sinceMs` ago), or a valid frame did: the frames held
   * were no refusal. Reports them now; true if a listener ended the connection meanwhile.
   */
  #release(sinceMs = 0): boolean {
    this.#presumed = false;
    this.#beat(sinceMs);
    return this.#reportHeld();
  }

  /**
   * Reports the frames held as a possible refusal, which they were not. True if a listener
   * ended the connection meanwhile: the rest then goes, as a detached handler's would.
   */
  #reportHeld(): boolean {
    const held = this.#held ?? [];
    this.#held = undefined;
    this.#authError = undefined;
    for (const parsed of held) {
      if (this.#phase === 'ended') return true;
      if (parsed instanceof TaskStatusError) this.#listener.problem(this.#owner, parsed);
      else this.#report(parsed);
    }
    return this.#phase === 'ended';
  }

  /**
   * In a browser, the `online` and `offline` events send a ping at once: a link that died while
   * the network was away, or as it went, is then found within `timeoutMs`, not up to an interval
   * later. An event before the verdict has the link checked once the token counts as accepted.
   * Node has no such events, and nothing is added there.
   */
  #pingOnNetworkChange(): void {
    if (this.#settings.heartbeat === false || !hasNetworkEvents()) return;
    this.#stopOnline = listenNetwork(() => {
      if (this.#phase !== 'accepted') this.#networkChanged = true;
      // Not while a ping waits for its answer, nor while a refusal's close may come.
      else if (this.#due === PING) this.#ping();
    });
  }

  /** Sends a ping and expects any frame within `timeoutMs`. */
  #ping(): void {
    const heartbeat = this.#settings.heartbeat;
    if (heartbeat === false) return;
    this.#alive = false;
    this.#pingSentAt = Date.now();
    this.#wait(ANSWER, heartbeat.timeoutMs);
    this.#send(heartbeat.message);
  }

  #checkAnswer(due: typeof ANSWER | typeof LAST_CALL): void {
    const heartbeat = this.#settings.heartbeat;
    if (heartbeat === false) return;
    if (!this.#alive) {
      // After the event loop stalled (sync work, a frozen page), an overdue timer runs before
      // the frames that came meanwhile are read: they get that one turn before the verdict.
      if (due === ANSWER) this.#wait(LAST_CALL, 0);
      else this.#abandon(heartbeatTimeout(heartbeat));
      return;
    }
    // Frames kept coming though no pong did (a server that ignores pings): still alive.
    this.#wait(PING, heartbeat.intervalMs - heartbeat.timeoutMs);
  }

  /** A pong: report the round trip and plan the next ping on the usual beat. */
  #onPong(): void {
    const heartbeat = this.#settings.heartbeat;
    if ((this.#due !== ANSWER && this.#due !== LAST_CALL) || heartbeat === false) return;
    const now = Date.now();
    this.#wait(PING, this.#pingSentAt + heartbeat.intervalMs - now);
    this.#listener.roundTrip(this.#owner, now - this.#pingSentAt);
  }

  /**
   * `event` is a `MessageEvent`, or from `ws`'s emitter the payload and its `isBinary` flag (a
   * text frame's payload is a Buffer: its `toString()` decodes it, a little faster than `String`).
   *
   * Frames are not handled here but queued, and the queue is drained in a microtask: every frame
   * of one socket read (`ws` hands over hundreds of small frames from one TCP read, one after
   * the other) is then handled in one run of the client's code, which keeps that code hot in the
   * CPU's caches instead of taking turns with `ws`'s. A browser delivers each frame in its own
   * task, so there a drain holds one frame. Order is kept: the close and error handlers drain
   * first.
   */
  #onMessage(event: MessageEventLike, isBinary?: boolean): void {
    const data = isBinary === undefined ? event.data : isBinary ? event : event.toString();
    this.#alive = true;
    const inbox = this.#inbox;
    if (inbox !== undefined) inbox.push(data);
    else {
      this.#inbox = [data];
      queueMicrotask(() => this.#drain());
    }
  }

  /**
   * Handles the queued frames in order. A listener that ends the connection (a `close()` from a
   * `task` listener) drops the rest, as a detached handler would. Listeners' errors never reach
   * here (the client's `emit` reports them); other user code the owner runs for a frame, such as
   * a `taskSchema` that throws, costs only that frame: its error is thrown again from a microtask
   * of its own and the next frame is handled.
   *
   * The work runs in three loops over the frames: `JSON.parse`, then the frame check, then the
   * rest (the table, the listeners). Each loop keeps less code hot at a time than one loop that
   * does everything for each frame in turn: 0.96–0.98× of raw `ws` against 0.89–0.90×. Parsing
   * and checking depend on nothing that handling a frame changes, so only the work is reordered.
   * The first two loops take the JSON objects within `maxFrameBytes`; `#parse` takes the rest.
   */
  #drain(): void {
    const inbox = this.#inbox;
    if (inbox === undefined) return;
    this.#inbox = undefined;
    const max = this.#settings.maxFrameBytes;
    const values: unknown[] = [];
    for (const data of inbox)
      values.push(isSmallText(data, max) ? readJsonObject(data) : undefined);
    const parsed: (ParsedFrame | undefined)[] = [];
    for (let next = 0; next < inbox.length; next++) {
      const value = values[next];
      parsed.push(value === undefined ? undefined : parseFrameValue(value, inbox[next] as string));
    }
    for (let next = 0; next < inbox.length && this.#phase !== 'ended'; next++) {
      try {
        this.#handle(inbox[next], parsed[next]);
      } catch (error) {
        rethrowLater(error);
      }
    }
  }

  /** One received frame, parsed already (`early`) or not yet: answered or passed on. */
  #handle(data: unknown, early: ParsedFrame | undefined): void {
    const parsed = early ?? this.#parse(data);
    if (parsed === undefined) return;
    switch (parsed.kind) {
      case 'task_update':
      case 'connected':
        this.#deliver(parsed);
        return;
      case 'ping':
        this.#send(parsed.format === 'json' ? PONG_FRAME : 'pong');
        this.#deliver(parsed);
        return;
      case 'pong':
        this.#onPong();
        this.#deliver(parsed);
        return;
      default:
        // Parsed, so a text frame.
        this.#onOddFrame(parsed, data as string);
    }
  }

  /**
   * A frame the drain did not parse: binary (dropped), one that may be over `maxFrameBytes`
   * (measured first), plain text or malformed JSON. `undefined` when it is dropped.
   */
  #parse(data: unknown): ParsedFrame | undefined {
    if (typeof data !== 'string') {
      this.#listener.problem(
        this.#owner,
        new TaskStatusError(
          'PROTOCOL_ERROR',
          'Binary frame from server dropped: the protocol uses text frames only',
        ),
      );
      return undefined;
    }
    // A UTF-16 unit is at most 3 UTF-8 bytes, so only long frames need counting.
    const max = this.#settings.maxFrameBytes;
    const bytes = data.length * 3 > max ? utf8Length(data) : 0;
    if (bytes > max) {
      this.#listener.problem(
        this.#owner,
        new TaskStatusError(
          'FRAME_TOO_LARGE',
          `Frame of ${bytes} bytes dropped: larger than maxFrameBytes (${max})`,
        ),
      );
      return undefined;
    }
    return parseServerFrame(data);
  }

  #deliver(parsed: MessageFrame): void {
    if (this.#authError !== undefined) {
      // A real error frame before the verdict stands. A valid frame undoes a guessed one, and one
      // that came while acceptance was only presumed: the token works.
      if (!this.#authErrorGuessed && this.#phase === 'verdict') return;
      if (this.#authErrorGuessed || this.#presumed) this.#authError = undefined;
    }
    if (this.#phase === 'verdict') this.#accept();
    if (this.#phase === 'accepted') {
      // A listener of a held frame may close the client: this frame then goes, as the rest do.
      if (this.#authError === undefined && this.#held !== undefined && this.#release()) return;
      this.#presumed = false;
      this.#listener.frame(this.#owner, parsed);
    }
  }

  /** Error, text, unknown and invalid frames. Secrets are masked before anything is cut. */
  #onOddFrame(parsed: OddFrame, data: string): void {
    if (parsed.kind === 'text' && this.#phase === 'verdict') {
      // Plain text before the verdict is a refusal or a greeting: as for an odd frame, a close
      // decides. Held, it becomes a text message if none comes.
      if (this.#authError === undefined || this.#authErrorGuessed) {
        this.#authError = { code: null, message: this.#errorParts(parsed)[1] };
        this.#authErrorGuessed = true;
      }
      this.#hold(parsed);
      return;
    }
    if (parsed.kind === 'error' || parsed.kind === 'text') {
      const [code, message] = this.#errorParts(parsed);
      // After the verdict too while it is only presumed (quiet for authGraceMs, nothing since):
      // a slow server may check the token for longer than that and only then refuse it.
      if (this.#phase !== 'accepted' || this.#presumed || isAuthError(code, message)) {
        // Before the verdict an error means "token refused"; the server closes next. It is held:
        // a server that restarts instead (see `SERVER_RESTART`) has it reported.
        this.#authError = { code, message };
        this.#authErrorGuessed = false;
        if (this.#due === GRACE) this.#waitForDeadline();
        if (this.#phase === 'accepted') this.#expectClose(parsed);
        else this.#hold(parsed);
      } else this.#report(parsed);
      return;
    }
    const safeFrame = this.#scrubFrame(data);
    let problem: TaskStatusError;
    if (parsed.kind === 'unknown') {
      const frame = truncate(safeFrame);
      const type = truncate(this.#scrub(parsed.type), 50);
      problem = new TaskStatusError(
        'UNKNOWN_FRAME',
        `Frame of unknown type "${type}" ignored: ${frame}`,
        { frame },
      );
    } else problem = invalidFrameError(safeFrame, parsed.error.issues ?? []);
    if (this.#phase === 'verdict' || this.#presumed) {
      // An odd frame before the verdict, then a close, reads as a refusal; FastAPI apps often
      // send `{"detail": "…"}` or their own error type. It is held, as plain text is: a close
      // makes it the refusal's message, and a valid frame or a second of quiet reports it. Unlike
      // a real error frame it does not stop the grace period: quiet still means accepted.
      // Parsing decodes JSON escapes, which can spell the token in a form the frame did not.
      if (this.#authError === undefined) {
        this.#authError = { code: null, message: truncate(this.#scrub(guessMessage(data)), 500) };
        this.#authErrorGuessed = true;
      }
      if (this.#phase === 'accepted') this.#expectClose(problem);
      else this.#hold(problem);
    } else this.#listener.problem(this.#owner, problem);
  }

  /** An error frame's code and message, or a text frame's text, masked and cut. */
  #errorParts(parsed: ParsedFrame): [code: string | null, message: string | null] {
    const code =
      parsed.kind === 'error' && parsed.code !== null
        ? truncate(this.#scrub(parsed.code), 100)
        : null;
    const message =
      parsed.kind === 'error' ? parsed.message : parsed.kind === 'text' ? parsed.text : null;
    return [code, message === null ? null : truncate(this.#scrub(message), 500)];
  }

  /** An error or text frame that is no refusal: a `SERVER_ERROR` problem, or a text message. */
  #report(parsed: ParsedFrame): void {
    if (parsed.kind === 'text') {
      this.#listener.frame(this.#owner, { kind: 'text', text: this.#scrub(parsed.text) });
      return;
    }
    const [code, message] = this.#errorParts(parsed);
    this.#listener.problem(
      this.#owner,
      new TaskStatusError(
        'SERVER_ERROR',
        `Server error${code ? ` (${code})` : ''}: ${message ?? 'no message'}`,
        {
          ...(code === null ? {} : { serverCode: code }),
          ...(message === null ? {} : { serverMessage: message }),
        },
      ),
    );
  }

  #onError(event: ErrorEventLike): void {
    this.#drain();
    const message = event?.message;
    // Node's own WebSocket gives every drop an error event whose message is empty: no words.
    if (typeof message === 'string' && message !== '') {
      // OpenSSL's own words (`write EPROTO 80…:error:0A00010B:SSL routines:ssl3_get_record:wrong
      // version number:<source file>:350:` and a newline) come down to their reason.
      const openssl = OPENSSL_REASON.exec(message)?.[1];
      this.#failure = this.#scrub(openssl === undefined ? message : `TLS failed: ${openssl}`);
    }
    // Chromium fires no close after the error of a socket that the page's Content-Security-Policy
    // blocked, though the socket is closed: once this task is over, end it as that close would.
    if (this.#socket.readyState === CLOSED && this.#phase !== 'ended') this.#wait(MISSING_CLOSE, 0);
  }

  /** `event` is a `CloseEvent`, or from `ws`'s emitter the close code and the reason bytes. */
  #onClose(event: CloseEventLike | number, reasonBytes?: unknown): void {
    // Frames that came before the close are handled before it, whatever the transport's timing.
    this.#drain();
    if (this.#phase === 'ended') return;
    const opened = this.#phase !== 'opening';
    const accepted = this.#phase === 'accepted';
    const fromEmitter = typeof event === 'number';
    const code = fromEmitter
      ? event
      : typeof event?.code === 'number'
        ? event.code
        : CloseCode.Abnormal;
    const text = fromEmitter ? String(reasonBytes ?? '') : event?.reason;
    const reason = this.#scrub(typeof text === 'string' ? text : '');
    const wasClean = (fromEmitter ? undefined : event?.wasClean) ?? code !== CloseCode.Abnormal;
    // A server going away or restarting (uvicorn closes with 1012 as it reloads, or drops the
    // socket in older releases) says nothing of the token: the frame before it was no refusal (a
    // greeting, say), and is reported before the close, unless a listener ends it.
    const said = this.#authError;
    const gone =
      said !== undefined &&
      (SERVER_RESTART.has(code) ||
        (this.#authErrorGuessed &&
          SERVER_FAILED.has(code) &&
          !isAuthError(said.code, said.message)));
    if (gone && this.#reportHeld()) return;
    this.#finish();
    const statusMatch = this.#failure === undefined ? null : HTTP_STATUS.exec(this.#failure);
    const httpStatus = statusMatch?.[1] === undefined ? undefined : Number(statusMatch[1]);
    this.#listener.ended(this.#owner, this, {
      code,
      reason,
      wasClean,
      opened,
      accepted,
      presumed: accepted && this.#presumed,
      authError: this.#authError,
      httpStatus,
      error: this.#transientError(code, reason, opened, accepted, httpStatus),
    });
  }

  #transientError(
    code: number,
    reason: string,
    opened: boolean,
    accepted: boolean,
    httpStatus: number | undefined,
  ): TaskStatusError {
    const details = { closeCode: code, closeReason: reason };
    if (httpStatus !== undefined) {
      return new TaskStatusError(
        'HANDSHAKE_REJECTED',
        `The server answered the WebSocket upgrade with HTTP ${httpStatus} instead of 101`,
        { ...details, httpStatus },
      );
    }
    if (!opened) {
      // A browser gives no reason (and shows a refused upgrade as 1006): say what it may hide.
      const why = this.#failure
        ? `: ${this.#failure} (close ${code})`
        : ` (close ${code}, no reason given): the server may be unreachable, have refused the path or the token, or, over wss:, have a certificate that is not trusted here`;
      return new TaskStatusError('CONNECTION_ERROR', `Could not open the WebSocket${why}`, details);
    }
    // The socket's own error, where it gave one (`ws`: a reset, a frame over its 100 MiB limit,
    // invalid UTF-8), says more than the close code it leads to, and that the server did not close.
    const verdict = accepted ? '' : ' before the auth verdict';
    // 1006: no close frame came, so it is not known who ended it (a reset, a killed process).
    const when =
      this.#failure !== undefined
        ? `Connection failed${verdict}: ${this.#failure}`
        : code === CloseCode.Abnormal
          ? `Connection dropped${verdict}`
          : `Connection closed${accepted ? ' by server' : verdict}`;
    return new TaskStatusError(
      'CONNECTION_LOST',
      `${when} (close ${code}${reason ? ` "${reason}"` : ''})`,
      details,
    );
  }

  #onDeadline(): void {
    if (this.#phase === 'opening' || this.#phase === 'verdict') {
      const what = this.#phase === 'opening' ? 'opening handshake' : 'auth verdict';
      this.#abandon(
        new TaskStatusError(
          'HANDSHAKE_TIMEOUT',
          `Timed out after ${this.#timeoutMs} ms waiting for the ${what}`,
          { closeCode: CloseCode.Abnormal },
        ),
      );
    }
  }

  /** Ends the connection from our side without waiting for the peer. */
  #abandon(error: TaskStatusError): void {
    if (this.#phase === 'ended') return;
    const opened = this.#phase !== 'opening';
    const accepted = this.#phase === 'accepted';
    this.#finish();
    dropSocket(this.#socket, CloseCode.Normal, '');
    this.#listener.ended(this.#owner, this, {
      code: CloseCode.Abnormal,
      reason: '',
      wasClean: false,
      opened,
      accepted,
      presumed: accepted && this.#presumed,
      authError: this.#authError,
      httpStatus: undefined,
      error,
    });
  }

  /** Stops every timer and detaches from the socket, keeping a no-op error handler for late errors. */
  #finish(): void {
    this.#phase = 'ended';
    this.#stopTimer();
    this.#stopOnline?.();
    this.#stopOnline = undefined;
    unlisten(this.#socket, SOCKET_HANDLERS);
  }
}

/** The human part of an odd frame: its `message`, `detail` or `error` string, else the frame. */
function guessMessage(data: string): string {
  try {
    const frame = JSON.parse(data) as Record<string, unknown>;
    for (const key of ['message', 'detail', 'error', 'reason']) {
      const value = frame?.[key];
      if (typeof value === 'string') return value;
    }
  } catch {
    // Not JSON: the text itself is the message.
  }
  return data;
}

/**
 * A text frame surely within `max` bytes (a UTF-16 unit is at most 3 UTF-8 bytes). Any other
 * is left to `#parse`, which measures a long one before it parses it, and drops a binary one.
 */
function isSmallText(data: unknown, max: number): data is string {
  return typeof data === 'string' && data.length * 3 <= max;
}

/** UTF-8 length of a string, without allocating an encoded copy. */
function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.codePointAt(i) as number;
    // 2 bytes below U+0800; 3 for the rest of the BMP and a lone surrogate (written as U+FFFD);
    // 4 for a surrogate pair, whose 2 units are one code point.
    if (code >= 0x80) bytes += code < 0x800 ? 1 : 2;
    if (code > 0xffff) i++;
  }
  return bytes;
}

/** The reason in an OpenSSL error line: `…:error:<code>:<library>:<function>:<reason>:…`. */
const OPENSSL_REASON = /:error:\w+:[^:]*:[^:]*:([^:]+)/;

function heartbeatTimeout(options: Complete<HeartbeatOptions>): TaskStatusError {
  return new TaskStatusError(
    'HEARTBEAT_TIMEOUT',
    `No frame from the server within ${options.timeoutMs} ms of a ping: connection presumed dead`,
    { closeCode: CloseCode.Abnormal },
  );
}
