import { TaskStatusError, truncate } from '../errors.js';
import { CloseCode } from '../protocol/close-codes.js';
import {
  invalidFrameError,
  type ParsedFrame,
  PING_FRAME,
  PONG_FRAME,
  parseServerFrame,
} from '../protocol/parse.js';
import {
  type CloseEventLike,
  dropSocket,
  type ErrorEventLike,
  type MessageEventLike,
  OPEN,
  type WebSocketConstructor,
  type WebSocketLike,
} from '../transport/websocket.js';
import { isAuthErrorCode } from './close-policy.js';
import { Heartbeat } from './heartbeat.js';
import type { HeartbeatOptions } from './options.js';
import { Timer } from './timers.js';

/** Everything one connection needs to know, fixed for its life. */
export interface ConnectionSettings {
  readonly url: string;
  readonly WebSocket: WebSocketConstructor;
  readonly connectTimeoutMs: number;
  readonly authGraceMs: number;
  readonly heartbeat: Readonly<Required<HeartbeatOptions>> | false;
  readonly maxFrameBytes: number;
  /** Masks the token in any text that may reach a user. */
  readonly scrub: (text: string) => string;
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
  /** An auth error the server sent (error frame or plain text), if any. */
  readonly authError: { readonly code: string | null; readonly message: string | null } | undefined;
  /** HTTP status of a refused upgrade, where visible (Node). */
  readonly httpStatus: number | undefined;
  /** The transient error this end amounts to if it is not an auth failure. */
  readonly error: TaskStatusError;
}

/** What a connection reports to its owner. */
export interface ConnectionListener {
  /** The server accepted the token (ack, any valid frame, or `authGraceMs` of quiet). */
  accepted(): void;
  /** A valid frame, after `accepted`. */
  frame(parsed: ParsedFrame): void;
  /** A non-fatal problem: bad frame, unknown type, server error frame. */
  problem(error: TaskStatusError): void;
  /** A heartbeat round trip. */
  roundTrip(rttMs: number): void;
  /** The connection is over; called exactly once, unless the owner closed it. */
  ended(end: ConnectionEnd): void;
}

type Phase = 'opening' | 'verdict' | 'accepted' | 'ended';

const HTTP_STATUS = /Unexpected server response: (\d{3})/;

/**
 * One socket's life: open it, wait for the auth verdict, keep it alive with heartbeats, parse
 * its frames, and report how it ended. Reconnecting is the owner's business.
 */
export class Connection {
  readonly #settings: ConnectionSettings;
  readonly #listener: ConnectionListener;
  readonly #socket: WebSocketLike;
  readonly #deadline = new Timer();
  readonly #grace = new Timer();
  readonly #heartbeat: Heartbeat | undefined;
  #phase: Phase = 'opening';
  #authError: ConnectionEnd['authError'];
  /** The pending auth error came from a frame that only looked like one (no `type: error`). */
  #authErrorGuessed = false;
  /** Accepted only because the server stayed quiet for authGraceMs, and still quiet since. */
  #presumed = false;
  #failure: string | undefined;
  #closed: (() => void) | undefined;

  constructor(settings: ConnectionSettings, listener: ConnectionListener) {
    this.#settings = settings;
    this.#listener = listener;
    const heartbeat = settings.heartbeat;
    this.#heartbeat =
      heartbeat === false
        ? undefined
        : new Heartbeat(heartbeat, {
            ping: () => this.#send(PING_FRAME),
            timeout: () => this.#abandon(heartbeatTimeout(heartbeat)),
            roundTrip: (rttMs) => listener.roundTrip(rttMs),
          });
    this.#socket = new settings.WebSocket(settings.url);
    this.#socket.binaryType = 'arraybuffer';
    this.#socket.onopen = this.#onOpen;
    this.#socket.onmessage = this.#onMessage;
    this.#socket.onclose = this.#onClose;
    this.#socket.onerror = this.#onError;
    this.#deadline.start(settings.connectTimeoutMs, this.#onDeadline);
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
      const timer = new Timer();
      this.#closed = () => {
        timer.clear();
        this.#closed = undefined;
        resolve();
      };
      this.#socket.onclose = () => this.#closed?.();
      timer.start(graceMs, () => {
        dropSocket(this.#socket, code, reason);
        this.#closed?.();
      });
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

  readonly #onOpen = (): void => {
    if (this.#phase !== 'opening') return;
    this.#phase = 'verdict';
    if (this.#settings.authGraceMs === 0) this.#accept();
    else this.#grace.start(this.#settings.authGraceMs, this.#presume);
  };

  readonly #presume = (): void => {
    this.#presumed = true;
    this.#accept();
  };

  readonly #accept = (): void => {
    if (this.#phase !== 'verdict') return;
    if (this.#authErrorGuessed) this.#authError = undefined;
    this.#phase = 'accepted';
    this.#deadline.clear();
    this.#grace.clear();
    this.#heartbeat?.start();
    this.#listener.accepted();
  };

  readonly #onMessage = (event: MessageEventLike): void => {
    const data = event.data;
    this.#heartbeat?.seen();
    if (typeof data !== 'string') {
      this.#listener.problem(
        new TaskStatusError(
          'PROTOCOL_ERROR',
          'Binary frame from server dropped: the protocol uses text frames only',
        ),
      );
      return;
    }
    // A UTF-16 unit is at most 3 UTF-8 bytes, so only long frames need counting.
    const max = this.#settings.maxFrameBytes;
    if (data.length * 3 > max && utf8Length(data) > max) {
      this.#listener.problem(
        new TaskStatusError(
          'FRAME_TOO_LARGE',
          `Frame of ${utf8Length(data)} bytes dropped: larger than maxFrameBytes (${max})`,
        ),
      );
      return;
    }
    const parsed = parseServerFrame(data);
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
        this.#heartbeat?.pong();
        this.#deliver(parsed);
        return;
      default:
        this.#onOddFrame(parsed, data);
    }
  };

  #deliver(parsed: ParsedFrame): void {
    if (this.#authError !== undefined) {
      // A real error frame before the verdict stands; a guessed one is undone by a valid frame.
      if (!this.#authErrorGuessed && this.#phase === 'verdict') return;
      if (this.#authErrorGuessed) this.#authError = undefined;
    }
    if (this.#phase === 'verdict') this.#accept();
    if (this.#phase === 'accepted') {
      this.#presumed = false;
      this.#listener.frame(parsed);
    }
  }

  /** Error, text, unknown and invalid frames. Secrets are masked before anything is cut. */
  #onOddFrame(parsed: ParsedFrame, data: string): void {
    const scrub = this.#settings.scrub;
    if (parsed.kind === 'error' || parsed.kind === 'text') {
      const code = parsed.kind === 'error' && parsed.code !== null ? scrub(parsed.code) : null;
      const message = parsed.kind === 'error' ? parsed.message : parsed.text;
      const safe = message === null ? null : truncate(scrub(message), 500);
      // After the verdict too while it is only presumed (quiet for authGraceMs, nothing since):
      // a slow server may check the token for longer than that and only then refuse it.
      if (this.#phase !== 'accepted' || this.#presumed || isAuthErrorCode(code)) {
        // Before the verdict an error means "token refused"; the server closes next.
        this.#authError = { code, message: safe };
        this.#authErrorGuessed = false;
        this.#grace.clear();
      } else if (parsed.kind === 'text') {
        this.#listener.frame({ kind: 'text', text: scrub(parsed.text) });
      } else {
        this.#listener.problem(
          new TaskStatusError(
            'SERVER_ERROR',
            `Server error${code ? ` (${code})` : ''}: ${safe ?? 'no message'}`,
            {
              ...(code === null ? {} : { serverCode: code }),
              ...(safe === null ? {} : { serverMessage: safe }),
            },
          ),
        );
      }
      return;
    }
    const safeFrame = scrub(data);
    if ((this.#phase === 'verdict' || this.#presumed) && this.#authError === undefined) {
      // An odd frame before the verdict, then a close, reads as a refusal; FastAPI apps often
      // send `{"detail": "…"}` or their own error type. A valid frame after it cancels that.
      // Unlike a real error frame it does not stop the grace period: quiet still means accepted.
      this.#authError = { code: null, message: truncate(guessMessage(safeFrame), 500) };
      this.#authErrorGuessed = true;
    }
    if (parsed.kind === 'unknown') {
      const frame = truncate(safeFrame);
      this.#listener.problem(
        new TaskStatusError(
          'UNKNOWN_FRAME',
          `Frame of unknown type "${truncate(scrub(parsed.type), 50)}" ignored: ${frame}`,
          {
            frame,
          },
        ),
      );
    } else if (parsed.kind === 'invalid') {
      this.#listener.problem(invalidFrameError(safeFrame, parsed.error.issues ?? []));
    }
  }

  readonly #onError = (event: ErrorEventLike): void => {
    const message = typeof event?.message === 'string' ? event.message : undefined;
    if (message !== undefined) this.#failure = this.#settings.scrub(message);
  };

  readonly #onClose = (event: CloseEventLike): void => {
    if (this.#phase === 'ended') return;
    const opened = this.#phase !== 'opening';
    const accepted = this.#phase === 'accepted';
    const code = typeof event?.code === 'number' ? event.code : CloseCode.Abnormal;
    const reason = this.#settings.scrub(typeof event?.reason === 'string' ? event.reason : '');
    const wasClean = event?.wasClean ?? code !== CloseCode.Abnormal;
    this.#finish();
    const statusMatch = this.#failure === undefined ? null : HTTP_STATUS.exec(this.#failure);
    const httpStatus = statusMatch?.[1] === undefined ? undefined : Number(statusMatch[1]);
    this.#listener.ended({
      code,
      reason,
      wasClean,
      opened,
      accepted,
      authError: this.#authError,
      httpStatus,
      error: this.#transientError(code, reason, opened, accepted, httpStatus),
    });
  };

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
      return new TaskStatusError(
        'CONNECTION_ERROR',
        `Could not open the WebSocket${this.#failure ? `: ${this.#failure}` : ''} (close ${code})`,
        details,
      );
    }
    const when = accepted
      ? 'Connection closed by server'
      : 'Connection closed before the auth verdict';
    return new TaskStatusError(
      'CONNECTION_LOST',
      `${when} (close ${code}${reason ? ` "${reason}"` : ''})`,
      details,
    );
  }

  readonly #onDeadline = (): void => {
    if (this.#phase === 'opening' || this.#phase === 'verdict') {
      const what = this.#phase === 'opening' ? 'opening handshake' : 'auth verdict';
      this.#abandon(
        new TaskStatusError(
          'HANDSHAKE_TIMEOUT',
          `Timed out after ${this.#settings.connectTimeoutMs} ms waiting for the ${what}`,
          { closeCode: CloseCode.Abnormal },
        ),
      );
    }
  };

  /** Ends the connection from our side without waiting for the peer. */
  #abandon(error: TaskStatusError): void {
    if (this.#phase === 'ended') return;
    const opened = this.#phase !== 'opening';
    const accepted = this.#phase === 'accepted';
    this.#finish();
    dropSocket(this.#socket, CloseCode.Normal, '');
    this.#listener.ended({
      code: CloseCode.Abnormal,
      reason: '',
      wasClean: false,
      opened,
      accepted,
      authError: this.#authError,
      httpStatus: undefined,
      error,
    });
  }

  /** Stops every timer and detaches from the socket, keeping a no-op error handler for late errors. */
  #finish(): void {
    this.#phase = 'ended';
    this.#deadline.clear();
    this.#grace.clear();
    this.#heartbeat?.stop();
    const socket = this.#socket;
    socket.onopen = null;
    socket.onmessage = null;
    socket.onclose = null;
    socket.onerror = ignore;
  }
}

function ignore(): void {}

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

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code < 0xe000;
}

/** UTF-8 length of a string, without allocating an encoded copy. */
function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) bytes += 1;
    else if (code >= 0xd800 && code < 0xdc00 && isLowSurrogate(text.charCodeAt(i + 1))) {
      bytes += 2; // a surrogate pair: 4 bytes for 2 units
      i++;
    } else bytes += 2; // the rest of the BMP, and a lone surrogate (written as U+FFFD)
  }
  return bytes;
}

function heartbeatTimeout(options: Readonly<Required<HeartbeatOptions>>): TaskStatusError {
  return new TaskStatusError(
    'HEARTBEAT_TIMEOUT',
    `No frame from the server within ${options.timeoutMs} ms of a ping: connection presumed dead`,
    { closeCode: CloseCode.Abnormal },
  );
}
