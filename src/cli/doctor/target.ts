import { buildTaskStatusUrl, DEFAULT_TASK_STATUS_PATH, redactUrl } from '../../index.js';
import type { ForwardProxy } from '../proxy.js';

/** What `task-status doctor` was asked to check, after argument parsing. */
export interface DoctorOptions {
  readonly baseUrl: string;
  readonly userId: number | string;
  readonly token: string;
  /** Route template, when the server differs from `/api/v1/ws/tasks/{userId}`. */
  readonly path: string | undefined;
  /** Time allowed to each network step (TCP connect, health, upgrade, verdict, pong). */
  readonly timeoutMs: number;
  /** The ping frame (`--heartbeat-message`), when not the client's default. */
  readonly heartbeatMessage?: string | undefined;
  /**
   * The `NODE_EXTRA_CA_CERTS` the process started with (Node reads it only then), for the TLS
   * step to say that it did not help.
   */
  readonly extraCaCerts?: string | undefined;
  /**
   * The forward proxy `watch` would go through (see `proxyFor`): every step's connection goes
   * through its tunnel. None when undefined.
   */
  readonly proxy?: ForwardProxy | undefined;
}

/** Where the socket is, taken apart for the steps that need the pieces. */
export interface Target {
  /** The canonical socket URL, with the token: only ever given to a socket, never printed. */
  readonly socketUrl: string;
  /** The same, token masked. */
  readonly safeUrl: string;
  /** Host name or address, without IPv6 brackets. */
  readonly host: string;
  readonly port: number;
  /** `wss:` rather than `ws:`. */
  readonly secure: boolean;
  /** `http(s)://host[:port][/mount]`: where `/health` is. */
  readonly httpBase: string;
  /** The sub-path the app is mounted under (`''` or `/tasks-svc`). */
  readonly mount: string;
  /** The route template in use. */
  readonly route: string;
}

/**
 * Resolves the target the way the SDK does (`buildTaskStatusUrl`).
 * @throws {TaskStatusError} `INVALID_OPTIONS` for a base URL, user id or path that cannot work.
 */
export function resolveTarget(options: DoctorOptions): Target {
  const route = options.path ?? DEFAULT_TASK_STATUS_PATH;
  const socketUrl = buildTaskStatusUrl({
    baseUrl: options.baseUrl,
    userId: options.userId,
    token: options.token,
    path: route,
  });
  const url = new URL(socketUrl);
  const secure = url.protocol === 'wss:';
  const segments = url.pathname.split('/').filter((part) => part !== '');
  const routeLength = route.split('/').filter((part) => part !== '').length;
  const mount = segments
    .slice(0, segments.length - routeLength)
    .map((part) => `/${part}`)
    .join('');
  return {
    socketUrl,
    safeUrl: redactUrl(socketUrl),
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? (secure ? 443 : 80) : Number(url.port),
    secure,
    httpBase: `${secure ? 'https:' : 'http:'}//${url.host}${mount}`,
    mount,
    route,
  };
}

/** The socket URL for another route template on the same host and mount (for route probes). */
export function urlForRoute(target: Target, options: DoctorOptions, route: string): string {
  const base = new URL(options.baseUrl.trim());
  base.pathname = target.mount === '' ? '/' : target.mount;
  return buildTaskStatusUrl({
    baseUrl: base.href,
    userId: options.userId,
    token: options.token,
    path: route,
  });
}

/** `host:port`, an IPv6 address in brackets: where the TCP and TLS steps connect. */
export function hostAndPort(target: Target): string {
  return `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
}
