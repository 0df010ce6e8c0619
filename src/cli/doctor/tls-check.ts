import { isIP } from 'node:net';
import type { ForwardProxy } from '../proxy.js';
import { hostAndPort, type Target } from './target.js';
import { type CertificateFacts, probeTls, type TlsProbe } from './tls-probe.js';
import { type CheckOutcome, fail, pass, warn } from './types.js';

const DAY_MS = 86_400_000;

/** A certificate that expires sooner than this is warned of. */
const EXPIRING_MS = 14 * DAY_MS;

/** Node's verdicts for a chain that does not lead to a CA trusted here. */
const UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
]);

/** The fix for an `http://` base URL whose port serves TLS. */
export const TLS_PORT_FIX =
  'this port serves TLS (a TLS handshake with it succeeds), and drops a plain request: use https:// (or wss://) in --base-url';

/** nginx's answer to plain HTTP on its TLS port, a 400 page with this title. */
export const NGINX_PLAIN_TO_TLS = /The plain HTTP request was sent to HTTPS port/i;

/** The fix for an `http://` base URL whose port nginx serves with TLS. */
export const NGINX_TLS_PORT_FIX =
  'this port serves HTTPS, as nginx says ("The plain HTTP request was sent to HTTPS port"): use https:// (or wss://) in --base-url';

/**
 * Whether the port of a plain target serves TLS: asked when a plain request to it fails, since
 * a TLS server drops one without a word. Any certificate will do.
 */
export async function servesTls(
  target: Target,
  timeoutMs: number,
  proxy: ForwardProxy | undefined,
): Promise<boolean> {
  const probe = await probeTls(
    target.host,
    target.port,
    Math.min(timeoutMs, PROBE_TIMEOUT_MS),
    proxy,
  );
  return probe.kind === 'secured';
}

const PROBE_TIMEOUT_MS = 2_000;

/**
 * The TLS step of a `wss:` target: a handshake with the trust `ws` and `fetch` have (inside the
 * proxy's tunnel, when there is a proxy), and what is wrong with the certificate, or with the
 * port, when it fails.
 */
export async function checkTls(
  target: Target,
  timeoutMs: number,
  extraCaCerts: string | undefined,
  proxy?: ForwardProxy,
): Promise<CheckOutcome> {
  const probe = await probeTls(target.host, target.port, timeoutMs, proxy);
  const where = hostAndPort(target);
  switch (probe.kind) {
    case 'timeout':
      return fail(
        'tls-timeout',
        `no TLS handshake with ${where} within ${timeoutMs} ms (${proxy === undefined ? 'TCP connected' : 'tunnel open'}, handshake unanswered)`,
        'the port takes connections but does not answer a TLS handshake: a server that is not TLS and waits for more looks the same (then use http:// or ws://), as does one too busy to answer; check the port in --base-url',
        { data: { timeoutMs } },
      );
    case 'error':
      return handshakeFailed(probe, where);
    case 'secured':
      return probe.certificate === null
        ? fail('tls-error', `${where} sent no certificate`, SERVER_SETTINGS_FIX, {
            data: { protocol: probe.protocol },
          })
        : judge(probe, probe.certificate, { target, extraCaCerts });
  }
}

function handshakeFailed(probe: Extract<TlsProbe, { kind: 'error' }>, where: string): CheckOutcome {
  const data = { code: probe.code ?? null };
  // OpenSSL's reading of a first record that is not TLS, such as `HTTP/1.1 400`.
  if (probe.code === 'ERR_SSL_WRONG_VERSION_NUMBER') {
    return fail(
      'tls-not-tls',
      `${where} does not speak TLS: it answered the handshake with something else (${probe.message}), such as plain HTTP`,
      'use http:// (or ws://) in --base-url for this port, or the port where the server serves TLS (443, say, on a proxy in front of it)',
      { data },
    );
  }
  const said = probe.code === undefined ? probe.message : `${probe.message} (${probe.code})`;
  return fail(
    'tls-error',
    `the TLS handshake with ${where} failed: ${said}`,
    probe.code === 'ECONNRESET'
      ? 'the server closed the connection without finishing the handshake: a server that does not speak TLS may do that (then use http:// or ws://), or one that refuses this client, such as a proxy that does not know the host name; check the scheme and port in --base-url'
      : SERVER_SETTINGS_FIX,
    { data },
  );
}

/** What the report says of a certificate, whatever the verdict. */
interface Seen {
  readonly certificate: CertificateFacts;
  readonly target: Target;
  /** Whom it is for: its subject, or else its first name. */
  readonly name: string;
  readonly msLeft: number;
  readonly now: number;
  readonly data: Readonly<Record<string, unknown>>;
}

/** A handshake that finished: Node's verdict on the certificate, then its expiry. */
function judge(
  probe: Extract<TlsProbe, { kind: 'secured' }>,
  certificate: CertificateFacts,
  { target, extraCaCerts }: { target: Target; extraCaCerts: string | undefined },
  now = Date.now(),
): CheckOutcome {
  const msLeft = certificate.validTo.getTime() - now;
  const seen: Seen = {
    certificate,
    target,
    name: certificate.subject ?? certificate.altNames[0] ?? target.host,
    msLeft,
    now,
    data: {
      protocol: probe.protocol,
      subject: certificate.subject,
      issuer: certificate.issuer,
      altNames: certificate.altNames,
      chain: certificate.chain,
      validFrom: certificate.validFrom.toISOString(),
      validTo: certificate.validTo.toISOString(),
      daysLeft: Math.round((msLeft / DAY_MS) * 10) / 10,
      code: probe.rejection,
    },
  };
  if (probe.rejection !== null) return refused(probe.rejection, seen, extraCaCerts);
  const { name, data } = seen;
  const about = `${probe.protocol}, issued by ${certificate.issuer ?? 'an unnamed issuer'}`;
  if (msLeft >= EXPIRING_MS) {
    return pass(`certificate for ${name} valid until ${day(certificate.validTo)} (${about})`, {
      data,
    });
  }
  return warn(
    'tls-expiring',
    `the certificate for ${name} expires in ${span(msLeft)}, at ${minute(certificate.validTo)} (${about})`,
    'renew it before then: from that moment clients refuse it (CERT_HAS_EXPIRED), and no socket opens',
    { data },
  );
}

/** A certificate Node refuses, `rejection` saying why. */
function refused(rejection: string, seen: Seen, extraCaCerts: string | undefined): CheckOutcome {
  const { certificate, target, name, data } = seen;
  const notes = otherName(certificate, target);
  if (UNTRUSTED.has(rejection)) {
    return untrusted(rejection, seen, [...notes, ...extraCaNote(extraCaCerts), BROWSERS_NOTE]);
  }
  const clock = `this machine's clock says ${minute(new Date(seen.now))}`;
  if (rejection === 'CERT_HAS_EXPIRED') {
    return fail(
      'tls-expired',
      `the certificate for ${name} expired at ${minute(certificate.validTo)}, ${span(-seen.msLeft)} ago (CERT_HAS_EXPIRED; ${clock})`,
      "renew the server's certificate and reload the server (a renewed certificate is served only after a reload); if the certificate is not that old, set this machine's clock right",
      { data, notes },
    );
  }
  if (rejection === 'CERT_NOT_YET_VALID') {
    return fail(
      'tls-not-yet-valid',
      `the certificate for ${name} is valid only from ${minute(certificate.validFrom)} (CERT_NOT_YET_VALID; ${clock})`,
      'check the clock of this machine and of the server (a clock behind makes a new certificate look not yet valid: turn on time sync, NTP), or wait until then',
      { data, notes },
    );
  }
  if (rejection === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const names = certificate.altNames.length > 0 ? certificate.altNames.join(', ') : name;
    return fail(
      'tls-hostname',
      `the certificate names ${names}, not ${target.host} (ERR_TLS_CERT_ALTNAME_INVALID)`,
      `use a host in --base-url that the certificate names, or reissue it with ${sanFor(target.host)} in its subjectAltName`,
      { data, notes: addressAsName(certificate, target.host) },
    );
  }
  return fail(
    'tls-error',
    `the certificate for ${name} is not accepted here (${rejection})`,
    "reissue the certificate for this server's name, for use by a TLS server (serverAuth), from a CA trusted here",
    { data, notes },
  );
}

/** A certificate whose chain does not lead to a CA trusted here. */
function untrusted(code: string, seen: Seen, notes: readonly string[]): CheckOutcome {
  const { certificate, name, data } = seen;
  const issuer = certificate.issuer ?? 'an unnamed issuer';
  const top = certificate.chain[certificate.chain.length - 1] ?? name;
  if (code === 'DEPTH_ZERO_SELF_SIGNED_CERT') {
    return fail(
      'tls-untrusted',
      `the certificate for ${name} is self-signed, and not trusted here (${code})`,
      "trust the certificate itself as a CA: run with NODE_EXTRA_CA_CERTS=/path/to/cert.pem (the server's certificate, PEM); or serve one from a CA that clients trust",
      { data, notes },
    );
  }
  const summary =
    code === 'SELF_SIGNED_CERT_IN_CHAIN'
      ? `the certificate for ${name} leads up to ${top}, a CA not trusted here (${code})`
      : code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'
        ? `the certificate for ${name} is issued by ${issuer}, which is not trusted here, and the server does not send it (${code})`
        : `the chain of the certificate for ${name} ends with one issued by ${certificate.chainIssuer ?? 'an unnamed issuer'}, which is not trusted here (${code})`;
  return fail(
    'tls-untrusted',
    summary,
    code === 'SELF_SIGNED_CERT_IN_CHAIN' ? PRIVATE_CA_FIX : `${PRIVATE_CA_FIX}; ${FULL_CHAIN_FIX}`,
    { data, notes },
  );
}

const PRIVATE_CA_FIX =
  "the server's certificate or its chain is not trusted here: for a private CA (a company's, a TLS-inspecting proxy's, mkcert's), run with NODE_EXTRA_CA_CERTS=/path/to/ca.pem, the CA's certificate";

const FULL_CHAIN_FIX =
  'a certificate from a public CA fails so when the server sends only its own certificate: make it send its intermediate certificates too (the full chain, such as fullchain.pem)';

const BROWSERS_NOTE =
  "browsers do not read NODE_EXTRA_CA_CERTS: they trust a CA in the system's certificate store, or their own";

const SERVER_SETTINGS_FIX =
  "check the scheme and port in --base-url, then the server's TLS settings (protocol versions, ciphers, a client certificate it may require) and any proxy in between";

/** When `NODE_EXTRA_CA_CERTS` is set and still the chain is not trusted. */
function extraCaNote(file: string | undefined): string[] {
  if (file === undefined || file === '') return [];
  return [
    `NODE_EXTRA_CA_CERTS is set (${file}), but holds no certificate that this chain leads to; had Node been unable to read it, it said so on stderr as it started`,
  ];
}

/** Another fault of the certificate, seen when it is refused for something else first. */
function otherName(certificate: CertificateFacts, target: Target): string[] {
  if (certificate.namesHost) return [];
  const listed = certificate.altNames.length > 0 ? certificate.altNames.join(', ') : 'no names';
  return [
    `the certificate does not name ${target.host} either (it lists ${listed}): use a host it names in --base-url, or reissue it with ${sanFor(target.host)} in its subjectAltName`,
  ];
}

/** An address listed as a DNS name, which no client matches to the address. */
function addressAsName(certificate: CertificateFacts, host: string): string[] {
  if (isIP(host) === 0 || !certificate.altNames.includes(`DNS:${host}`)) return [];
  return [
    `the certificate lists ${host} as a DNS name: an address matches only an IP entry (IP:${host})`,
  ];
}

function sanFor(host: string): string {
  return isIP(host) === 0 ? `DNS:${host}` : `IP:${host}`;
}

/** `2027-01-07` */
function day(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** `2027-01-07 02:31 UTC` */
function minute(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** `2 days`, `5 hours` */
function span(ms: number): string {
  if (ms < DAY_MS) {
    const hours = Math.max(1, Math.round(ms / 3_600_000));
    return `${hours} ${hours === 1 ? 'hour' : 'hours'}`;
  }
  const days = Math.round(ms / DAY_MS);
  return `${days} ${days === 1 ? 'day' : 'days'}`;
}
