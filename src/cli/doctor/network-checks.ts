import { lookup } from 'node:dns/promises';
import { connect } from 'node:net';
import { hostAndPort, type Target } from './target.js';
import { NGINX_PLAIN_TO_TLS, NGINX_TLS_PORT_FIX, servesTls, TLS_PORT_FIX } from './tls-check.js';
import { type CheckOutcome, fail, pass, warn } from './types.js';

/** Resolves the host name; an IP address resolves to itself. */
export async function checkDns(target: Target): Promise<CheckOutcome> {
  try {
    const addresses = await lookup(target.host, { all: true });
    const list = addresses.map((entry) => entry.address);
    return pass(`${target.host} resolves to ${list.join(', ')}`, { data: { addresses: list } });
  } catch (error) {
    const code = errorCode(error);
    return fail(
      'dns-failed',
      `${target.host} does not resolve (${code ?? describe(error)})`,
      'check the host name in --base-url; inside Docker use the service name, from the host use localhost',
      { data: { code } },
    );
  }
}

/**
 * Opens (and closes) a TCP connection to the socket's host and port. By host name, so that Node
 * tries every address the name resolves to (`localhost` is `::1` and `127.0.0.1`), as `ws` will.
 */
export function checkTcp(target: Target, timeoutMs: number): Promise<CheckOutcome> {
  const where = hostAndPort(target);
  return new Promise((resolve) => {
    const socket = connect({ host: target.host, port: target.port });
    const done = (outcome: CheckOutcome) => {
      socket.destroy();
      resolve(outcome);
    };
    socket.setTimeout(timeoutMs, () =>
      done(
        fail(
          'tcp-timeout',
          `no answer from ${where} within ${timeoutMs} ms`,
          'a firewall drops the packets, or the host is wrong: check the host and port in --base-url',
          { data: { port: target.port } },
        ),
      ),
    );
    socket.once('connect', () => {
      const address = socket.remoteAddress ?? target.host;
      const via = address === target.host ? '' : ` (${address})`;
      done(
        pass(`${where}${via} accepts TCP connections`, { data: { address, port: target.port } }),
      );
    });
    socket.once('error', (error) => {
      const code = errorCode(error);
      if (code === 'ECONNREFUSED') {
        done(
          fail(
            'connection-refused',
            `nothing is listening on ${where} (ECONNREFUSED)`,
            'start the backend (e.g. `uvicorn app.main:app --port 8000`), or fix the port in --base-url',
            { data: { port: target.port, code } },
          ),
        );
        return;
      }
      done(
        fail('tcp-error', `cannot connect to ${where} (${code ?? describe(error)})`, NETWORK_FIX, {
          data: { port: target.port, code },
        }),
      );
    });
  });
}

/**
 * `GET {base}/health`, the backend's basic service check. For an `http://` base URL whose port
 * serves TLS, `data.servesTls` is true, for the upgrade's fix.
 */
export async function checkHealth(target: Target, timeoutMs: number): Promise<CheckOutcome> {
  // A timer of its own, not `AbortSignal.timeout()`, whose timer keeps no process alive: a fetch
  // that a connection reset at once leaves hanging (it happens with undici) then ended the
  // command mid-report, with exit code 13 and no word.
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException('The operation timed out.', 'TimeoutError')),
    timeoutMs,
  );
  try {
    return await askHealth(target, timeoutMs, controller.signal);
  } finally {
    clearTimeout(timer);
  }
}

async function askHealth(
  target: Target,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<CheckOutcome> {
  const url = `${target.httpBase}/health`;
  const where = `GET ${target.mount}/health`;
  let response: Response;
  try {
    response = await fetch(url, { signal, redirect: 'manual' });
  } catch (error) {
    const timedOut = error instanceof Error && error.name === 'TimeoutError';
    if (timedOut) {
      return fail(
        'health-unreachable',
        `${where}: no response within ${timeoutMs} ms`,
        'the server accepts connections but does not answer HTTP: its worker may be blocked or overloaded',
      );
    }
    const tls = !target.secure && (await servesTls(target, timeoutMs));
    return fail(
      'health-unreachable',
      `${where} failed: ${describe(error)}`,
      tls ? TLS_PORT_FIX : NETWORK_FIX,
      target.secure ? {} : { data: { servesTls: tls } },
    );
  }
  const body = (await response.text().catch(() => '')).slice(0, 200).replace(/\s+/g, ' ').trim();
  const data = { httpStatus: response.status, body };
  const contentType = response.headers.get('content-type');
  if (response.ok && isWebPage(contentType, body)) {
    return warn(
      'health-web-page',
      `${where} → ${response.status}: a web page (${contentType?.split(';')[0]?.trim() || 'HTML'}), not the backend's health check`,
      WEB_PAGE_FIX,
      { data: { ...data, contentType } },
    );
  }
  if (response.ok) return pass(`${where} → ${response.status} ${body}`.trim(), { data });
  if (response.status === 400 && NGINX_PLAIN_TO_TLS.test(body)) {
    return fail(
      'health-status',
      `${where} → 400: The plain HTTP request was sent to HTTPS port`,
      NGINX_TLS_PORT_FIX,
      { data: { ...data, servesTls: true } },
    );
  }
  if (response.status >= 500) {
    return fail(
      'health-status',
      `${where} → ${response.status} ${body}`.trim(),
      'the backend reports itself unhealthy: check its logs and its dependencies (database, Redis)',
      { data },
    );
  }
  const location = response.headers.get('location');
  if (response.status >= 300 && response.status < 400 && location !== null) {
    return warn(
      'health-status',
      `${where} → ${response.status}: redirects to ${location}`,
      /^https:/i.test(location) && target.httpBase.startsWith('http:')
        ? 'the server sends plain HTTP to https://: use an https:// (or wss://) --base-url, as the socket is not redirected'
        : 'the backend redirects /health (FastAPI does so for a route declared with a trailing slash, "/health/"); the socket does not need /health, but an open one tells "server up" from "socket broken"',
      { data: { ...data, location } },
    );
  }
  if (response.status === 401 || response.status === 403) {
    return warn(
      'health-status',
      `${where} → ${response.status}: it needs authentication`,
      '/health needs authentication here, so it cannot show "server up" to a plain request; the socket does not need it, but an open /health tells "server up" from "socket broken"',
      { data },
    );
  }
  return warn(
    'health-status',
    `${where} → ${response.status}`,
    'the backend has no /health endpoint here; the socket does not need one, but it tells "server up" from "socket broken"',
    { data },
  );
}

const NETWORK_FIX = 'check the host, port and scheme in --base-url, and any proxy in between';

// A frontend's dev server (Vite, webpack) or a static host answers every path it does not
// proxy with its index.html, so a 200 there says nothing about the backend behind it.
const WEB_PAGE_FIX =
  '--base-url points at a web server that answers unknown paths with its page, such as a frontend dev server: the backend is only behind its proxy, if at all. The socket works through it only if the proxy forwards the route with WebSocket upgrades (Vite: server.proxy with ws: true) to a backend that is running (else Vite prints "ws proxy error:" in its terminal); point --base-url at the backend itself (e.g. http://127.0.0.1:8000) to check it directly';

function isWebPage(contentType: string | null, body: string): boolean {
  if (contentType !== null) return /^\s*text\/html\b/i.test(contentType);
  return /^(?:<!doctype html|<html)\b/i.test(body);
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function describe(error: unknown): string {
  const cause = (error as { cause?: unknown } | null)?.cause;
  const causeCode = errorCode(cause);
  if (causeCode !== undefined) return causeCode;
  return error instanceof Error ? error.message : String(error);
}
