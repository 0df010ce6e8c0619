import { isIP, type Socket } from 'node:net';
import { checkServerIdentity, connect, type DetailedPeerCertificate } from 'node:tls';
import type { ForwardProxy } from '../proxy.js';
import { openTunnel } from './tunnel.js';

/** What a server's certificate says, as far as the report needs it. */
export interface CertificateFacts {
  /** The subject's common name, if it has one. */
  readonly subject: string | null;
  /** The issuer's common name (or organisation). */
  readonly issuer: string | null;
  /** The subjectAltName entries, as Node writes them: `DNS:localhost`, `IP Address:127.0.0.1`. */
  readonly altNames: readonly string[];
  /**
   * The chain as Node built it, from the server's certificate up: names of what the server
   * sent, completed from the CAs trusted here. The last is where verification stopped.
   */
  readonly chain: readonly string[];
  /** The issuer of the last certificate in `chain`. */
  readonly chainIssuer: string | null;
  readonly validFrom: Date;
  readonly validTo: Date;
  /** Whether it names the host, by Node's own rule (also when refused for something else). */
  readonly namesHost: boolean;
}

/** What one TLS handshake saw. */
export type TlsProbe =
  | {
      readonly kind: 'secured';
      /** `TLSv1.3`, say. */
      readonly protocol: string;
      /** Node's verdict on the certificate (`CERT_HAS_EXPIRED`, …); `null` when it is trusted. */
      readonly rejection: string | null;
      readonly certificate: CertificateFacts | null;
    }
  | { readonly kind: 'timeout' }
  | {
      readonly kind: 'error';
      readonly code: string | undefined;
      /** OpenSSL's reason (`wrong version number`) when there is one, else the message. */
      readonly message: string;
    };

/**
 * A TLS handshake with `host:port` within `timeoutMs`, with the trust `ws` and `fetch` have by
 * default: Node's CAs and `NODE_EXTRA_CA_CERTS`, and the host as the SNI name unless it is an
 * address. Nothing is sent over the connection, so it goes on past a certificate that is not
 * trusted (`rejectUnauthorized: false`) to tell what that certificate is; `rejection` is the
 * verdict that `ws` and `fetch` would act on. Through `proxy`, the handshake runs inside a
 * tunnel to `host:port`, end to end with the server, as the sockets' does; a tunnel the proxy
 * does not open is an `error`.
 */
export async function probeTls(
  host: string,
  port: number,
  timeoutMs: number,
  proxy?: ForwardProxy,
): Promise<TlsProbe> {
  if (proxy === undefined) return handshake({ host, port }, host, timeoutMs);
  const tunnel = await openTunnel(proxy, host, port, timeoutMs);
  if (tunnel.kind !== 'open') {
    return {
      kind: 'error',
      code: undefined,
      message: `the proxy ${proxy.shown} opened no tunnel: ${tunnel.message}`,
    };
  }
  try {
    return await handshake({ socket: tunnel.socket }, host, timeoutMs);
  } finally {
    tunnel.socket.destroy();
  }
}

/** The handshake itself, over a new connection to `host:port` or over `socket`. */
function handshake(
  over: { readonly host: string; readonly port: number } | { readonly socket: Socket },
  host: string,
  timeoutMs: number,
): Promise<TlsProbe> {
  return new Promise((resolve) => {
    let settled = false;
    const socket = connect({
      ...over,
      rejectUnauthorized: false,
      ...(isIP(host) === 0 ? { servername: host } : {}),
    });
    const settle = (probe: TlsProbe) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(probe);
    };
    // A whole deadline, not an idle one: a server may trickle bytes without ever finishing.
    const timer = setTimeout(() => settle({ kind: 'timeout' }), timeoutMs);
    socket.once('secureConnect', () => {
      const rejection = socket.authorized ? null : String(socket.authorizationError);
      settle({
        kind: 'secured',
        protocol: socket.getProtocol() ?? 'TLS',
        rejection,
        certificate: facts(socket.getPeerCertificate(true), host),
      });
    });
    // `on`, not `once`: an error after the settlement is absorbed.
    socket.on('error', (error: Error & { code?: string; reason?: string }) =>
      settle({ kind: 'error', code: error.code, message: oneLine(error.reason ?? error.message) }),
    );
  });
}

function facts(certificate: DetailedPeerCertificate, host: string): CertificateFacts | null {
  // An empty object when the server sent no certificate.
  if (typeof certificate.valid_to !== 'string') return null;
  const chain: DetailedPeerCertificate[] = [certificate];
  for (
    let next = certificate.issuerCertificate;
    next !== undefined;
    next = next.issuerCertificate
  ) {
    // A self-signed root is its own issuer.
    if (chain.some((seen) => seen.fingerprint256 === next?.fingerprint256)) break;
    chain.push(next);
  }
  const top = chain[chain.length - 1] ?? certificate;
  return {
    subject: nameOf(certificate.subject, 'CN'),
    issuer: nameOf(certificate.issuer, 'CN') ?? nameOf(certificate.issuer, 'O'),
    altNames: certificate.subjectaltname?.split(', ').filter((name) => name !== '') ?? [],
    chain: chain.map((item) => nameOf(item.subject, 'CN') ?? nameOf(item.subject, 'O') ?? '?'),
    chainIssuer: nameOf(top.issuer, 'CN') ?? nameOf(top.issuer, 'O'),
    validFrom: new Date(certificate.valid_from),
    validTo: new Date(certificate.valid_to),
    namesHost: checkServerIdentity(host, certificate) === undefined,
  };
}

/** One attribute of a name; Node gives an array when the name repeats it. */
function nameOf(name: object | undefined, key: 'CN' | 'O'): string | null {
  const value: unknown = (name as Record<string, unknown> | undefined)?.[key];
  const first: unknown = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' && first !== '' ? first : null;
}

/** Text on one line: OpenSSL's messages end in a newline. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
