import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestCertificates, type TestCertificates } from '../helpers/tls.js';
import { startWsServer, type TestServer } from '../helpers/ws-server.js';
import { doctorJson, killLeftovers, runCli, userArgs } from './helpers.js';

const TOKEN = 'tls-token-of-user-2';
const AFTER_TLS = ['health', 'upgrade', 'auth', 'heartbeat', 'reconnect'];

let certificates: TestCertificates;
beforeAll(async () => {
  certificates = await createTestCertificates();
});
afterAll(() => certificates.remove());

const servers: TestServer[] = [];
const tcpServers: Server[] = [];
afterEach(async () => {
  killLeftovers();
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await Promise.all(
    tcpServers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))),
  );
});

/**
 * A backend over TLS with this certificate (PEM): `/health` answers 200, and the socket acks
 * user 2 at once and answers pings.
 */
async function serve(tls: { readonly cert: string; readonly key: string }): Promise<TestServer> {
  const server = await startWsServer(
    (ws) => {
      ws.send('{"type":"connected","user_id":2}');
      ws.on('message', (data) => {
        if (JSON.parse(String(data)).type === 'ping') ws.send('{"type":"pong"}');
      });
    },
    { tls },
  );
  server.onRequest = (request, response) => {
    if (request.url !== '/health') response.writeHead(404).end();
    else
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"healthy"}');
  };
  servers.push(server);
  return server;
}

/** Listens with `server` on 127.0.0.1, any free port, until the test ends; gives the port. */
async function listen(server: Server): Promise<number> {
  tcpServers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

/**
 * The environment of a run that trusts `file` as Node does for a private CA. Without it, the
 * run trusts Node's CAs alone, whatever this machine sets.
 */
const trusting = (file?: string): NodeJS.ProcessEnv => ({ NODE_EXTRA_CA_CERTS: file });

/** `doctor --json` against `baseUrl`, trusting the test CA as a private CA. */
const doctorTrustingCa = (baseUrl: string, ...extra: string[]) =>
  doctorJson(baseUrl, TOKEN, extra, trusting(certificates.caPath));

/** `doctor --json` against `baseUrl`, with Node's CAs alone. */
const doctorTrustingNone = (baseUrl: string, ...extra: string[]) =>
  doctorJson(baseUrl, TOKEN, extra, trusting());

describe('task-status doctor over TLS, trusted', () => {
  it('passes every step against a wss:// server whose CA NODE_EXTRA_CA_CERTS names', async () => {
    const server = await serve(certificates.trusted);
    const { code, report, check } = await doctorTrustingCa(
      server.baseUrl.replace('https:', 'wss:'),
    );
    expect(report.checks.map((item) => [item.id, item.verdict])).toEqual(
      report.checks.map((item) => [item.id, 'pass']),
    );
    expect(report.url).toBe(`wss://127.0.0.1:${server.port}/api/v1/ws/tasks/2?token=***`);
    const tls = check('tls');
    expect(tls.summary).toMatch(
      /^certificate for localhost valid until \d{4}-\d\d-\d\d \(TLSv1\.[23], issued by task-status test CA\)$/,
    );
    expect(tls.data).toMatchObject({
      protocol: expect.stringMatching(/^TLSv1\.[23]$/),
      subject: 'localhost',
      issuer: 'task-status test CA',
      altNames: ['DNS:localhost', 'IP Address:127.0.0.1'],
      chain: ['localhost', 'task-status test CA'],
      // Valid for 30 days from its making, a moment ago.
      daysLeft: expect.closeTo(30, 0),
      code: null,
    });
    expect(check('health').data).toMatchObject({ httpStatus: 200 });
    expect(check('auth').data).toMatchObject({ verdict: 'ack', ackUserId: 2 });
    expect(code).toBe(0);
  });

  it('passes against a self-signed certificate that NODE_EXTRA_CA_CERTS names itself', async () => {
    const server = await serve(certificates.selfSigned);
    const { code, check } = await doctorJson(
      server.baseUrl,
      TOKEN,
      [],
      trusting(certificates.selfSigned.certPath),
    );
    expect(check('tls')).toMatchObject({ verdict: 'pass', data: { issuer: 'localhost' } });
    expect(check('reconnect').verdict).toBe('pass');
    expect(code).toBe(0);
  });

  it('passes a certificate of an intermediate CA that the server sends with it', async () => {
    const server = await serve(certificates.fullChain);
    const { code, check } = await doctorTrustingCa(server.baseUrl);
    expect(check('tls')).toMatchObject({
      verdict: 'pass',
      data: {
        issuer: 'task-status test intermediate CA',
        chain: ['localhost', 'task-status test intermediate CA', 'task-status test CA'],
        code: null,
      },
    });
    expect(code).toBe(0);
  });

  it('warns of a certificate that expires within 14 days, and goes on', async () => {
    const server = await serve(certificates.expiringSoon);
    const { code, report, check } = await doctorTrustingCa(server.baseUrl);
    const tls = check('tls');
    expect(tls).toMatchObject({ verdict: 'warn', cause: 'tls-expiring' });
    expect(tls.summary).toMatch(
      /^the certificate for localhost expires in 2 days, at \d{4}-\d\d-\d\d \d\d:\d\d UTC \(TLSv1\.[23], issued by task-status test CA\)$/,
    );
    expect(tls.fix).toMatch(/^renew it before then/);
    expect(report.checks.filter((item) => item.id !== 'tls').map((item) => item.verdict)).toEqual(
      Array(8).fill('pass'),
    );
    expect(code).toBe(0);
  });

  it('prints the TLS step third in its human report', async () => {
    const server = await serve(certificates.trusted);
    const result = await runCli(
      userArgs('doctor', server.baseUrl, TOKEN, '--timeout', '800'),
      trusting(certificates.caPath),
    );
    expect(result.stdout).toMatch(
      /✔ TCP connect .*\n✔ TLS +certificate for localhost valid until .*\n✔ Health /,
    );
    expect(result.stdout).toContain('OK: 9 passed, 0 warned, 0 failed, 0 skipped');
    expect(result.code).toBe(0);
  });
});

describe('task-status doctor names what is wrong with the certificate', () => {
  it.each([
    [
      'signed by a CA not trusted here, and sent alone',
      () => certificates.trusted,
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'is issued by task-status test CA, which is not trusted here, and the server does not send it',
      'NODE_EXTRA_CA_CERTS=/path/to/ca.pem',
    ],
    [
      'sent with a CA not trusted here',
      () => ({ cert: certificates.trusted.cert + certificates.ca, key: certificates.trusted.key }),
      'SELF_SIGNED_CERT_IN_CHAIN',
      'leads up to task-status test CA, a CA not trusted here',
      'NODE_EXTRA_CA_CERTS=/path/to/ca.pem',
    ],
    [
      'self-signed',
      () => certificates.selfSigned,
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'is self-signed, and not trusted here',
      'NODE_EXTRA_CA_CERTS=/path/to/cert.pem',
    ],
  ])(
    'a certificate %s, as untrusted, and skips the steps after it',
    async (_what, certificate, code, said, fix) => {
      const server = await serve(certificate());
      const run = await doctorTrustingNone(server.baseUrl);
      const tls = run.check('tls');
      expect(tls).toMatchObject({ verdict: 'fail', cause: 'tls-untrusted', data: { code } });
      expect(tls.summary).toBe(`the certificate for localhost ${said} (${code})`);
      expect(tls.fix).toContain(fix);
      // Only a server that sends its leaf alone may be missing an intermediate certificate.
      expect(tls.fix?.includes('intermediate')).toBe(code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
      expect(tls.notes.join(' ')).not.toContain('NODE_EXTRA_CA_CERTS is set');
      expect(AFTER_TLS.map((id) => run.check(id).summary)).toEqual(
        Array(5).fill('skipped: the TLS handshake failed'),
      );
      expect(run.check('url').verdict).toBe('pass');
      expect(run.code).toBe(1);
    },
  );

  it.each([
    [
      'without the intermediate certificate, its CA trusted',
      () => certificates.leafOnly,
      doctorTrustingCa,
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'the certificate for localhost is issued by task-status test intermediate CA, which is not trusted here, and the server does not send it',
    ],
    [
      'with the intermediate certificate, its CA not trusted',
      () => certificates.fullChain,
      doctorTrustingNone,
      'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
      'the chain of the certificate for localhost ends with one issued by task-status test CA, which is not trusted here',
    ],
  ])(
    'a certificate of an intermediate CA, served %s, as untrusted, with the full chain fix',
    async (_what, certificate, doctor, code, said) => {
      const server = await serve(certificate());
      const { check } = await doctor(server.baseUrl);
      const tls = check('tls');
      expect(tls).toMatchObject({ verdict: 'fail', cause: 'tls-untrusted', data: { code } });
      expect(tls.summary).toBe(`${said} (${code})`);
      expect(tls.fix).toContain('NODE_EXTRA_CA_CERTS=/path/to/ca.pem');
      expect(tls.fix).toContain('make it send its intermediate certificates too');
    },
  );

  it('notes a NODE_EXTRA_CA_CERTS that does not hold the CA of the chain', async () => {
    const server = await serve(certificates.trusted);
    const file = certificates.selfSigned.certPath;
    const { check } = await doctorJson(server.baseUrl, TOKEN, [], trusting(file));
    expect(check('tls')).toMatchObject({ verdict: 'fail', cause: 'tls-untrusted' });
    expect(check('tls').notes).toContain(
      `NODE_EXTRA_CA_CERTS is set (${file}), but holds no certificate that this chain leads to; had Node been unable to read it, it said so on stderr as it started`,
    );
  });

  it('notes that an untrusted certificate does not name the host either', async () => {
    const server = await serve(certificates.otherHost);
    const { check } = await doctorTrustingNone(server.baseUrl);
    expect(check('tls')).toMatchObject({ verdict: 'fail', cause: 'tls-untrusted' });
    expect(check('tls').notes).toContain(
      'the certificate does not name 127.0.0.1 either (it lists DNS:tasks.example.test): use a host it names in --base-url, or reissue it with IP:127.0.0.1 in its subjectAltName',
    );
  });

  it.each([
    ['127.0.0.1', 'IP:127.0.0.1'],
    ['localhost', 'DNS:localhost'],
  ])('a certificate that does not name %s, naming the names it has', async (host, entry) => {
    const server = await serve(certificates.otherHost);
    const run = await doctorTrustingCa(`https://${host}:${server.port}`);
    const tls = run.check('tls');
    expect(tls).toMatchObject({
      verdict: 'fail',
      cause: 'tls-hostname',
      data: { code: 'ERR_TLS_CERT_ALTNAME_INVALID', altNames: ['DNS:tasks.example.test'] },
    });
    expect(tls.summary).toBe(
      `the certificate names DNS:tasks.example.test, not ${host} (ERR_TLS_CERT_ALTNAME_INVALID)`,
    );
    expect(tls.fix).toBe(
      `use a host in --base-url that the certificate names, or reissue it with ${entry} in its subjectAltName`,
    );
    expect(run.check('health').summary).toBe('skipped: the TLS handshake failed');
    expect(run.code).toBe(1);
  });

  it('an expired certificate, with when it expired and what the clock here says', async () => {
    const server = await serve(certificates.expired);
    const run = await doctorTrustingCa(server.baseUrl);
    const tls = run.check('tls');
    expect(tls).toMatchObject({
      verdict: 'fail',
      cause: 'tls-expired',
      data: { code: 'CERT_HAS_EXPIRED', validTo: '2020-01-02T00:00:00.000Z' },
    });
    expect(tls.summary).toMatch(
      /^the certificate for localhost expired at 2020-01-02 00:00 UTC, \d+ days ago \(CERT_HAS_EXPIRED; this machine's clock says \d{4}-\d\d-\d\d \d\d:\d\d UTC\)$/,
    );
    expect(tls.fix).toMatch(/^renew the server's certificate and reload the server/);
    expect(AFTER_TLS.map((id) => run.check(id).verdict)).toEqual(Array(5).fill('skip'));
    expect(run.code).toBe(1);
  });

  it('a certificate not valid yet, as a clock to check', async () => {
    const server = await serve(certificates.notYetValid);
    const run = await doctorTrustingCa(server.baseUrl);
    const tls = run.check('tls');
    expect(tls).toMatchObject({
      verdict: 'fail',
      cause: 'tls-not-yet-valid',
      data: { code: 'CERT_NOT_YET_VALID' },
    });
    expect(tls.summary).toMatch(
      /^the certificate for localhost is valid only from \d{4}-\d\d-\d\d \d\d:\d\d UTC \(CERT_NOT_YET_VALID; this machine's clock says/,
    );
    expect(tls.fix).toContain('check the clock of this machine and of the server');
    expect(run.code).toBe(1);
  });

  it('prints the fix and the skipped steps in its human report', async () => {
    const server = await serve(certificates.selfSigned);
    const result = await runCli(
      userArgs('doctor', server.baseUrl, TOKEN, '--timeout', '800'),
      trusting(),
    );
    expect(result.stdout).toMatch(
      /✖ TLS +the certificate for localhost is self-signed, and not trusted here \(DEPTH_ZERO_SELF_SIGNED_CERT\) \(\d+ ms\)\n/,
    );
    expect(result.stdout).toMatch(
      / {16}fix \[tls-untrusted\]: trust the certificate itself as a CA/,
    );
    expect(result.stdout).toMatch(/- Health +skipped: the TLS handshake failed\n/);
    expect(result.stdout).toContain(
      'FAILED: 3 passed, 0 warned, 1 failed, 5 skipped; start with tls (tls-untrusted)',
    );
    expect(result.code).toBe(1);
  });
});

describe('task-status doctor names a port that does not serve TLS', () => {
  it('a plain HTTP server behind an https:// base URL, on one line', async () => {
    const server = await startWsServer();
    servers.push(server);
    const run = await doctorTrustingNone(server.baseUrl.replace('http:', 'https:'));
    const tls = run.check('tls');
    expect(tls).toMatchObject({
      verdict: 'fail',
      cause: 'tls-not-tls',
      data: { code: 'ERR_SSL_WRONG_VERSION_NUMBER' },
    });
    // OpenSSL's message ends in a newline; its reason is all the summary shows.
    expect(tls.summary).toBe(
      `127.0.0.1:${server.port} does not speak TLS: it answered the handshake with something else (wrong version number), such as plain HTTP`,
    );
    expect(tls.fix).toMatch(/^use http:\/\/ \(or ws:\/\/\) in --base-url for this port/);
    expect(run.check('upgrade').summary).toBe('skipped: the TLS handshake failed');
    expect(server.requests).toEqual([]);
    expect(run.code).toBe(1);
  });

  it('a port that takes the connection and never answers the handshake, within --timeout', async () => {
    const held: Socket[] = [];
    const port = await listen(createTcpServer((socket) => held.push(socket)));
    try {
      const run = await doctorTrustingNone(`wss://127.0.0.1:${port}`);
      expect(run.check('tcp').verdict).toBe('pass');
      const tls = run.check('tls');
      expect(tls).toMatchObject({
        verdict: 'fail',
        cause: 'tls-timeout',
        data: { timeoutMs: 800 },
      });
      expect(tls.summary).toBe(
        `no TLS handshake with 127.0.0.1:${port} within 800 ms (TCP connected, handshake unanswered)`,
      );
      expect(tls.durationMs).toBeGreaterThanOrEqual(800);
      expect(tls.durationMs).toBeLessThan(3_000);
      expect(AFTER_TLS.map((id) => run.check(id).verdict)).toEqual(Array(5).fill('skip'));
    } finally {
      for (const socket of held) socket.destroy();
    }
  });

  it('a port that closes the connection at once, as a handshake error', async () => {
    const port = await listen(createTcpServer((socket) => socket.destroy()));
    const { check } = await doctorTrustingNone(`https://127.0.0.1:${port}`);
    expect(check('tls')).toMatchObject({
      verdict: 'fail',
      cause: 'tls-error',
      data: { code: 'ECONNRESET' },
    });
    expect(check('tls').fix).toContain('a server that does not speak TLS may do that');
  });

  it("a TLS server that refuses the handshake, with OpenSSL's reason on one line", async () => {
    // TLS 1.2 with a client certificate required: the server ends the handshake with an alert.
    const server = createTlsServer({
      ...certificates.trusted,
      ca: certificates.ca,
      requestCert: true,
      rejectUnauthorized: true,
      maxVersion: 'TLSv1.2',
    });
    server.on('tlsClientError', () => {});
    const port = await listen(server);
    const { check } = await doctorTrustingCa(`https://127.0.0.1:${port}`);
    const tls = check('tls');
    expect(tls).toMatchObject({
      verdict: 'fail',
      cause: 'tls-error',
      data: { code: 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE' },
    });
    expect(tls.summary).toBe(
      `the TLS handshake with 127.0.0.1:${port} failed: sslv3 alert handshake failure (ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE)`,
    );
    expect(tls.fix).toContain('a client certificate it may require');
  });

  it('skips the TLS step of a ws:// base URL', async () => {
    const server = await startWsServer((ws) => ws.close(1008));
    servers.push(server);
    const { check } = await doctorTrustingNone(server.baseUrl.replace('http:', 'ws:'));
    expect(check('tls')).toMatchObject({
      verdict: 'skip',
      cause: null,
      summary: 'skipped: ws:// has no TLS',
    });
    expect(check('upgrade').verdict).toBe('pass');
  });
});

describe('task-status doctor names a TLS port behind an http:// base URL', () => {
  const TLS_PORT_FIX =
    'this port serves TLS (a TLS handshake with it succeeds), and drops a plain request: use https:// (or wss://) in --base-url';

  it('by a TLS handshake, when the port drops the plain request', async () => {
    const server = await serve(certificates.trusted);
    const run = await doctorTrustingNone(server.baseUrl.replace('https:', 'http:'));
    expect(run.check('tls').summary).toBe('skipped: http:// has no TLS');
    expect(run.check('health')).toMatchObject({
      verdict: 'fail',
      cause: 'health-unreachable',
      fix: TLS_PORT_FIX,
      data: { servesTls: true },
    });
    expect(run.check('upgrade')).toMatchObject({
      verdict: 'fail',
      cause: 'upgrade-error',
      fix: TLS_PORT_FIX,
    });
    expect(run.code).toBe(1);
  });

  it('not when the port drops the plain request and serves no TLS either', async () => {
    // It drops the connection once the request (or the TLS handshake) comes.
    const port = await listen(
      createTcpServer((socket) => socket.once('data', () => socket.destroy())),
    );
    const run = await doctorTrustingNone(`http://127.0.0.1:${port}`);
    expect(run.check('health')).toMatchObject({
      verdict: 'fail',
      cause: 'health-unreachable',
      fix: 'check the host, port and scheme in --base-url, and any proxy in between',
      data: { servesTls: false },
    });
    expect(run.check('upgrade')).toMatchObject({ verdict: 'fail', cause: 'upgrade-error' });
    expect(run.check('upgrade').fix).toContain('dropped the connection during the upgrade');
  });

  it("by nginx's answer to plain HTTP on its TLS port", async () => {
    // nginx answers a plain request on a port it serves TLS on with this page, upgrade or not.
    const page =
      '<html>\r\n<head><title>400 The plain HTTP request was sent to HTTPS port</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>The plain HTTP request was sent to HTTPS port</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';
    const headers = { server: 'nginx', 'content-type': 'text/html', connection: 'close' };
    const server = await startWsServer();
    servers.push(server);
    server.onRequest = (_request, response) => response.writeHead(400, headers).end(page);
    server.onUpgrade = (_request, socket) =>
      socket.end(
        `HTTP/1.1 400 Bad Request\r\nserver: nginx\r\ncontent-type: text/html\r\ncontent-length: ${page.length}\r\nconnection: close\r\n\r\n${page}`,
      );
    const run = await doctorTrustingNone(server.baseUrl);
    const fix =
      'this port serves HTTPS, as nginx says ("The plain HTTP request was sent to HTTPS port"): use https:// (or wss://) in --base-url';
    expect(run.check('health')).toMatchObject({
      verdict: 'fail',
      cause: 'health-status',
      summary: 'GET /health → 400: The plain HTTP request was sent to HTTPS port',
      fix,
      data: { httpStatus: 400, servesTls: true },
    });
    expect(run.check('upgrade')).toMatchObject({
      verdict: 'fail',
      cause: 'upgrade-rejected',
      fix,
      data: { httpStatus: 400 },
    });
    expect(run.code).toBe(1);
  });
});
