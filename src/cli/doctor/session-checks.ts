import NodeWebSocket from 'ws';
import {
  type AuthErrorInfo,
  CONNECT_DEFAULTS,
  type ParsedFrame,
  PING_FRAME,
  parseServerFrame,
  TaskStatusClient,
  type TaskStatusError,
  type WebSocketConstructor,
} from '../../index.js';
import { type ForwardProxy, throughProxy } from '../proxy.js';
import { type RefusalFacts, refusal } from './auth-verdict.js';
import type { DoctorOptions } from './target.js';
import { type CheckOutcome, fail, pass, warn } from './types.js';

/** The first ping goes out this soon after the token is accepted, not 25 s later. */
const PING_AFTER_MS = 50;

/** What to do about a server that answers only a plain-text ping. */
const TEXT_PING_FIX = `the server answers only a plain-text ping: give clients heartbeat: { message: 'ping' } (watch and doctor: --heartbeat-message ping), or make it answer ${PING_FRAME} with {"type":"pong"}. As it is, a client with the default ping takes every idle connection for dead`;

/** What to look for when an accepted socket goes silent. */
const BLOCKED_FIX =
  'the socket handler stopped reading: look for a blocking call (sync database or Redis client, CPU work) in the WebSocket handler; a proxy that buffers frames looks the same';

/** Frames that do not count as a verdict (nor as a pong), as the no-ack warning names them. */
const NOT_AN_ACK: ReadonlyMap<ParsedFrame['kind'], string> = new Map([
  ['text', 'plain text'],
  ['unknown', 'of a type the protocol does not have'],
  ['invalid', 'invalid'],
]);

/**
 * The steps that need a real client: the post-accept auth verdict, a heartbeat round trip and a
 * forced reconnect, on one `TaskStatusClient` that never reconnects by itself (`reconnect: false`)
 * and holds a plain-string token (so a refusal is final, not retried).
 */
export class DoctorSession {
  readonly #options: DoctorOptions;
  /** The socket URL, with the token: only ever given to a socket. */
  readonly #socketUrl: string;
  readonly #client: TaskStatusClient;
  /** The first frame the client took for a valid one: a verdict, a heartbeat, an update. */
  #firstValid: { readonly frame: ParsedFrame; readonly at: number } | undefined;
  /** The kind of the first frame on the latest socket, refusals included. */
  #firstKind: ParsedFrame['kind'] | undefined;
  /** When that frame arrived (`performance.now()`), before the client may have delivered it. */
  #firstAt = 0;
  #authError: AuthErrorInfo | undefined;
  #lastError: TaskStatusError | undefined;
  #rttMs: number | undefined;
  #frames = 0;
  #wake: (() => void) | undefined;

  constructor(options: DoctorOptions, socketUrl: string) {
    this.#options = options;
    this.#socketUrl = socketUrl;
    this.#client = new TaskStatusClient({
      baseUrl: options.baseUrl,
      userId: options.userId,
      token: options.token,
      ...(options.path === undefined ? {} : { path: options.path }),
      WebSocket: recordFirstFrame((kind, at) => {
        this.#firstKind = kind;
        this.#firstAt = at;
      }, options.proxy),
      reconnect: false,
      // A server that sends no ack is accepted only after authGraceMs of quiet: allow for it,
      // and keep the grace of a default client, which a deadline below 2 s would shorten.
      connectTimeoutMs: options.timeoutMs + CONNECT_DEFAULTS.authGraceMs,
      authGraceMs: CONNECT_DEFAULTS.authGraceMs,
      heartbeat: {
        intervalMs: PING_AFTER_MS,
        timeoutMs: options.timeoutMs,
        ...(options.heartbeatMessage === undefined ? {} : { message: options.heartbeatMessage }),
      },
    });
    const client = this.#client;
    client.on('message', (frame) => {
      this.#frames++;
      if (!NOT_AN_ACK.has(frame.kind)) this.#firstValid ??= { frame, at: performance.now() };
      this.#poke();
    });
    client.on('authError', (info) => {
      this.#authError = info;
    });
    client.on('heartbeat', ({ rttMs }) => {
      this.#rttMs ??= rttMs;
      this.#poke();
    });
    client.on('error', (error) => {
      this.#lastError = error;
      this.#poke();
    });
    client.on('state', () => this.#poke());
  }

  /** Connects and reads the server's verdict on the token. */
  async auth(): Promise<CheckOutcome> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const timeoutMs = this.#options.timeoutMs;
    try {
      await this.#client.connect();
    } catch (error) {
      return refusal(error as TaskStatusError, this.#refusalFacts(), elapsed(), timeoutMs);
    }
    const ms = elapsed();
    const first = this.#firstValid?.frame;
    // Accepted on quiet alone: a token check slower than authGraceMs may still refuse. Wait for
    // a valid frame (a pong, say) or the end of the connection before judging.
    if (first === undefined) {
      await this.#until(
        () => this.#firstValid !== undefined || this.#client.state !== 'open',
        timeoutMs,
      );
    }
    // When the wait ended: a late refusal's or a late first frame's time, read once.
    const waitedMs = elapsed();
    const late = this.#lastError;
    if (this.#client.state !== 'open' && late?.code === 'AUTH_FAILED') {
      const outcome = refusal(late, this.#refusalFacts(), waitedMs, timeoutMs);
      const note = `the refusal came after more than authGraceMs (${CONNECT_DEFAULTS.authGraceMs} ms) of quiet, so clients took the socket for accepted first: send {"type":"connected"} once the token is accepted, and refuse sooner`;
      return { ...outcome, notes: [...(outcome.notes ?? []), note] };
    }
    const later = this.#firstValid?.frame;
    if (first === undefined && later?.kind === 'connected') {
      return warn(
        'slow-ack',
        `accepted: connected frame after ${waitedMs} ms, later than authGraceMs (${CONNECT_DEFAULTS.authGraceMs} ms), so clients took the silence before it for acceptance`,
        'check the token within authGraceMs (a slow database or key lookup?), or raise authGraceMs in the clients: until then a refusal comes after connect() resolved',
        { data: { verdict: 'late-ack', ms: waitedMs, ackUserId: later.frame.user_id ?? null } },
      );
    }
    if (first?.kind === 'connected') {
      const ackUser = first.frame.user_id ?? null;
      const data = { verdict: 'ack', ms, ackUserId: ackUser };
      if (acksOtherUser(ackUser, this.#options.userId)) {
        return warn(
          'ack-user-mismatch',
          `accepted, but the connected frame names user ${ackUser}, not ${this.#options.userId}`,
          'the server maps this token to another user than the path names: check the user id check after token verification',
          { data },
        );
      }
      const who = ackUser === null ? '' : ` (user_id ${ackUser})`;
      return pass(`accepted: connected frame${who} after ${ms} ms`, { data });
    }
    if (first !== undefined) {
      return pass(
        `accepted: a ${first.kind} frame after ${ms} ms (the server sends no connected ack)`,
        {
          data: { verdict: first.kind, ms },
        },
      );
    }
    return warn(
      'no-ack',
      `accepted only by silence: ${this.#quietFacts(started, ms, timeoutMs)}`,
      'send {"type":"connected","user_id":…} as soon as the token is accepted: clients then know at once, and a hung server no longer looks like one that accepted',
      { data: { verdict: 'quiet', ms } },
    );
  }

  /**
   * What came before and after a verdict presumed from quiet. A frame that is no ack (a greeting
   * in plain text, a type of the server's own) may have come at once: the client holds it back
   * while a close could still make it a refusal, so its arrival, not its delivery, is told.
   */
  #quietFacts(started: number, verdictMs: number, timeoutMs: number): string {
    const grace = `authGraceMs (${CONNECT_DEFAULTS.authGraceMs} ms)`;
    const sinceStart = (at: number) => Math.round(at - started);
    const kind = this.#firstKind;
    const firstMs = sinceStart(this.#firstAt);
    const before =
      kind !== undefined && NOT_AN_ACK.has(kind) && firstMs <= verdictMs
        ? `the first frame (at ${firstMs} ms) is ${NOT_AN_ACK.get(kind)}, not an ack, and no valid frame followed within ${grace}`
        : `no frame within ${grace} after the socket opened`;
    const valid = this.#firstValid;
    return valid === undefined
      ? `${before}, nor in the ${timeoutMs} ms after`
      : `${before}; the first valid frame, a ${valid.frame.kind} frame, came at ${sinceStart(valid.at)} ms`;
  }

  #refusalFacts(): RefusalFacts {
    return { info: this.#authError, firstFrame: this.#firstKind };
  }

  /** Waits for one ping/pong round trip on the open connection. */
  async heartbeat(): Promise<CheckOutcome> {
    const timeoutMs = this.#options.timeoutMs;
    const framesBefore = this.#frames;
    const deadline = performance.now() + PING_AFTER_MS + timeoutMs + 500;
    for (;;) {
      if (this.#rttMs !== undefined) {
        return pass(`pong after ${this.#rttMs} ms`, { data: { rttMs: this.#rttMs } });
      }
      const error = this.#lastError;
      if (error?.code === 'HEARTBEAT_TIMEOUT') {
        if (await this.#answersTextPing()) {
          return fail(
            'text-ping-only',
            `no answer to ${PING_FRAME} within ${timeoutMs} ms, and no other frame, but a plain-text ping on a second socket got a pong`,
            TEXT_PING_FIX,
            { data: { timeoutMs, textPing: true } },
          );
        }
        // Nothing since the socket opened (the raw socket saw no frame, not even one the client
        // holds back or drops): no verdict on the token yet either.
        if (this.#firstKind === undefined) {
          return fail(
            'heartbeat-timeout',
            `no frame at all since the socket opened: no verdict on the token, and no pong within ${timeoutMs} ms of a ping`,
            `a token check slower than --timeout looks the same: run again with a larger --timeout to see its verdict. Otherwise ${BLOCKED_FIX}`,
            { data: { timeoutMs } },
          );
        }
        return fail(
          'heartbeat-timeout',
          `no pong, and no frame at all, within ${timeoutMs} ms of a ping: the server accepted the socket and then went silent`,
          `${BLOCKED_FIX}; make it answer ${PING_FRAME} with {"type":"pong"}`,
          { data: { timeoutMs } },
        );
      }
      if (this.#client.state !== 'open') {
        return fail(
          'connection-lost',
          `the connection ended before a pong: ${error?.message ?? 'closed'}`,
          'the server closes accepted sockets: see its log for the close reason',
          { data: { errorCode: error?.code ?? null } },
        );
      }
      const left = deadline - performance.now();
      if (left <= 0) {
        if (await this.#answersTextPing()) {
          return warn(
            'text-ping-only',
            `no answer to ${PING_FRAME} within ${timeoutMs} ms, though ${this.#frames - framesBefore} other frames arrived, but a plain-text ping on a second socket got a pong`,
            TEXT_PING_FIX,
            { data: { timeoutMs, textPing: true } },
          );
        }
        return warn(
          'no-pong',
          `no pong within ${timeoutMs} ms, though ${this.#frames - framesBefore} other frames arrived`,
          'the server ignores pings: answer {"type":"ping"} with {"type":"pong"} (if it answers only a plain-text ping, give clients heartbeat: { message: \'ping\' }, and check it with --heartbeat-message ping), or clients will take an idle connection for dead',
        );
      }
      await this.#sleep(left);
    }
  }

  /**
   * Whether the server answers a plain-text `ping` with a pong, on a socket of its own, when the
   * client's default `{"type":"ping"}` went unanswered (a ping of the user's choice is not tried
   * again). The ping goes out at once: a server still checking the token reads it after.
   */
  #answersTextPing(): Promise<boolean> {
    if (this.#options.heartbeatMessage !== undefined) return Promise.resolve(false);
    const socket = new NodeWebSocket(this.#socketUrl, throughProxy(this.#options.proxy));
    return new Promise((resolve) => {
      const finish = (answered: boolean) => {
        clearTimeout(timer);
        socket.removeAllListeners();
        socket.on('error', () => {});
        socket.terminate();
        resolve(answered);
      };
      const timer = setTimeout(
        () => finish(false),
        this.#options.timeoutMs + CONNECT_DEFAULTS.authGraceMs,
      );
      socket.on('open', () => socket.send('ping'));
      socket.on('message', (data: NodeWebSocket.RawData, isBinary: boolean) => {
        if (!isBinary && parseServerFrame(String(data)).kind === 'pong') finish(true);
      });
      socket.on('close', () => finish(false));
      socket.on('error', () => finish(false));
    });
  }

  /** Drops the connection on purpose and connects again with the same token. */
  async reconnect(): Promise<CheckOutcome> {
    const limitMs = 2 * this.#options.timeoutMs;
    const started = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), limitMs);
    });
    try {
      const result = await Promise.race([this.#client.reconnect(), timeout]);
      const ms = Math.round(performance.now() - started);
      if (result === 'timeout') {
        return fail(
          'reconnect-timeout',
          `no new connection within ${limitMs} ms`,
          'the first connection worked but a second one hangs: look for per-user locks or connection limits in the server',
        );
      }
      // No valid frame on either socket: the second one, too, is accepted only by silence.
      const how = this.#firstValid === undefined ? ', by silence alone as before' : '';
      return pass(`closed the socket and was accepted again after ${ms} ms${how}`, {
        data: { ms },
      });
    } catch (error) {
      const failure = error as TaskStatusError;
      return fail(
        'reconnect-failed',
        `the second connection failed: ${failure.message}`,
        failure.code === 'AUTH_FAILED'
          ? 'the token worked once and then not: one-time tokens or a limit of one connection per user break every reconnect'
          : 'the server refused a second connection right after the first: check its connection limits and log',
        { data: { errorCode: failure.code } },
      );
    } finally {
      clearTimeout(timer);
    }
  }

  close(): Promise<void> {
    return this.#client.close();
  }

  #poke(): void {
    // `error` follows the `closed` state change in the same tick: look once both are in.
    setImmediate(() => this.#wake?.());
  }

  /** Resolves once `done()` holds, looked at after each event the session hears, or after `ms`. */
  async #until(done: () => boolean, ms: number): Promise<void> {
    const deadline = performance.now() + ms;
    for (let left = ms; !done() && left > 0; left = deadline - performance.now()) {
      await this.#sleep(left);
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = () => {
        this.#wake = undefined;
        done();
      };
    });
  }
}

/**
 * `ws`, telling `onFirstFrame` the kind of the first frame each socket receives. The client
 * delivers no refusal as a message, and its `authError` has the same `code: null` for a plain-text
 * frame and for a JSON error frame without a code: only the frame itself tells them apart. Each
 * socket goes through `proxy`'s tunnel when there is a proxy.
 */
function recordFirstFrame(
  onFirstFrame: (kind: ParsedFrame['kind'], at: number) => void,
  proxy: ForwardProxy | undefined,
): WebSocketConstructor {
  const options = throughProxy(proxy);
  class RecordingWebSocket extends NodeWebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, options);
      this.once('message', (data: NodeWebSocket.RawData, isBinary: boolean) => {
        if (!isBinary) onFirstFrame(parseServerFrame(String(data)).kind, performance.now());
      });
    }
  }
  return RecordingWebSocket as unknown as WebSocketConstructor;
}

/**
 * Whether an ack's `user_id` names another user than the route, by the client's rule
 * (protocol.md, `connected`): only numeric ids are compared, as numbers, since a server may ack
 * a username route with the user's number.
 */
function acksOtherUser(acked: unknown, asked: number | string): boolean {
  const route = String(asked).trim();
  return isDigits(route) && isDigits(acked) && Number(acked) !== Number(route);
}

function isDigits(value: unknown): boolean {
  return (typeof value === 'number' || typeof value === 'string') && /^\d+$/.test(String(value));
}
