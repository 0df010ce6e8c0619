/**
 * `task-status doctor` behind a real forward proxy (tinyproxy), picked from the environment as
 * `watch` picks it: every step's connection through the proxy's tunnel, the proxy's host resolved
 * instead of the server's, each refusal of the proxy named with its own cause, and a host in
 * `NO_PROXY` checked directly, as without a proxy.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DoctorReport } from '../../src/cli/doctor/types.js';
import { SUSPECT_ROUTES } from '../../src/cli/doctor/upgrade-check.js';
import { setupTinyproxies } from '../helpers/tinyproxy.js';
import { createTestCertificates, type TestCertificates } from '../helpers/tls.js';
import { startWsServer, type TestServer } from '../helpers/ws-server.js';
import { doctorJson, runCli, setupServers, userArgs } from './helpers.js';

const TOKEN = 'doctor-proxy-token-of-user-2';
const PASSWORD = 'proxy-pass-5c7e';
const AFTER_TCP = ['tls', 'health', 'upgrade', 'auth', 'heartbeat', 'reconnect'];
const start = setupServers(TOKEN);

let certificates: TestCertificates;
beforeAll(async () => {
  certificates = await createTestCertificates();
});
afterAll(() => certificates.remove());

const proxy = setupTinyproxies();
const scripted: TestServer[] = [];
const rawServers: { server: Server; sockets: Set<Socket> }[] = [];
afterEach(async () => {
  await Promise.all(scripted.splice(0).map((server) => server.close()));
  await Promise.all(
    rawServers.splice(0).map(({ server, sockets }) => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(resolve));
    }),
  );
});

/** A TCP server on 127.0.0.1 that does `onConnection` with each connection; gives its URL. */
async function rawProxy(onConnection: (socket: Socket) => void): Promise<string> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    onConnection(socket);
  });
  rawServers.push({ server, sockets });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** `doctor --json` against `baseUrl` with `env`. */
function doctorWith(baseUrl: string, env: NodeJS.ProcessEnv) {
  return doctorJson(baseUrl, TOKEN, [], env);
}

/** Each check's verdict, in order. */
function verdicts(report: DoctorReport): [string, string][] {
  return report.checks.map((check) => [check.id, check.verdict]);
}

/** The same checks, each with `verdict`, but `tls` with `tls`. */
function all(report: DoctorReport, verdict: string, tls = verdict): [string, string][] {
  return report.checks.map((check) => [check.id, check.id === 'tls' ? tls : verdict]);
}

describe('task-status doctor through a proxy that lets it through', () => {
  it('checks a healthy server through the proxy of HTTP_PROXY, every connection in its tunnel', async () => {
    const [forward, server] = await Promise.all([proxy(), start()]);
    const { code, report, check } = await doctorWith(server.url, { HTTP_PROXY: forward.url });
    expect(verdicts(report)).toEqual(all(report, 'pass', 'skip'));
    expect(report.proxy).toBe(forward.url);
    expect(check('dns')).toMatchObject({
      summary: "the proxy's host 127.0.0.1 resolves to 127.0.0.1",
      data: { proxyHost: '127.0.0.1' },
    });
    expect(check('tcp')).toMatchObject({
      summary: `the proxy ${forward.url} opened a tunnel to 127.0.0.1:${server.port} (200 Connection established)`,
      data: { proxy: forward.url, httpStatus: 200 },
    });
    expect(check('health').data).toMatchObject({ httpStatus: 200 });
    expect(check('auth').data).toMatchObject({ verdict: 'ack', ackUserId: 2 });
    // The TCP step, /health, the upgrade, the client's socket and its reconnect.
    await vi.waitFor(() =>
      expect(forward.connects()).toEqual(Array(5).fill(`127.0.0.1:${server.port}`)),
    );
    expect(code).toBe(0);
  });

  it('names the proxy in the report without its password, and gives it the credentials', async () => {
    const [forward, server] = await Promise.all([
      proxy({ basicAuth: { user: 'alice', password: PASSWORD } }),
      start(),
    ]);
    // With the debug output of every module on, which would print the proxy URL it was given.
    const env = { HTTP_PROXY: forward.url.replace('//', `//alice:${PASSWORD}@`), DEBUG: '*' };
    const text = await runCli(userArgs('doctor', server.url, TOKEN, '--timeout', '800'), env);
    expect(text.stdout).toContain(
      `· ws://127.0.0.1:${server.port}/api/v1/ws/tasks/2?token=*** via ${forward.url}\n`,
    );
    expect(text.stdout).toContain('OK: 8 passed, 0 warned, 0 failed, 1 skipped');
    expect(text.code).toBe(0);
    const json = await doctorWith(server.url, env);
    expect(json.report).toMatchObject({ ok: true, proxy: forward.url });
    for (const output of [text.stdout, text.stderr, JSON.stringify(json.report), json.stderr]) {
      expect(output).not.toContain(PASSWORD);
    }
    await vi.waitFor(() => expect(forward.connects()).toHaveLength(10));
  });

  it('checks TLS inside the tunnel for https://, with the CA that NODE_EXTRA_CA_CERTS names', async () => {
    const { cert, key } = certificates.trusted;
    const [forward, server] = await Promise.all([proxy(), start({ tls: { cert, key } })]);
    const { code, report, check } = await doctorWith(server.url, {
      HTTPS_PROXY: forward.url,
      NODE_EXTRA_CA_CERTS: certificates.caPath,
    });
    expect(verdicts(report)).toEqual(all(report, 'pass'));
    expect(report.proxy).toBe(forward.url);
    expect(check('tls').summary).toMatch(
      /^certificate for localhost valid until \d{4}-\d\d-\d\d \(TLSv1\.[23], issued by task-status test CA\)$/,
    );
    // The TLS step's tunnel comes on top of those of an http:// server.
    await vi.waitFor(() =>
      expect(forward.connects()).toEqual(Array(6).fill(`127.0.0.1:${server.port}`)),
    );
    expect(code).toBe(0);
  });

  it('fails the TLS step in the tunnel on a certificate not trusted here, as without a proxy', async () => {
    const { cert, key } = certificates.trusted;
    const [forward, server] = await Promise.all([proxy(), start({ tls: { cert, key } })]);
    const run = await doctorWith(server.url, {
      HTTPS_PROXY: forward.url,
      NODE_EXTRA_CA_CERTS: undefined,
    });
    expect(run.check('tcp').verdict).toBe('pass');
    expect(run.check('tls')).toMatchObject({
      verdict: 'fail',
      cause: 'tls-untrusted',
      data: { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', issuer: 'task-status test CA' },
    });
    expect(AFTER_TCP.slice(1).map((id) => run.check(id).summary)).toEqual(
      Array(5).fill('skipped: the TLS handshake failed'),
    );
    await vi.waitFor(() => expect(forward.connects()).toHaveLength(2));
    expect(run.code).toBe(1);
  });

  it('looks for the real route through the proxy too', async () => {
    const [forward, server] = await Promise.all([
      proxy(),
      start({ path: '/api/v1/api/v1/ws/tasks/{userId}' }),
    ]);
    const run = await doctorWith(server.url, { HTTP_PROXY: forward.url });
    expect(run.check('upgrade')).toMatchObject({
      verdict: 'fail',
      cause: 'route-not-found',
      data: { httpStatus: 404, foundAt: '/api/v1/api/v1/ws/tasks/{userId}' },
    });
    // The TCP step, /health and the upgrade, then every suspect route but the one in use.
    const tunnels = 3 + SUSPECT_ROUTES.length - 1;
    await vi.waitFor(() =>
      expect(forward.connects()).toEqual(Array(tunnels).fill(`127.0.0.1:${server.port}`)),
    );
  });

  it("sends the heartbeat step's plain-text ping through the proxy too", async () => {
    const forward = await proxy();
    const server = await startWsServer((ws) => {
      ws.send('{"type":"connected","user_id":2}');
      ws.on('message', (data) => {
        if (String(data) === 'ping') ws.send('pong');
      });
    });
    scripted.push(server);
    const run = await doctorWith(server.baseUrl, { HTTP_PROXY: forward.url });
    expect(run.check('heartbeat')).toMatchObject({
      verdict: 'fail',
      cause: 'text-ping-only',
      data: { textPing: true },
    });
    // The TCP step, /health, the upgrade, the client's socket, the plain-text ping's, and the
    // reconnect.
    await vi.waitFor(() =>
      expect(forward.connects()).toEqual(Array(6).fill(`127.0.0.1:${server.port}`)),
    );
  });

  it('checks a host in NO_PROXY directly, with no proxy in the report', async () => {
    const [forward, server] = await Promise.all([proxy(), start()]);
    const { code, report, check } = await doctorWith(server.url, {
      HTTP_PROXY: forward.url,
      NO_PROXY: 'example.com,127.0.0.1',
    });
    expect(verdicts(report)).toEqual(all(report, 'pass', 'skip'));
    expect(report.proxy).toBeNull();
    expect(check('dns').summary).toBe('127.0.0.1 resolves to 127.0.0.1');
    expect(check('tcp').summary).toBe(`127.0.0.1:${server.port} accepts TCP connections`);
    expect(forward.connects()).toEqual([]);
    expect(code).toBe(0);
  });
});

describe('task-status doctor names what the proxy refuses', () => {
  it('names a proxy that allows no tunnel to the port (403), and skips the steps after it', async () => {
    const [forward, server] = await Promise.all([proxy({ connectPorts: [443] }), start()]);
    const run = await doctorWith(server.url, { HTTP_PROXY: forward.url });
    const tcp = run.check('tcp');
    expect(tcp).toMatchObject({
      verdict: 'fail',
      cause: 'proxy-refused',
      data: { httpStatus: 403 },
    });
    expect(tcp.summary).toBe(
      `the proxy ${forward.url} refused a tunnel to 127.0.0.1:${server.port} (403 Access violation): it does not allow this tunnel`,
    );
    expect(tcp.fix).toMatch(/CONNECT only to port 443.*list it in NO_PROXY/);
    expect(AFTER_TCP.map((id) => run.check(id).summary)).toEqual(
      Array(6).fill('skipped: the proxy opened no tunnel to the server'),
    );
    expect(run.check('url').verdict).toBe('pass');
    expect(server.clients).toEqual([]);
    expect(run.code).toBe(1);
  });

  it('says the proxy wants credentials (407), then that it does not accept those given (401)', async () => {
    const [forward, server] = await Promise.all([
      proxy({ basicAuth: { user: 'alice', password: PASSWORD } }),
      start(),
    ]);
    const without = await doctorWith(server.url, { HTTP_PROXY: forward.url });
    expect(without.check('tcp')).toMatchObject({
      verdict: 'fail',
      cause: 'proxy-auth',
      summary: `the proxy ${forward.url} refused a tunnel to 127.0.0.1:${server.port} (407 Proxy Authentication Required): it wants a user name and password`,
      data: { httpStatus: 407 },
    });
    expect(without.check('tcp').fix).toContain('http://user:password@host:port');

    const wrong = forward.url.replace('//', `//alice:not-${PASSWORD}@`);
    const refused = await doctorWith(server.url, { HTTP_PROXY: wrong });
    expect(refused.check('tcp')).toMatchObject({
      verdict: 'fail',
      cause: 'proxy-auth',
      summary: `the proxy ${forward.url} refused a tunnel to 127.0.0.1:${server.port} (401 Unauthorized): it does not accept the user name and password in the proxy URL`,
      data: { httpStatus: 401 },
    });
    expect(JSON.stringify(refused.report) + refused.stderr).not.toContain(PASSWORD);
    expect(server.clients).toEqual([]);
  });

  it('says when nothing listens where the proxy should be', async () => {
    const [server, closed] = await Promise.all([start(), start()]);
    await closed.close();
    const down = `http://127.0.0.1:${closed.port}`;
    const run = await doctorWith(server.url, { HTTP_PROXY: down });
    expect(run.check('dns').verdict).toBe('pass');
    const tcp = run.check('tcp');
    expect(tcp).toMatchObject({
      verdict: 'fail',
      cause: 'proxy-unreachable',
      summary: `nothing is listening on the proxy's 127.0.0.1:${closed.port} (ECONNREFUSED)`,
    });
    expect(tcp.fix).toMatch(/HTTP_PROXY.*list it in NO_PROXY/);
    expect(run.report.proxy).toBe(down);
    expect(run.code).toBe(1);
  });

  it("says when the proxy's host does not resolve, instead of resolving the server's", async () => {
    const server = await start();
    const run = await doctorWith(server.url, { HTTP_PROXY: 'http://proxy.invalid:3128' });
    expect(run.check('dns')).toMatchObject({
      verdict: 'fail',
      cause: 'proxy-unreachable',
      summary: expect.stringMatching(/^the proxy's host proxy\.invalid does not resolve \(/),
    });
    expect(run.check('tcp').summary).toBe("skipped: the proxy's host does not resolve");
    expect(run.code).toBe(1);
  });

  it('says when the proxy cannot reach the server (500)', async () => {
    const [forward, closed] = await Promise.all([proxy(), start()]);
    await closed.close();
    const run = await doctorWith(closed.url, { HTTP_PROXY: forward.url });
    const tcp = run.check('tcp');
    expect(tcp).toMatchObject({
      verdict: 'fail',
      cause: 'proxy-upstream',
      data: { httpStatus: 500 },
    });
    expect(tcp.summary).toMatch(
      new RegExp(
        `refused a tunnel to 127\\.0\\.0\\.1:${closed.port} \\(500 [^)]*\\): it could not reach the server$`,
      ),
    );
    expect(tcp.fix).toContain("localhost and 127.0.0.1 are the proxy's own");
    expect(run.check('health').summary).toBe('skipped: the proxy opened no tunnel to the server');
    expect(run.code).toBe(1);
  });

  it('names an https:// proxy URL for a proxy that does not speak TLS', async () => {
    const [forward, server] = await Promise.all([proxy(), start()]);
    const notTls = forward.url.replace('http:', 'https:');
    const run = await doctorWith(server.url, { HTTP_PROXY: notTls });
    expect(run.check('tcp')).toMatchObject({
      verdict: 'fail',
      cause: 'proxy-error',
      summary: `the proxy ${notTls} took the connection but did not finish a TLS handshake within 800 ms`,
    });
    expect(run.check('tcp').fix).toContain('write http:// in the proxy URL of HTTP_PROXY');
  });

  it('names a proxy that does not answer CONNECT, and one that answers with something else', async () => {
    const server = await start();
    const silent = await rawProxy(() => {});
    const timedOut = await doctorWith(server.url, { HTTP_PROXY: silent });
    expect(timedOut.check('tcp')).toMatchObject({
      verdict: 'fail',
      cause: 'proxy-timeout',
      summary: `the proxy ${silent} took the connection but did not answer CONNECT 127.0.0.1:${server.port} within 800 ms`,
    });
    const ssh = await rawProxy((socket) => socket.end('SSH-2.0-OpenSSH_9.6\r\n'));
    const other = await doctorWith(server.url, { HTTP_PROXY: ssh });
    expect(other.check('tcp')).toMatchObject({
      verdict: 'fail',
      cause: 'proxy-error',
      summary: `the proxy ${ssh} opened no tunnel to 127.0.0.1:${server.port}: it answered CONNECT with something else than HTTP ("SSH-2.0-OpenSSH_9.6")`,
    });
  });
});

describe('task-status doctor and the proxy variables', () => {
  it('says in its help how to name a proxy', async () => {
    const { stdout, code } = await runCli(['doctor', '--help']);
    expect(stdout).toContain('Behind a proxy: HTTPS_PROXY (https:// and wss://)');
    expect(code).toBe(0);
  });

  it('exits 2 on a proxy URL it cannot use, without showing its password', async () => {
    const server = await start();
    const result = await runCli(userArgs('doctor', server.url, TOKEN, '--json'), {
      HTTP_PROXY: `socks5://bob:${PASSWORD}@127.0.0.1:1080`,
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('socks5://127.0.0.1:1080 is not an http:// or https:// proxy');
    expect(result.stdout + result.stderr).not.toContain(PASSWORD);
  });
});
