import { lookup } from 'node:dns/promises';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { connect } from 'node:net';
import type { ForwardProxy } from '../proxy.js';
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
 * `GET {base}/health`, the backend's basic service check, through `proxy`'s tunnel when there is
 * a proxy. For an `http://` base URL whose port serves TLS, `data.servesTls` is true, for the
 * upgrade's fix.
 */
export async function checkHealth(
  target: Target,
  timeoutMs: number,
  proxy?: ForwardProxy,
): Promise<CheckOutcome> {
  // A timer of its own, not `AbortSignal.timeout()`, whose timer keeps no process alive: a fetch
  // that a connection reset at once leaves hanging (it happens with undici) then ended the
  // command mid-report, with exit code 13 and no word.
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException('The operation timed out.', 'TimeoutError')),
    timeoutMs,
  );
  try {
    return await askHealth(target, timeoutMs, controller.signal, proxy);
  } finally {
    clearTimeout(timer);
  }
}

async function askHealth(
  target: Target,
  timeoutMs: number,
  signal: AbortSignal,
  proxy: ForwardProxy | undefined,
): Promise<CheckOutcome> {
  const url = `${target.httpBase}/health`;
  const where = `GET ${target.mount}/health`;
  let response: HealthResponse;
  try {
    response = await (proxy === undefined
      ? fetchHealth(url, signal)
      : getThrough(url, proxy, signal));
  } catch (error) {
    if (signal.aborted) {
      return fail(
        'health-unreachable',
        `${where}: no response within ${timeoutMs} ms`,
        'the server accepts connections but does not answer HTTP: its worker may be blocked or overloaded',
      );
    }
    const tls = !target.secure && (await servesTls(target, timeoutMs, proxy));
    return fail(
      'health-unreachable',
      `${where} failed: ${describe(error)}`,
      tls ? TLS_PORT_FIX : NETWORK_FIX,
      target.secure ? {} : { data: { servesTls: tls } },
    );
  }
  const { body, contentType } = response;
  const data = { httpStatus: response.status, body };
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
  const { location } = response;
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

/** What the health step reads of a response. */
interface HealthResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly contentType: string | null;
  readonly location: string | null;
  /** The start of the body, on one line. */
  readonly body: string;
}

/** `GET url` with `fetch`, straight to the server, redirects not followed. */
async function fetchHealth(url: string, signal: AbortSignal): Promise<HealthResponse> {
  const response = await fetch(url, { signal, redirect: 'manual' });
  return {
    status: response.status,
    ok: response.ok,
    contentType: response.headers.get('content-type'),
    location: response.headers.get('location'),
    body: bodyStart(await response.text().catch(() => '')),
  };
}

/**
 * `GET url` in the proxy's tunnel, with `node:http(s)` and the proxy's agent (`fetch` has no
 * agent). A body is read up to a limit, and, as with `fetch`, one cut short is kept as it is.
 */
function getThrough(
  url: string,
  proxy: ForwardProxy,
  signal: AbortSignal,
): Promise<HealthResponse> {
  const get = url.startsWith('https:') ? httpsGet : httpGet;
  return new Promise((resolve, reject) => {
    const request = get(url, { agent: proxy.agent, signal }, (response) => {
      let text = '';
      const done = () => {
        const header = (name: string) => {
          const value = response.headers[name];
          return (Array.isArray(value) ? value[0] : value) ?? null;
        };
        const status = response.statusCode ?? 0;
        resolve({
          status,
          ok: status >= 200 && status < 300,
          contentType: header('content-type'),
          location: header('location'),
          body: bodyStart(text),
        });
      };
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
        if (text.length > MAX_BODY_CHARS) response.destroy();
      });
      response.once('close', done);
      response.on('error', () => {});
    });
    request.once('error', reject);
  });
}

/** More than the report shows of a body, so that a limit never cuts what it shows. */
const MAX_BODY_CHARS = 8_192;

function bodyStart(text: string): string {
  return text.slice(0, 200).replace(/\s+/g, ' ').trim();
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
