/**
 * The Node transport of the testing kit: the protocol brain behind a real HTTP + `ws` server on
 * the loopback interface, with the backend's `/health` and status endpoints. The only file
 * of the kit that imports Node modules.
 */
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { createSecureContext } from 'node:tls';
import { CloseCode, TaskStatusError } from 'task-status-client';
import { type WebSocket, WebSocketServer } from 'ws';
import { Timer } from '../client/timers.js';
import { TaskServerBrain } from './brain.js';
import { checkDelay, checkObject, invalid, shown } from './checks.js';
import type { Simulation, SimulationOptions } from './simulator.js';
import {
  checkCloseCode,
  matchRoute,
  type TaskServerControls,
  type TaskServerOptions,
} from './types.js';

/** Options of {@link startTaskStatusServer}: the shared server options plus the listener's. */
export interface TaskStatusServerOptions extends TaskServerOptions {
  /**
   * Interface to listen on.
   * @default '127.0.0.1'
   */
  host?: string | undefined;
  /**
   * Port to listen on; 0 picks a free one (read it from `server.port`).
   * @default 0
   */
  port?: number | undefined;
  /**
   * Delay before each WebSocket upgrade is answered, to test connect timeouts; also settable
   * later as `server.handshakeDelayMs`.
   * @default 0
   */
  handshakeDelayMs?: number | undefined;
  /**
   * The `version` that `GET /health` reports.
   * @default '1.0.0'
   */
  version?: string | undefined;
  /**
   * The HTTP status that answers a WebSocket upgrade on any path but the socket route: 404, or
   * 403 as Starlette (and so FastAPI) answers it, to test code that must tell a wrong route from
   * a refused token.
   * @default 404
   */
  unmatchedUpgradeStatus?: 403 | 404 | undefined;
  /**
   * Serve HTTPS and `wss:` with this certificate (its chain after it, if any) and private key,
   * both PEM, to test a client over TLS: trusting a private CA, or refusing a bad certificate.
   * `server.url` is then `https://…`.
   * @default none: plain HTTP and `ws:`
   */
  tls?: ServerTls | undefined;
}

/** The certificate and key of a {@link startTaskStatusServer} that serves TLS. */
export interface ServerTls {
  /** The server's certificate, PEM, followed by any intermediate certificates. */
  readonly cert: string | Uint8Array;
  /** Its private key, PEM, unencrypted. */
  readonly key: string | Uint8Array;
}

/** Options of {@link TaskStatusServer.restart}. */
export interface RestartOptions {
  /**
   * Close code sent to open connections.
   * @default 1012 (service restart)
   */
  code?: number | undefined;
  /**
   * Time between closing and listening again, while connections are refused.
   * @default 0
   */
  downtimeMs?: number | undefined;
}

/** A running task-status backend: the controls of {@link TaskServerControls} plus its listener. */
export interface TaskStatusServer extends TaskServerControls {
  /** `http://127.0.0.1:<port>` (`https:` with `tls`): pass it as the client's `baseUrl`. */
  readonly url: string;
  /** The port listened on (the same after `restart()`). */
  readonly port: number;
  /** Delay before each WebSocket upgrade is answered, in ms; may be changed at any time. */
  handshakeDelayMs: number;
  /**
   * Answers the next upgrade on the socket route with this HTTP status instead of accepting it,
   * as a server that checks the token before the accept does (Starlette answers 403). Calls
   * queue up, one upgrade each. A browser sees any of them as close 1006.
   * @param status an HTTP status from 400 to 599
   * @default 403
   */
  rejectNextUpgrade(status?: number): void;
  /**
   * Closes every connection (code 1012 by default), stops listening, waits `downtimeMs`, and
   * listens again on the same port. Task tables and running simulations survive, as they would
   * with a real backend and its database.
   */
  restart(options?: RestartOptions): Promise<void>;
  /**
   * Closes every connection (1001), stops simulations and the listener. Idempotent. After it,
   * `restart()` and `simulate()` throw `CONNECTION_CLOSED`.
   */
  close(): Promise<void>;
}

const TRANSPORT_KEYS = [
  'host',
  'port',
  'handshakeDelayMs',
  'version',
  'unmatchedUpgradeStatus',
  'tls',
];
const STATUS_PATH = '/api/v1/ws/status';
/** How long `close()` waits for clients to answer the close frame before dropping them. */
const CLOSE_GRACE_MS = 500;

class RealServer extends TaskServerBrain implements TaskStatusServer {
  readonly #host: string;
  readonly #version: string;
  readonly #unmatchedStatus: 403 | 404;
  readonly #tls: NodeTls | undefined;
  readonly #wss = new WebSocketServer({ noServer: true });
  readonly #sockets = new Set<Socket>();
  /** Pending timers (delayed handshakes, restart downtime), each with what to do if cut short. */
  readonly #delays = new Map<Timer, () => void>();
  #http: Server | undefined;
  #port: number;
  #handshakeDelayMs = 0;
  /** Statuses queued by `rejectNextUpgrade`, one per upgrade. */
  readonly #upgradeRejections: number[] = [];
  #closing: Promise<void> | undefined;
  /** The stop under way, which a second stop (a `close()` during a restart) waits for. */
  #stopping: Promise<void> | undefined;
  /** The last restart asked for: restarts run one after another, and `close()` waits for them. */
  #restarts: Promise<void> = Promise.resolve();

  constructor(options: TaskStatusServerOptions) {
    super(options, TRANSPORT_KEYS);
    const { host = '127.0.0.1', port = 0, version = '1.0.0' } = options;
    if (typeof host !== 'string' || host === '')
      throw invalid('host', 'must be a non-empty string');
    if (!Number.isInteger(port) || port < 0 || port > 65_535) {
      throw invalid('port', `must be an integer from 0 to 65535, got ${String(port)}`);
    }
    if (typeof version !== 'string') throw invalid('version', 'must be a string');
    const { unmatchedUpgradeStatus = 404 } = options;
    if (unmatchedUpgradeStatus !== 403 && unmatchedUpgradeStatus !== 404) {
      throw invalid(
        'unmatchedUpgradeStatus',
        `must be 403 or 404, got ${String(unmatchedUpgradeStatus)}`,
      );
    }
    this.#unmatchedStatus = unmatchedUpgradeStatus;
    this.#tls = checkTls(options.tls);
    this.#host = host;
    this.#port = port;
    this.#version = version;
    this.handshakeDelayMs = options.handshakeDelayMs ?? 0;
  }

  get url(): string {
    const host = this.#host.includes(':') ? `[${this.#host}]` : this.#host;
    return `${this.#tls === undefined ? 'http' : 'https'}://${host}:${this.#port}`;
  }

  get port(): number {
    return this.#port;
  }

  get handshakeDelayMs(): number {
    return this.#handshakeDelayMs;
  }

  set handshakeDelayMs(value: number) {
    checkDelay(value, 'handshakeDelayMs');
    this.#handshakeDelayMs = value;
  }

  async listen(): Promise<void> {
    const onRequest = (request: IncomingMessage, response: ServerResponse) =>
      void this.#onRequest(request, response);
    const http =
      this.#tls === undefined
        ? createServer(onRequest)
        : createHttpsServer({ cert: this.#tls.cert, key: this.#tls.key }, onRequest);
    http.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    http.on('upgrade', (request, socket: Socket, head: Buffer) =>
      this.#onUpgrade(request, socket, head),
    );
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(this.#port, this.#host, () => {
        http.off('error', reject);
        resolve();
      });
    });
    this.#http = http;
    this.#port = (http.address() as AddressInfo).port;
  }

  async restart(options: RestartOptions = {}): Promise<void> {
    if (this.#closing !== undefined)
      throw new TaskStatusError('CONNECTION_CLOSED', 'The server is closed');
    checkObject(options, 'restart(options)', ['code', 'downtimeMs']);
    const { code = CloseCode.ServiceRestart, downtimeMs = 0 } = options;
    checkCloseCode(code, 'restart({ code })');
    checkDelay(downtimeMs, 'restart({ downtimeMs })');
    // A second restart waits until the first listens again, or both would bind the port.
    const run = this.#restarts.then(() => this.#restartNow(code, downtimeMs));
    this.#restarts = run.catch(() => {});
    await run;
  }

  async #restartNow(code: number, downtimeMs: number): Promise<void> {
    if (this.#closing !== undefined) return;
    this.closeAll(code, 'service restart');
    await this.#stopListening();
    // A `close()` meanwhile ends the restart here: no downtime to sit out, nothing to listen on.
    if (this.#closing !== undefined) return;
    if (downtimeMs > 0) await this.#wait(downtimeMs);
    if (this.#closing === undefined) await this.listen();
  }

  /** As `restart()`, refused once the server is closed: a simulation's timers would outlive it. */
  override simulate(options: SimulationOptions): Simulation {
    if (this.#closing !== undefined) {
      throw new TaskStatusError('CONNECTION_CLOSED', 'The server is closed');
    }
    return super.simulate(options);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.stopActivity(CloseCode.GoingAway, 'server shutting down');
      await this.#stopListening();
      // A restart under way may have been binding the port again: stop that listener too.
      await this.#restarts;
      await this.#stopListening();
    })();
    return this.#closing;
  }

  async #onRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (request.method === 'GET' && url.pathname === '/health') {
      json(response, 200, { status: 'healthy', version: this.#version });
    } else if (request.method === 'GET' && url.pathname === STATUS_PATH) {
      await this.#status(url.searchParams.get('token'), response);
    } else {
      json(response, 404, { detail: 'Not Found' });
    }
  }

  /** `GET /api/v1/ws/status?token=…`: the caller's open connections, 401 for a bad token. */
  async #status(token: string | null, response: ServerResponse): Promise<void> {
    let result: Awaited<ReturnType<typeof this.options.verify>> = null;
    try {
      if (token) result = await this.options.verify(token, { userId: undefined });
    } catch (error) {
      json(response, 500, { detail: `Token verification failed: ${String(error)}` });
      return;
    }
    if (result === false || result === null || result === undefined) {
      json(response, 401, { detail: 'Invalid or expired token' });
      return;
    }
    if (typeof result === 'object') {
      json(response, 401, { detail: result.message ?? 'Authentication failed' });
      return;
    }
    const mine =
      result === true
        ? this.clients.filter((client) => client.token === token)
        : this.clients.filter((client) => client.userId === String(result));
    json(response, 200, {
      user_id: result === true ? null : result,
      connections: mine.filter((client) => client.state === 'open').length,
    });
  }

  rejectNextUpgrade(status = 403): void {
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw invalid(
        'rejectNextUpgrade(status)',
        `must be an HTTP status from 400 to 599, got ${status}`,
      );
    }
    this.#upgradeRejections.push(status);
  }

  override reset(): void {
    this.#upgradeRejections.length = 0;
    super.reset();
  }

  #onUpgrade(request: IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on('error', () => {});
    const path = request.url ?? '/';
    const userId = matchRoute(this.options.route, new URL(path, 'http://localhost').pathname);
    if (userId === undefined) {
      refuseUpgrade(socket, this.#unmatchedStatus);
      return;
    }
    const rejection = this.#upgradeRejections.shift();
    if (rejection !== undefined) {
      refuseUpgrade(socket, rejection);
      return;
    }
    const upgrade = () => {
      if (socket.destroyed || this.#http === undefined) return;
      this.#wss.handleUpgrade(request, socket, head, (ws) => this.#connect(ws, path, userId));
    };
    if (this.#handshakeDelayMs === 0) {
      upgrade();
      return;
    }
    const timer = new Timer();
    this.#delays.set(timer, () => socket.destroy());
    timer.start(this.#handshakeDelayMs, () => {
      this.#delays.delete(timer);
      upgrade();
    });
  }

  #connect(ws: WebSocket, url: string, userId: string): void {
    const connection = this.accept(
      {
        send: (data) => {
          if (ws.readyState === ws.OPEN) ws.send(data);
        },
        close: (code, reason) => {
          if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(code, reason);
        },
      },
      { url, userId },
    );
    ws.on('message', (data, isBinary) => {
      if (!isBinary) connection.receive(data.toString());
    });
    ws.on('close', (code, reason) => connection.closed(code, reason.toString()));
    ws.on('error', () => {});
  }

  /**
   * Stops listening: pending handshakes dropped, clients given a moment to finish closing. A stop
   * already under way is waited for, so the port is free when this resolves.
   */
  #stopListening(): Promise<void> {
    for (const [timer, cancel] of this.#delays) {
      timer.clear();
      cancel();
    }
    this.#delays.clear();
    this.#stopping ??= this.#stop().finally(() => {
      this.#stopping = undefined;
    });
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const http = this.#http;
    this.#http = undefined;
    if (http === undefined) return;
    // Stop listening first, so that a connection meanwhile is refused at once instead of
    // waiting out the drain; the callback runs once every socket is gone.
    const closed = new Promise<void>((resolve) => http.close(() => resolve()));
    await this.#drainClients();
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }

  /** Waits until every WebSocket finished its closing handshake, dropping stragglers. */
  async #drainClients(): Promise<void> {
    const open = [...this.#wss.clients];
    if (open.length === 0) return;
    const timer = new Timer();
    await new Promise<void>((resolve) => {
      let left = open.length;
      const done = () => {
        if (--left === 0) resolve();
      };
      for (const ws of open) {
        if (ws.readyState === ws.CLOSED) done();
        else ws.once('close', done);
      }
      timer.start(CLOSE_GRACE_MS, () => {
        for (const ws of open) ws.terminate();
      });
    });
    timer.clear();
  }

  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = new Timer();
      this.#delays.set(timer, resolve);
      timer.start(ms, () => {
        this.#delays.delete(timer);
        resolve();
      });
    });
  }
}

/**
 * Starts a real task-status backend (HTTP + WebSocket) on 127.0.0.1, a free port by default.
 * It serves the WebSocket route, `GET /health` and `GET /api/v1/ws/status?token=…`.
 *
 * @throws {TaskStatusError} `INVALID_OPTIONS` for unknown or invalid options.
 * @example
 * ```ts
 * const server = await startTaskStatusServer({ tokens: { t2: 2 } });
 * const client = new TaskStatusClient({ baseUrl: server.url, userId: 2, token: 't2' });
 * await client.connect();
 * server.pushUpdate(2, { taskId: 1, status: 'running', progress: 10 });
 * await server.close();
 * ```
 */
export async function startTaskStatusServer(
  options: TaskStatusServerOptions = {},
): Promise<TaskStatusServer> {
  const server = new RealServer(options);
  await server.listen();
  return server;
}

/** The certificate and key as Node takes them. */
interface NodeTls {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
}

/** `tls` as Node takes it, once Node has read the certificate and key and found that they match. */
function checkTls(tls: unknown): NodeTls | undefined {
  if (tls === undefined) return undefined;
  checkObject(tls, 'tls', ['cert', 'key']);
  const { cert, key } = tls;
  const pem = { cert: pemOf(cert, 'tls.cert'), key: pemOf(key, 'tls.key') };
  try {
    createSecureContext(pem);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw invalid(
      'tls',
      `Node cannot use this certificate and key (${why}): give both as PEM, the key unencrypted and the one the certificate was issued for`,
    );
  }
  return pem;
}

function pemOf(value: unknown, name: string): string | Buffer {
  if (typeof value === 'string' && value !== '') return value;
  if (value instanceof Uint8Array && value.length > 0) {
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  throw invalid(name, `must be PEM text, as a non-empty string or bytes, got ${shown(value)}`);
}

function json(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    // Lets a demo page on another origin read /health and the status endpoint.
    'access-control-allow-origin': '*',
  });
  response.end(text);
}

/** Answers an upgrade with an HTTP status and no body, and closes the connection. */
function refuseUpgrade(socket: Socket, status: number): void {
  const line = `${status} ${STATUS_CODES[status] ?? ''}`.trim();
  socket.end(`HTTP/1.1 ${line}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
}
