/**
 * Certificates for tests over TLS (`wss:`, `https:`), made fresh by the `openssl` command line
 * tool in a temporary directory: a test CA and server certificates for `localhost` and
 * `127.0.0.1`, valid or not in the ways a real deployment gets wrong.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import NodeWebSocket from 'ws';
import type { WebSocketConstructor } from '../../src/index.js';

const run = promisify(execFile);

/** A server certificate and its key, as PEM text and as files. */
export interface ServerCertificate {
  readonly cert: string;
  readonly key: string;
  readonly certPath: string;
  readonly keyPath: string;
}

export interface TestCertificates {
  /** The test CA's certificate (PEM), which no system trusts. */
  readonly ca: string;
  readonly caPath: string;
  /** Signed by the CA, for `localhost` and `127.0.0.1`, valid from an hour ago for 30 days. */
  readonly trusted: ServerCertificate;
  /** As `trusted`, but it expires in 2 days. */
  readonly expiringSoon: ServerCertificate;
  /** As `trusted`, but it expired in 2020. */
  readonly expired: ServerCertificate;
  /** As `trusted`, but valid only from a day from now: what a clock behind sees. */
  readonly notYetValid: ServerCertificate;
  /** Signed by the CA, for `tasks.example.test` only: wrong for `127.0.0.1`. */
  readonly otherHost: ServerCertificate;
  /**
   * For `localhost` and `127.0.0.1`, signed by an intermediate CA that the CA signed, and served
   * without the intermediate certificate, as a server that lacks its full chain sends it.
   */
  readonly leafOnly: ServerCertificate;
  /** The same certificate followed by the intermediate one: the full chain (`fullchain.pem`). */
  readonly fullChain: ServerCertificate;
  /** Signed by its own key, for `localhost` and `127.0.0.1`. */
  readonly selfSigned: ServerCertificate;
  /** Deletes the directory. */
  remove(): Promise<void>;
}

const LOCAL_NAMES = 'DNS:localhost,IP:127.0.0.1';
const DAY_MS = 86_400_000;

/**
 * Makes the CA and every server certificate (P-256 keys, well under a second in all).
 *
 * @throws {Error} naming the fix when the `openssl` command is missing.
 */
export async function createTestCertificates(): Promise<TestCertificates> {
  const dir = await mkdtemp(path.join(tmpdir(), 'task-status-tls-'));
  const at = (name: string) => path.join(dir, name);
  const openssl = async (...args: string[]) => {
    try {
      await run('openssl', args, { cwd: dir });
    } catch (error) {
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      throw new Error(
        missing
          ? 'The TLS tests need the `openssl` command: `apt-get install -y openssl` (as root).'
          : `openssl ${args[0]} failed: ${(error as { stderr?: string }).stderr ?? error}`,
      );
    }
  };
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

  await openssl(
    'req',
    '-x509',
    ...key,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '30',
    '-subj',
    '/CN=task-status test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  await openssl(
    'req',
    '-new',
    ...key,
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=localhost',
  );
  await writeFile(at('index.txt'), '');
  await writeFile(at('serial'), '01\n');
  await writeFile(
    at('ca.cnf'),
    [
      '[ca]',
      'default_ca = test',
      '[test]',
      'database = index.txt',
      'new_certs_dir = .',
      'serial = serial',
      'default_md = sha256',
      'policy = any',
      'unique_subject = no',
      '[any]',
      'commonName = supplied',
      '[local]',
      `subjectAltName = ${LOCAL_NAMES}`,
      'basicConstraints = CA:FALSE',
      'extendedKeyUsage = serverAuth',
      '[other]',
      'subjectAltName = DNS:tasks.example.test',
      'basicConstraints = CA:FALSE',
      'extendedKeyUsage = serverAuth',
      '[intermediate]',
      'basicConstraints = critical,CA:TRUE,pathlen:0',
      'keyUsage = critical,keyCertSign,cRLSign',
    ].join('\n'),
  );

  const now = Date.now();
  const sign = async (
    name: string,
    fromMs: number,
    toMs: number,
    extensions: 'local' | 'other' | 'intermediate',
    { issuer = 'ca', request = 'server' } = {},
  ) => {
    await openssl(
      'ca',
      '-batch',
      '-config',
      'ca.cnf',
      '-cert',
      `${issuer}.pem`,
      '-keyfile',
      `${issuer}.key`,
      '-in',
      `${request}.csr`,
      '-out',
      `${name}.pem`,
      '-startdate',
      asn1Time(fromMs),
      '-enddate',
      asn1Time(toMs),
      '-extensions',
      extensions,
      '-notext',
    );
    return certificate(`${name}.pem`, 'server.key');
  };
  const certificate = async (certName: string, keyName: string): Promise<ServerCertificate> => ({
    cert: await readFile(at(certName), 'utf8'),
    key: await readFile(at(keyName), 'utf8'),
    certPath: at(certName),
    keyPath: at(keyName),
  });

  const trusted = await sign('trusted', now - 3_600_000, now + 30 * DAY_MS, 'local');
  const expiringSoon = await sign('expiring-soon', now - 3_600_000, now + 2 * DAY_MS, 'local');
  const expired = await sign('expired', Date.UTC(2020, 0, 1), Date.UTC(2020, 0, 2), 'local');
  const notYetValid = await sign('not-yet-valid', now + DAY_MS, now + 30 * DAY_MS, 'local');
  const otherHost = await sign('other-host', now - 3_600_000, now + 30 * DAY_MS, 'other');
  await openssl(
    'req',
    '-new',
    ...key,
    '-keyout',
    'intermediate.key',
    '-out',
    'intermediate.csr',
    '-subj',
    '/CN=task-status test intermediate CA',
  );
  const intermediate = await sign(
    'intermediate',
    now - 3_600_000,
    now + 30 * DAY_MS,
    'intermediate',
    {
      request: 'intermediate',
    },
  );
  const leafOnly = await sign('leaf-only', now - 3_600_000, now + 30 * DAY_MS, 'local', {
    issuer: 'intermediate',
  });
  await writeFile(at('full-chain.pem'), leafOnly.cert + intermediate.cert);
  await openssl(
    'req',
    '-x509',
    '-key',
    'server.key',
    '-out',
    'self-signed.pem',
    '-days',
    '30',
    '-subj',
    '/CN=localhost',
    '-addext',
    `subjectAltName=${LOCAL_NAMES}`,
  );
  return {
    ca: await readFile(at('ca.pem'), 'utf8'),
    caPath: at('ca.pem'),
    trusted,
    expiringSoon,
    expired,
    notYetValid,
    otherHost,
    leafOnly,
    fullChain: await certificate('full-chain.pem', 'server.key'),
    selfSigned: await certificate('self-signed.pem', 'server.key'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** `YYYYMMDDHHMMSSZ`, the form `openssl ca` takes its dates in. */
function asn1Time(ms: number): string {
  return `${new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

/**
 * `ws`, trusting `ca` (PEM) besides Node's own CAs, as an app gives the client's `WebSocket`
 * option for a private CA.
 */
export function webSocketTrusting(ca: string): WebSocketConstructor {
  return class TrustingWebSocket extends NodeWebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols, { ca });
    }
  };
}
