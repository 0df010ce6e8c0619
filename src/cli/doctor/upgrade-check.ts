import type { IncomingMessage } from 'node:http';
import NodeWebSocket from 'ws';
import { CONNECT_DEFAULTS, DEFAULT_TASK_STATUS_PATH } from '../../index.js';
import { type ForwardProxy, throughProxy } from '../proxy.js';
import { createScrubber } from '../secrets.js';
import { type DoctorOptions, type Target, urlForRoute } from './target.js';
import { NGINX_PLAIN_TO_TLS, NGINX_TLS_PORT_FIX, TLS_PORT_FIX } from './tls-check.js';
import { type CheckOutcome, fail, pass, warn } from './types.js';

/** What one raw upgrade attempt saw. */
export type UpgradeProbe =
  | { readonly kind: 'switched'; readonly ms: number }
  | {
      readonly kind: 'rejected';
      readonly ms: number;
      readonly status: number;
      readonly body: string;
    }
  | { readonly kind: 'timeout'; readonly ms: number }
  | {
      readonly kind: 'error';
      readonly ms: number;
      readonly code: string | undefined;
      readonly message: string;
    };

/** The canonical route's prefix, by segment: what nested routers add before `/tasks/{userId}`. */
const PREFIX = ['api', 'v1', 'ws'];

/** Every slice of `PREFIX`, as `[start, end)` pairs. */
const SLICES = PREFIX.flatMap((_, i) => PREFIX.slice(i).map((__, k) => [i, i + k + 1] as const));

const route = (segments: readonly string[]) =>
  `${segments.map((s) => `/${s}`).join('')}/tasks/{userId}`;

/** Routes with a slice of the prefix applied twice, such as `/api/v1/api/v1/ws/tasks/{userId}`. */
const DOUBLED: ReadonlySet<string> = new Set(
  SLICES.map(([i, j]) => route([...PREFIX.slice(0, j), ...PREFIX.slice(i, j), ...PREFIX.slice(j)])),
);

/** Routes with a slice of the prefix left out, such as `/ws/tasks/{userId}`. */
const LEFT_OUT = SLICES.map(([i, j]) => route([...PREFIX.slice(0, i), ...PREFIX.slice(j)]));

/**
 * Routes a backend of this kind has been reachable under, tried when the route in use answers
 * 403 or 404: the canonical route (for a `--path` that names an old route), then every slice of
 * the prefix applied twice or left out, as nested routers do. The doubled-prefix history of
 * `docs/protocol.md` (`/api/v1/api/v1/ws/…`, `/api/v1/ws/api/v1/ws/…`, `/ws/…`, `/tasks/…`) is
 * among them.
 */
export const SUSPECT_ROUTES: readonly string[] = [
  DEFAULT_TASK_STATUS_PATH,
  ...DOUBLED,
  ...LEFT_OUT,
];

const PROBE_TIMEOUT_MS = 2_000;

/** An upgrade slower than this is warned of: a healthy one takes a few milliseconds. */
const SLOW_UPGRADE_MS = 1_000;

/**
 * Sends the HTTP upgrade with `ws` itself, which (unlike a browser) shows the status line of a
 * refused upgrade, and times the `101`, through `proxy`'s tunnel when there is a proxy. A socket
 * that switches is closed at once: the auth verdict is the next step's business.
 */
export function probeUpgrade(
  url: string,
  timeoutMs: number,
  token: string,
  proxy?: ForwardProxy,
): Promise<UpgradeProbe> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    let settled = false;
    let switchedAt = 0;
    const socket = new NodeWebSocket(url, {
      followRedirects: false,
      perMessageDeflate: false,
      ...throughProxy(proxy),
    });
    const settle = (probe: UpgradeProbe) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.on('error', () => {});
      // `terminate` drops the TCP connection, also mid-handshake, so nothing keeps Node alive.
      socket.terminate();
      resolve(probe);
    };
    const timer = setTimeout(() => settle({ kind: 'timeout', ms: elapsed() }), timeoutMs);
    socket.on('upgrade', () => {
      switchedAt = elapsed();
    });
    socket.on('open', () => settle({ kind: 'switched', ms: switchedAt || elapsed() }));
    socket.on('unexpected-response', (request, response: IncomingMessage) => {
      const ms = elapsed();
      readSome(response, createScrubber(token)).then((body) => {
        request.destroy();
        settle({ kind: 'rejected', ms, status: response.statusCode ?? 0, body });
      });
    });
    socket.on('error', (error: Error & { code?: string }) =>
      settle({ kind: 'error', ms: elapsed(), code: error.code, message: oneLine(error.message) }),
    );
  });
}

/** What the health step learned of the server, for the upgrade's fixes. */
export interface ServerHints {
  /** `/health` answered with a web page: a frontend's dev server is in front. */
  readonly devServer?: boolean | undefined;
  /** The port of an `http://` base URL serves TLS. */
  readonly servesTls?: boolean | undefined;
}

/**
 * The HTTP upgrade step: status, time to `101`, and on a 403 or 404 a search for the real route.
 */
export async function checkUpgrade(
  target: Target,
  options: DoctorOptions,
  { devServer = false, servesTls = false }: ServerHints = {},
): Promise<CheckOutcome> {
  const probe = await probeUpgrade(
    target.socketUrl,
    options.timeoutMs,
    options.token,
    options.proxy,
  );
  const path = new URL(target.socketUrl).pathname;
  switch (probe.kind) {
    case 'switched':
      if (probe.ms >= SLOW_UPGRADE_MS) {
        return warn(
          'slow-upgrade',
          `HTTP 101 Switching Protocols, but only after ${probe.ms} ms`,
          `the server is slow to accept the socket: under more load the upgrade and the verdict may outlast the clients' connectTimeoutMs (${CONNECT_DEFAULTS.connectTimeoutMs} ms), "timed out during opening handshake". Look for slow work before websocket.accept() (token checks, database queries), a blocked event loop or too few workers`,
          { data: { httpStatus: 101, ms: probe.ms } },
        );
      }
      return pass(`HTTP 101 Switching Protocols after ${probe.ms} ms`, {
        data: { httpStatus: 101, ms: probe.ms },
      });
    case 'timeout':
      return fail(
        'handshake-timeout',
        `handshake timeout: no HTTP 101 within ${options.timeoutMs} ms (TCP connected, upgrade unanswered)`,
        devServer
          ? `a frontend's dev server answers here (/health was a web page), and it left the upgrade unanswered: most likely its proxy does not forward WebSocket upgrades to the backend (Vite: server.proxy with ws: true for the socket's path). If it does, the backend is slow to accept: look for slow work before websocket.accept()`
          : HANDSHAKE_TIMEOUT_FIX,
        { data: { ms: probe.ms, timeoutMs: options.timeoutMs } },
      );
    case 'error':
      return fail(
        'upgrade-error',
        `the upgrade failed after ${probe.ms} ms: ${probe.message}`,
        servesTls
          ? TLS_PORT_FIX
          : probe.code === 'ECONNRESET'
            ? 'the server, or a proxy in between, dropped the connection during the upgrade: check the server log at that moment. Through a dev proxy, its terminal says which: "ws proxy error: connect ECONNREFUSED" means its target backend is not running, or listens elsewhere (write 127.0.0.1, not localhost); "read ECONNRESET" or "socket hang up" means the backend dropped the connection'
            : 'check the scheme (ws/wss, http/https) and any TLS certificate or proxy in between',
        { data: { ms: probe.ms, code: probe.code ?? null } },
      );
    case 'rejected':
      return rejected(probe, path, target, options);
  }
}

/**
 * A refused upgrade. Starlette answers an upgrade on a path it has no route for with 403, not
 * 404, so on either status the suspect routes are tried first: only when none of them upgrades
 * is a 403 read as a token checked before the accept.
 */
async function rejected(
  probe: Extract<UpgradeProbe, { kind: 'rejected' }>,
  path: string,
  target: Target,
  options: DoctorOptions,
): Promise<CheckOutcome> {
  const data = { httpStatus: probe.status, ms: probe.ms, body: probe.body };
  const said = `HTTP ${probe.status} instead of 101 after ${probe.ms} ms`;
  if (probe.status === 401)
    return tokenBeforeAccept(
      `${said}: the server checks the token before accepting the socket`,
      data,
    );
  if (probe.status !== 403 && probe.status !== 404) {
    const fix = NGINX_PLAIN_TO_TLS.test(probe.body)
      ? NGINX_TLS_PORT_FIX
      : /Unsupported upgrade request|No supported WebSocket library/.test(probe.body)
        ? NO_WS_LIBRARY_FIX
        : UPGRADE_FIX;
    return fail('upgrade-rejected', `${said} ${probe.body}`.trim(), fix, { data });
  }
  const foundAt = await findRoute(target, options);
  if (foundAt !== undefined) {
    return fail(
      'route-not-found',
      `${said}: no WebSocket route at ${path}, but the server answers 101 at ${target.mount}${foundAt.replace('{userId}', String(options.userId))}`,
      routeFix(foundAt),
      {
        data: { ...data, foundAt },
        ...(probe.status === 403 ? { notes: [STARLETTE_403] } : {}),
      },
    );
  }
  if (probe.status === 403) {
    return tokenBeforeAccept(
      `${said}: either the server checks the token before accepting the socket, or it has no WebSocket route at ${path} (no other usual route answers 101 either)`,
      { ...data, foundAt: null },
      [STARLETTE_403],
    );
  }
  if (FASTAPI_NOT_FOUND.test(probe.body)) {
    return fail(
      'upgrade-not-forwarded',
      `${said} ${probe.body}: FastAPI answered a plain HTTP request, so the upgrade did not reach it as one (to an upgrade on a path it has no route for, it answers 403)`,
      `a proxy in between does not forward WebSocket upgrades: nginx needs proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade"; Vite's server.proxy needs ws: true`,
      { data: { ...data, foundAt: null } },
    );
  }
  return fail(
    'route-not-found',
    `${said}: no WebSocket route at ${path}`,
    `the server does not serve ${target.route}: check how its routers are mounted (a prefix applied twice, or missing), or pass --path with the route it really uses`,
    { data: { ...data, foundAt: null } },
  );
}

const STARLETTE_403 =
  'Starlette (and so FastAPI) answers an upgrade on a path it has no WebSocket route for with 403, not 404';

/** A 401, or a 403 with no other route upgrading: the token is checked before the accept. */
function tokenBeforeAccept(
  summary: string,
  data: Record<string, unknown>,
  notes: string[] = [],
): CheckOutcome {
  const fix =
    'accept the socket first, then send an error frame and close: browsers see a refused upgrade only as close 1006, with no reason';
  return fail(
    'upgrade-auth-rejected',
    summary,
    notes.length === 0
      ? fix
      : `${fix}; if the route is what is wrong, pass --path with the route the server really uses`,
    { data, notes },
  );
}

/** What to do about a socket found at `foundAt`, one of the suspect routes. */
function routeFix(foundAt: string): string {
  if (foundAt === DEFAULT_TASK_STATUS_PATH) {
    return `the server serves the canonical route ${DEFAULT_TASK_STATUS_PATH}: leave --path out`;
  }
  if (DOUBLED.has(foundAt)) {
    return `the server applies a router prefix twice (${foundAt.replace('/tasks/{userId}', '/…')}): register the socket router once, so it lives at ${DEFAULT_TASK_STATUS_PATH}; until then, --path '${foundAt}'`;
  }
  return `the server mounts the socket at ${foundAt}: move it to ${DEFAULT_TASK_STATUS_PATH}, or pass --path '${foundAt}'`;
}

/**
 * Tries the suspect routes other than the one in use, all at once (a dev proxy may leave an
 * upgrade on a path it does not serve unanswered); returns the first in order that upgrades.
 */
async function findRoute(target: Target, options: DoctorOptions): Promise<string | undefined> {
  const timeoutMs = Math.min(options.timeoutMs, PROBE_TIMEOUT_MS);
  const others = SUSPECT_ROUTES.map((path) => ({
    path,
    url: urlForRoute(target, options, path),
  })).filter(({ url }) => url !== target.socketUrl);
  const probes = await Promise.all(
    others.map(({ url }) => probeUpgrade(url, timeoutMs, options.token, options.proxy)),
  );
  return others[probes.findIndex((probe) => probe.kind === 'switched')]?.path;
}

/** FastAPI's body for a path with no HTTP route, as `readSome` gives it. */
const FASTAPI_NOT_FOUND = /^\{\s*"detail"\s*:\s*"Not Found"\s*\}$/;

const HANDSHAKE_TIMEOUT_FIX =
  'the server took the connection but never answered the upgrade ("timed out during opening handshake"): look for slow work before websocket.accept() (token checks, database queries), a blocked event loop or an overloaded worker; a proxy that does not forward upgrades can look the same (Vite: server.proxy with ws: true)';

const NO_WS_LIBRARY_FIX =
  "uvicorn has no WebSocket library to take the upgrade with: install one (pip install 'uvicorn[standard]', or websockets), or check the --ws option it is started with";

const UPGRADE_FIX =
  'the server (or a proxy in front of it) refused the WebSocket upgrade: check that the route is a WebSocket route and that every proxy forwards Upgrade requests';

/** Text on one line: OpenSSL's messages, say, end in a newline. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/**
 * The start of a response body, as one line, with the token masked. A server may echo the token
 * there, so the body is masked before it is cut: a token cut short would escape the mask.
 */
function readSome(
  response: IncomingMessage,
  scrub: (text: string) => string,
  limit = 200,
): Promise<string> {
  // Well past `limit`, so that a token crossing the cut is read whole and masked.
  const readLimit = limit + 8_192;
  return new Promise((resolve) => {
    let text = '';
    let finished = false;
    const done = () => {
      if (finished) return;
      finished = true;
      response.removeAllListeners('data');
      resolve(oneLine(scrub(text)).slice(0, limit).trim());
    };
    const timer = setTimeout(done, 500);
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      text += chunk;
      if (text.length >= readLimit) {
        clearTimeout(timer);
        done();
      }
    });
    response.once('end', () => {
      clearTimeout(timer);
      done();
    });
    response.once('error', () => {
      clearTimeout(timer);
      done();
    });
  });
}
