import { isIP, type Socket, connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { ForwardProxy } from '../proxy.js';

/** Where the proxy listens. */
export interface ProxyEndpoint {
  /** Host name or address, without IPv6 brackets. */
  readonly host: string;
  readonly port: number;
  /** `host:port`, an IPv6 address in brackets. */
  readonly where: string;
  /** An `https://` proxy, spoken to over TLS. */
  readonly secure: boolean;
}

/** What asking the proxy for a tunnel came to. */
export type TunnelOpening =
  | {
      readonly kind: 'open';
      /** The tunnel: bytes written to it reach the server. */
      readonly socket: Socket;
      /** The address of the proxy that took the connection. */
      readonly address: string;
      readonly statusCode: number;
      /** The proxy's status line after `HTTP/1.1`: `200 Connection established`. */
      readonly status: string;
    }
  | {
      /** No connection to the proxy: its name does not resolve, nothing listens, a firewall. */
      readonly kind: 'unreachable';
      readonly code: string | undefined;
      readonly message: string;
    }
  | {
      /**
       * The deadline passed: before the proxy took the connection (`connect`), before the TLS
       * handshake with an `https://` proxy finished (`tls`), or before it answered (`answer`).
       */
      readonly kind: 'timeout';
      readonly stage: 'connect' | 'tls' | 'answer';
      readonly message: string;
    }
  | {
      /** The proxy answered `CONNECT` with another status than 2xx. */
      readonly kind: 'refused';
      readonly statusCode: number;
      readonly status: string;
      readonly message: string;
    }
  | {
      /** The proxy took the connection, then answered with something that is not HTTP or none. */
      readonly kind: 'broken';
      readonly message: string;
    };

/** The longest answer to `CONNECT` read: a proxy's status line and headers are far shorter. */
const MAX_HEAD_BYTES = 16_384;

/** Where `proxy` listens, read from its URL. */
export function proxyEndpoint(proxy: ForwardProxy): ProxyEndpoint {
  const url = proxy.agent.proxy;
  const secure = url.protocol === 'https:';
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port);
  return { host, port, where: `${isIP(host) === 6 ? `[${host}]` : host}:${port}`, secure };
}

/**
 * Connects to `proxy` and asks it for a tunnel to `host:port` (HTTP `CONNECT`, with the user
 * name and password of the proxy URL, if any, as Basic credentials), within `timeoutMs` in all.
 * By hand rather than with the proxy's agent, to tell where it failed: reaching the proxy, or
 * its answer. The agent opens the same tunnel for every other step.
 */
export function openTunnel(
  proxy: ForwardProxy,
  host: string,
  port: number,
  timeoutMs: number,
): Promise<TunnelOpening> {
  const endpoint = proxyEndpoint(proxy);
  return new Promise((resolve) => {
    let settled = false;
    let connected = false;
    // An https:// proxy: the TLS handshake with it comes before its answer.
    let secured = !endpoint.secure;
    let head = Buffer.alloc(0);
    const socket = dial(endpoint);
    const settle = (opening: TunnelOpening) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('data', onData);
      if (opening.kind === 'open') socket.pause();
      else socket.destroy();
      resolve(opening);
    };
    const timer = setTimeout(() => {
      const stage = !connected ? 'connect' : !secured ? 'tls' : 'answer';
      settle({ kind: 'timeout', stage, message: `${UNFINISHED[stage]} within ${timeoutMs} ms` });
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) {
        if (head.length > MAX_HEAD_BYTES) settle(notHttp(head));
        return;
      }
      const opening = answered(head.subarray(0, end).toString('latin1'), socket);
      settle(opening);
      // Bytes past the answer are the server's, sent early: they stay for whoever reads next
      // (the socket is paused by now, so they are not read again here).
      const rest = head.subarray(end + 4);
      if (opening.kind === 'open' && rest.length > 0) socket.unshift(rest);
    };
    socket.once('connect', () => {
      connected = true;
    });
    socket.once('secureConnect', () => {
      secured = true;
    });
    socket.on('data', onData);
    // `on`, not `once`: an error after the settlement is absorbed.
    socket.on('error', (error: Error & { code?: string }) => {
      const message = oneLine(error.message);
      if (!connected) settle({ kind: 'unreachable', code: error.code, message });
      else if (!secured) settle({ kind: 'broken', message: `TLS with it failed: ${message}` });
      else settle({ kind: 'broken', message });
    });
    socket.once('close', () =>
      settle(
        head.length > 0
          ? notHttp(head)
          : { kind: 'broken', message: 'it closed the connection without an answer to CONNECT' },
      ),
    );
    socket.write(connectRequest(proxy, host, port));
  });
}

/** What had not come when the deadline passed, by stage. */
const UNFINISHED = {
  connect: 'no connection',
  tls: 'no TLS handshake with it',
  answer: 'no answer to CONNECT',
} as const;

/** A connection to the proxy: over TLS for an `https://` proxy. */
function dial(endpoint: ProxyEndpoint): Socket {
  if (!endpoint.secure) return tcpConnect({ host: endpoint.host, port: endpoint.port });
  return tlsConnect({
    host: endpoint.host,
    port: endpoint.port,
    ALPNProtocols: ['http/1.1'],
    ...(isIP(endpoint.host) === 0 ? { servername: endpoint.host } : {}),
  });
}

/** The `CONNECT` request for `host:port`. */
function connectRequest(proxy: ForwardProxy, host: string, port: number): string {
  const authority = `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
  const lines = [`CONNECT ${authority} HTTP/1.1`, `Host: ${authority}`];
  if (proxy.authorization !== undefined) {
    lines.push(`Proxy-Authorization: ${proxy.authorization}`);
  }
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** The proxy's answer, its head read whole. */
function answered(head: string, socket: Socket): TunnelOpening {
  const statusLine = head.split('\r\n', 1)[0] ?? '';
  const match = /^HTTP\/\d(?:\.\d)? (\d{3})(?: (.*))?$/.exec(statusLine);
  if (match === null) return notHttp(Buffer.from(head, 'latin1'));
  const statusCode = Number(match[1]);
  const status = `${statusCode} ${match[2] ?? ''}`.trim();
  if (statusCode >= 200 && statusCode < 300) {
    return { kind: 'open', socket, address: socket.remoteAddress ?? '', statusCode, status };
  }
  return { kind: 'refused', statusCode, status, message: `it answered CONNECT with ${status}` };
}

function notHttp(head: Buffer): TunnelOpening {
  const start = oneLine(head.subarray(0, 60).toString('latin1'));
  return {
    kind: 'broken',
    message: `it answered CONNECT with something else than HTTP${start === '' ? '' : ` ("${start}")`}`,
  };
}

/** Text on one line. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
