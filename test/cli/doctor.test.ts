import { createServer } from 'node:http';
import { type AddressInfo, createServer as createTcpServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { DoctorReport } from '../../src/cli/doctor/types.js';
import type { TaskStatusServer } from '../../src/testing/index.js';
import { startWsServer, type TestServer } from '../helpers/ws-server.js';
import { doctorJson, runCli, setupServers, userArgs } from './helpers.js';

const TOKEN = 'good-token-of-user-2';
const start = setupServers(TOKEN);
const scripted: TestServer[] = [];
afterEach(async () => {
  await Promise.all(scripted.splice(0).map((server) => server.close()));
});

/** `doctor --json` against `baseUrl` with `token`, and `extra` arguments. */
function doctor(baseUrl: string, token = TOKEN, ...extra: string[]) {
  return doctorJson(baseUrl, token, extra);
}

describe('task-status doctor against a healthy server', () => {
  it('passes every check but TLS, which an http:// base URL has none of, and exits 0', async () => {
    const server = await start();
    const { code, report, check } = await doctor(server.url);
    expect(report.checks.map((item) => [item.id, item.verdict])).toEqual(
      report.checks.map((item) => [item.id, item.id === 'tls' ? 'skip' : 'pass']),
    );
    expect(check('tls').summary).toBe('skipped: http:// has no TLS');
    expect(report.ok).toBe(true);
    expect(report.url).toBe(`ws://127.0.0.1:${server.port}/api/v1/ws/tasks/2?token=***`);
    expect(check('health').data).toMatchObject({ httpStatus: 200 });
    expect(check('upgrade').data).toMatchObject({ httpStatus: 101 });
    expect(check('auth').data).toMatchObject({ verdict: 'ack', ackUserId: 2 });
    expect(check('heartbeat').data).toMatchObject({ rttMs: expect.any(Number) });
    expect(check('reconnect').summary).toMatch(
      /^closed the socket and was accepted again after \d+ ms$/,
    );
    expect(code).toBe(0);
  });

  it('notes that a base ending in /api/v1 would double the prefix if joined naïvely', async () => {
    const server = await start();
    const { code, check } = await doctor(`${server.url}/api/v1`);
    expect(check('url')).toMatchObject({ verdict: 'pass', data: { naiveDoubled: true } });
    expect(check('url').data).toMatchObject({
      naiveUrl: `http://127.0.0.1:${server.port}/api/v1/api/v1/ws/tasks/2`,
    });
    expect(code).toBe(0);
  });

  it('warns about a base URL that already repeats the prefix, and still connects', async () => {
    const server = await start();
    const { code, check } = await doctor(`${server.url}/api/v1/api/v1`);
    expect(check('url')).toMatchObject({ verdict: 'warn', cause: 'doubled-prefix' });
    expect(check('auth').verdict).toBe('pass');
    expect(code).toBe(0);
  });

  it('reads the token from --token-env', async () => {
    const server = await start();
    const result = await runCli(
      ['doctor', '--base-url', server.url, '--user', '2', '--token-env', 'TS_TOKEN', '--json'],
      { TS_TOKEN: TOKEN },
    );
    expect((JSON.parse(result.stdout) as DoctorReport).ok).toBe(true);
    expect(result.code).toBe(0);
  });

  it('prints a human report with a verdict per step', async () => {
    const server = await start();
    const result = await runCli([
      'doctor',
      '--base-url',
      server.url,
      '--user',
      '2',
      '--token',
      TOKEN,
    ]);
    expect(result.stdout).toContain(`task-status doctor · user 2 · ws://127.0.0.1:${server.port}`);
    expect(result.stdout).toMatch(/✔ HTTP upgrade +HTTP 101 Switching Protocols after \d+ ms/);
    expect(result.stdout).toMatch(/✔ Auth verdict +accepted: connected frame \(user_id 2\)/);
    expect(result.stdout).toContain('OK: 8 passed, 0 warned, 0 failed, 1 skipped');
    expect(result.stdout).not.toContain(TOKEN);
    expect(result.code).toBe(0);
  });
});

describe('task-status doctor names the fault', () => {
  it('a token refused with a JSON error frame', async () => {
    const server = await start();
    const { code, report, check } = await doctor(server.url, 'expired-or-forged-token');
    expect(check('upgrade').verdict).toBe('pass');
    expect(check('auth')).toMatchObject({
      verdict: 'fail',
      cause: 'auth-error-frame',
      data: {
        errorCode: 'AUTH_FAILED',
        serverCode: 'auth_failed',
        serverMessage: 'Authentication failed: invalid or expired token',
        closeCode: 1008,
      },
    });
    expect(check('heartbeat').verdict).toBe('skip');
    expect(check('reconnect').verdict).toBe('skip');
    expect(report.ok).toBe(false);
    expect(code).toBe(1);
  });

  it('a token refused with a plain-text error frame', async () => {
    const server = await start({ errorFormat: 'text' });
    const { code, check } = await doctor(server.url, 'expired-or-forged-token');
    expect(check('auth')).toMatchObject({
      verdict: 'fail',
      cause: 'auth-text-frame',
      data: { serverCode: null, serverMessage: 'Authentication failed: invalid or expired token' },
    });
    expect(check('auth').notes.join(' ')).toContain('plain text');
    expect(code).toBe(1);
  });

  it('a token refused with a JSON error frame that has no code', async () => {
    const server = await startWsServer((ws) => {
      ws.send('{"type":"error","message":"Invalid token"}');
      ws.close(1008);
    });
    scripted.push(server);
    const { code, check } = await doctor(server.baseUrl, 'expired-or-forged-token');
    expect(check('auth')).toMatchObject({
      verdict: 'fail',
      cause: 'auth-error-frame',
      data: { serverCode: null, serverMessage: 'Invalid token', closeCode: 1008 },
    });
    expect(check('auth').summary).toContain('without a code');
    expect(check('auth').notes.join(' ')).not.toContain('plain text');
    expect(code).toBe(1);
  });

  it('a token refused by a close code alone, with its reason, as a close and not as text', async () => {
    const server = await startWsServer((ws) => ws.close(1008, 'Invalid token'));
    scripted.push(server);
    const { code, check } = await doctor(server.baseUrl, 'expired-or-forged-token');
    expect(check('auth')).toMatchObject({
      verdict: 'fail',
      cause: 'auth-close-code',
      data: { serverCode: null, serverMessage: null, closeCode: 1008 },
    });
    expect(check('auth').summary).toBe('refused: close 1008 "Invalid token" with no error frame');
    expect(code).toBe(1);
  });

  it('a token refused with an error frame and no close, as such and not as a close 1006', async () => {
    // A handler that sends the error frame and forgets to close.
    const server = await startWsServer((ws) =>
      ws.send('{"type":"error","code":"auth_failed","message":"Invalid token"}'),
    );
    scripted.push(server);
    const { check } = await doctor(server.baseUrl, 'expired-or-forged-token');
    expect(check('auth')).toMatchObject({ verdict: 'fail', cause: 'auth-error-frame' });
    expect(check('auth').summary).not.toContain('close 1006');
    expect(check('auth').summary).toContain('no close from the server');
    expect(check('auth').notes.join(' ')).toContain('close the socket after the error frame');
  });

  it("a token refused with FastAPI's own JSON detail frame, as JSON and not plain text", async () => {
    const server = await startWsServer((ws) => {
      ws.send('{"detail":"Not authenticated"}');
      ws.close();
    });
    scripted.push(server);
    const { code, check } = await doctor(server.baseUrl, 'expired-or-forged-token');
    expect(check('auth')).toMatchObject({
      verdict: 'fail',
      cause: 'auth-error-frame',
      data: { serverMessage: 'Not authenticated' },
    });
    expect(check('auth').summary).toContain('JSON frame without "type":"error"');
    expect(check('auth').notes.join(' ')).not.toContain('plain text');
    expect(code).toBe(1);
  });

  it.each([
    ['warns about an ack naming another numeric user', '2', 'warn'],
    ['passes an ack of a username route with the user number, as the client does', 'alice', 'pass'],
    ['passes an ack of a numeric route with leading zeros, as the client does', '042', 'pass'],
  ])('%s', async (_name, user, verdict) => {
    const server = await startWsServer((ws) => {
      ws.send('{"type":"connected","user_id":42}');
      ws.on('message', (data) => {
        if (JSON.parse(String(data)).type === 'ping') ws.send('{"type":"pong"}');
      });
    });
    scripted.push(server);
    const args = ['--base-url', server.baseUrl, '--user', user, '--token', TOKEN, '--json'];
    const result = await runCli(['doctor', ...args, '--timeout', '800']);
    const report = JSON.parse(result.stdout) as DoctorReport;
    const auth = report.checks.find((item) => item.id === 'auth');
    expect(auth).toMatchObject({ verdict, data: { verdict: 'ack', ackUserId: 42 } });
    expect(auth?.cause).toBe(verdict === 'warn' ? 'ack-user-mismatch' : null);
    expect(result.code).toBe(0);
  });

  it('a token issued to another user', async () => {
    const server = await start({ tokens: { 'token-of-user-3': 3 } });
    const { check } = await doctor(server.url, 'token-of-user-3');
    expect(check('auth')).toMatchObject({
      verdict: 'fail',
      cause: 'auth-error-frame',
      data: { serverCode: 'forbidden' },
    });
    expect(check('auth').fix).toContain('--user');
  });

  it('an upgrade answered later than the timeout, as a handshake timeout', async () => {
    const server = await start({ handshakeDelayMs: 5_000 });
    const { code, check } = await doctor(server.url);
    expect(check('tcp').verdict).toBe('pass');
    expect(check('upgrade')).toMatchObject({
      verdict: 'fail',
      cause: 'handshake-timeout',
      data: { timeoutMs: 800 },
    });
    expect(check('upgrade').summary).toContain('handshake timeout');
    expect(['auth', 'heartbeat', 'reconnect'].map((id) => check(id).verdict)).toEqual([
      'skip',
      'skip',
      'skip',
    ]);
    expect(code).toBe(1);
  });

  it('an upgrade answered in time but slowly, as a warning of handshake timeouts to come', async () => {
    const server = await start({ handshakeDelayMs: 1_100 });
    const { code, check } = await doctor(server.url, TOKEN, '--timeout', '3000');
    const upgrade = check('upgrade');
    expect(upgrade).toMatchObject({ verdict: 'warn', cause: 'slow-upgrade' });
    expect((upgrade.data as { ms: number }).ms).toBeGreaterThanOrEqual(1_000);
    expect(upgrade.fix).toContain('websocket.accept()');
    expect(check('auth').verdict).toBe('pass');
    expect(code).toBe(0);
  });

  it('a token refused later than authGraceMs, as a refusal and not as a lost connection', async () => {
    // The token check takes 1.3 s: the client presumes acceptance after 1 s of quiet.
    const server = await startWsServer((ws) => {
      const check = setTimeout(() => {
        ws.send('{"type":"error","code":"auth_failed","message":"Invalid token"}');
        ws.close(1008);
      }, 1_300);
      ws.on('close', () => clearTimeout(check));
    });
    scripted.push(server);
    const { code, check } = await doctor(server.baseUrl, 'expired-or-forged-token');
    expect(check('auth')).toMatchObject({
      verdict: 'fail',
      cause: 'auth-error-frame',
      data: { errorCode: 'AUTH_FAILED', serverCode: 'auth_failed', closeCode: 1008 },
    });
    expect(check('auth').notes.join(' ')).toContain('authGraceMs');
    expect(check('heartbeat').verdict).toBe('skip');
    expect(check('reconnect').verdict).toBe('skip');
    expect(code).toBe(1);
  });

  it('an ack later than authGraceMs, as a slow token check', async () => {
    // As a server whose handler reads nothing until the token check is done: pings wait.
    const server = await startWsServer((ws) => {
      let checked = false;
      let owed = 0;
      const check = setTimeout(() => {
        checked = true;
        ws.send('{"type":"connected","user_id":2}');
        for (; owed > 0; owed--) ws.send('{"type":"pong"}');
      }, 1_300);
      ws.on('close', () => clearTimeout(check));
      ws.on('message', (data) => {
        if (JSON.parse(String(data)).type !== 'ping') return;
        if (checked) ws.send('{"type":"pong"}');
        else owed++;
      });
    });
    scripted.push(server);
    const { code, check } = await doctor(server.baseUrl);
    expect(check('auth')).toMatchObject({
      verdict: 'warn',
      cause: 'slow-ack',
      data: { verdict: 'late-ack', ackUserId: 2 },
    });
    expect(check('auth').fix).toContain('authGraceMs');
    expect(check('heartbeat').verdict).toBe('pass');
    expect(code).toBe(0);
  });

  it('a server that sends no ack but answers pings, without waiting out the timeout', async () => {
    const server = await startWsServer((ws) => {
      ws.on('message', (data) => {
        if (JSON.parse(String(data)).type === 'ping') ws.send('{"type":"pong"}');
      });
    });
    scripted.push(server);
    const { code, check } = await doctor(server.baseUrl);
    expect(check('auth')).toMatchObject({
      verdict: 'warn',
      cause: 'no-ack',
      data: { verdict: 'quiet' },
    });
    // The pong ends the wait for a late refusal: authGraceMs (1000) + --timeout (800) not spent.
    expect(check('auth').durationMs).toBeLessThan(1_800);
    expect(check('heartbeat').verdict).toBe('pass');
    expect(check('reconnect').verdict).toBe('pass');
    expect(code).toBe(0);
  });

  // Hand-written handlers often greet at once, with a line of text or a type of their own: the
  // client holds such a frame back while a close could make it a refusal, but it came at once.
  it.each([
    ['plain text', 'Connected to task updates for user 2'],
    ['of a type the protocol does not have', '{"type":"connection_established","user_id":2}'],
  ])('a server that greets with a frame that is %s, then answers pings', async (what, greeting) => {
    const server = await startWsServer((ws) => {
      ws.send(greeting);
      ws.on('message', (data) => {
        if (JSON.parse(String(data)).type === 'ping') ws.send('{"type":"pong"}');
      });
    });
    scripted.push(server);
    // The client pings only once a close can no longer make the greeting a refusal (1 s later).
    const { code, check } = await doctor(server.baseUrl, TOKEN, '--timeout', '3000');
    const auth = check('auth');
    expect(auth).toMatchObject({ verdict: 'warn', cause: 'no-ack', data: { verdict: 'quiet' } });
    const summary = new RegExp(
      `^accepted only by silence: the first frame \\(at (\\d+) ms\\) is ${what}, not an ack, and no valid frame followed within authGraceMs \\(1000 ms\\); the first valid frame, a pong frame, came at (\\d+) ms$`,
    );
    expect(auth.summary).toMatch(summary);
    const [, greetedAt, pongAt] = summary.exec(auth.summary) ?? [];
    // The greeting is told as it arrived, before the verdict; the pong after the ping.
    expect(Number(greetedAt)).toBeLessThan(1_000);
    expect(Number(pongAt)).toBeGreaterThanOrEqual(1_000);
    expect(code).toBe(0);
  });

  it('a server that accepts the socket and then says nothing', async () => {
    let server: TaskStatusServer | undefined;
    // Each connection is silenced while it authenticates: no ack, no pong, socket kept open.
    server = await start({
      tokens: (token) => {
        server?.silence();
        return token === TOKEN ? 2 : null;
      },
    });
    const { code, check } = await doctor(server.url);
    expect(check('upgrade').verdict).toBe('pass');
    expect(check('auth')).toMatchObject({
      verdict: 'warn',
      cause: 'no-ack',
      data: { verdict: 'quiet' },
    });
    const heartbeat = check('heartbeat');
    expect(heartbeat).toMatchObject({ verdict: 'fail', cause: 'heartbeat-timeout' });
    // No frame at all, not even a verdict: a slow token check looks the same.
    expect(heartbeat.summary).toMatch(/^no frame at all since the socket opened: no verdict/);
    expect(heartbeat.fix).toContain('run again with a larger --timeout');
    expect(check('reconnect').summary).toMatch(
      /^closed the socket and was accepted again after \d+ ms, by silence alone as before$/,
    );
    expect(code).toBe(1);
  });

  it('a server that greets with a frame of its own and then says nothing, as silent since then', async () => {
    const server = await startWsServer((ws) => ws.send('{"type":"welcome","user_id":2}'));
    scripted.push(server);
    const { check } = await doctor(server.baseUrl);
    const heartbeat = check('heartbeat');
    expect(heartbeat).toMatchObject({ verdict: 'fail', cause: 'heartbeat-timeout' });
    // A frame did come: not "no frame at all since the socket opened".
    expect(heartbeat.summary).toMatch(/^no pong, and no frame at all, within \d+ ms of a ping/);
    expect(heartbeat.fix).toContain('stopped reading');
  });

  it('a route registered under a doubled prefix (404 on upgrade), and where it really is', async () => {
    const server = await start({ path: '/api/v1/api/v1/ws/tasks/{userId}' });
    const { code, check } = await doctor(server.url);
    expect(check('upgrade')).toMatchObject({
      verdict: 'fail',
      cause: 'route-not-found',
      data: { httpStatus: 404, foundAt: '/api/v1/api/v1/ws/tasks/{userId}' },
    });
    expect(check('upgrade').fix).toContain("--path '/api/v1/api/v1/ws/tasks/{userId}'");
    expect(code).toBe(1);
  });

  it('a route under a doubled prefix on a server that answers 403 to unknown paths, as Starlette does', async () => {
    const server = await start({
      path: '/api/v1/api/v1/ws/tasks/{userId}',
      unmatchedUpgradeStatus: 403,
    });
    const { code, check } = await doctor(server.url);
    expect(check('upgrade')).toMatchObject({
      verdict: 'fail',
      cause: 'route-not-found',
      data: { httpStatus: 403, foundAt: '/api/v1/api/v1/ws/tasks/{userId}' },
    });
    expect(check('upgrade').fix).toContain("--path '/api/v1/api/v1/ws/tasks/{userId}'");
    expect(check('upgrade').notes.join(' ')).toContain('403, not 404');
    expect(code).toBe(1);
  });

  it.each([
    ['/api/v1/ws/ws/tasks/{userId}', 'the server applies a router prefix twice (/api/v1/ws/ws/…)'],
    [
      '/api/api/v1/ws/tasks/{userId}',
      'the server applies a router prefix twice (/api/api/v1/ws/…)',
    ],
    ['/api/v1/tasks/{userId}', 'the server mounts the socket at /api/v1/tasks/{userId}'],
  ])('a route at %s, which nested routers make, found and named', async (route, fix) => {
    const server = await start({ path: route, unmatchedUpgradeStatus: 403 });
    const { code, check } = await doctor(server.url);
    expect(check('upgrade')).toMatchObject({
      verdict: 'fail',
      cause: 'route-not-found',
      data: { httpStatus: 403, foundAt: route },
    });
    expect(check('upgrade').fix).toContain(fix);
    expect(check('upgrade').fix).toContain(`--path '${route}'`);
    expect(code).toBe(1);
  });

  it('a 403 that no other route explains, as a token check before the accept or a wrong route', async () => {
    const server = await start({ path: '/elsewhere/{userId}', unmatchedUpgradeStatus: 403 });
    const { check } = await doctor(server.url);
    expect(check('upgrade')).toMatchObject({
      verdict: 'fail',
      cause: 'upgrade-auth-rejected',
      data: { httpStatus: 403, foundAt: null },
    });
    expect(check('upgrade').summary).toContain('checks the token before accepting the socket');
    expect(check('upgrade').summary).toContain('no WebSocket route at /api/v1/ws/tasks/2');
  });

  it('a route the server does not have anywhere it knows to look', async () => {
    const server = await start({ path: '/elsewhere/{userId}' });
    const { check } = await doctor(server.url);
    expect(check('upgrade')).toMatchObject({
      verdict: 'fail',
      cause: 'route-not-found',
      data: { httpStatus: 404, foundAt: null },
    });
  });

  /** A server whose every upgrade is answered with `response`, written raw on the socket. */
  async function answering(status: string, body = '', headers = 'content-type: text/plain') {
    const server = await startWsServer();
    scripted.push(server);
    const response = `HTTP/1.1 ${status}\r\n${headers}\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
    server.onUpgrade = (_request, socket) => socket.end(response);
    return server;
  }

  it("a 404 with FastAPI's body, as a proxy that does not forward the upgrade gets", async () => {
    // nginx without the Upgrade headers passes a plain GET on, which FastAPI answers with 404:
    // to a real upgrade on a path it has no route for, it answers 403.
    const body = '{"detail":"Not Found"}';
    const server = await answering(
      '404 Not Found',
      body,
      'server: nginx\r\ncontent-type: application/json',
    );
    const { code, check } = await doctor(server.baseUrl);
    expect(check('upgrade')).toMatchObject({
      verdict: 'fail',
      cause: 'upgrade-not-forwarded',
      data: { httpStatus: 404, foundAt: null },
    });
    expect(check('upgrade').fix).toContain('proxy_set_header Upgrade $http_upgrade');
    expect(check('upgrade').fix).toContain('ws: true');
    expect(code).toBe(1);
  });

  it('masks a token that a refused upgrade echoes across the point where the body is cut', async () => {
    // The body is shown cut to 200 characters: here the cut falls 10 characters into the token.
    const body = `{"detail":"${'x'.repeat(178)}${TOKEN} is not valid"}`;
    const server = await answering('400 Bad Request', body, 'content-type: application/json');
    const args = [
      'doctor',
      '--base-url',
      server.baseUrl,
      '--user',
      '2',
      '--token',
      TOKEN,
      '--timeout',
      '800',
    ];
    const outputs = await Promise.all([runCli(args), runCli([...args, '--json'])]);
    for (const { stdout: output } of outputs) {
      expect(output).toContain('HTTP 400');
      expect(output).not.toContain(TOKEN.slice(0, 6));
    }
  });

  it.each([
    ['Unsupported upgrade request.'],
    [
      "No supported WebSocket library detected. Please use 'pip install uvicorn[standard]', or install 'websockets' or 'wsproto' manually.",
    ],
  ])('a 400 %j, as uvicorn without a WebSocket library answers', async (body) => {
    const server = await answering('400 Bad Request', body);
    const { check } = await doctor(server.baseUrl);
    expect(check('upgrade')).toMatchObject({
      verdict: 'fail',
      cause: 'upgrade-rejected',
      data: { httpStatus: 400 },
    });
    expect(check('upgrade').fix).toContain('uvicorn[standard]');
  });

  it('passes once --path names the route the server really uses', async () => {
    const server = await start({ path: '/api/v1/api/v1/ws/tasks/{userId}' });
    const { code, check } = await doctor(
      server.url,
      TOKEN,
      '--path',
      '/api/v1/api/v1/ws/tasks/{userId}',
    );
    expect(check('upgrade').verdict).toBe('pass');
    expect(check('url')).toMatchObject({ verdict: 'warn', cause: 'doubled-prefix' });
    expect(code).toBe(0);
  });

  it('a --path naming an old route on a server that serves the canonical one', async () => {
    const server = await start({ unmatchedUpgradeStatus: 403 });
    const { code, check } = await doctor(
      server.url,
      TOKEN,
      '--path',
      '/api/v1/api/v1/ws/tasks/{user_id}',
    );
    expect(check('upgrade')).toMatchObject({
      verdict: 'fail',
      cause: 'route-not-found',
      data: { httpStatus: 403, foundAt: '/api/v1/ws/tasks/{userId}' },
    });
    expect(check('upgrade').summary).toContain('answers 101 at /api/v1/ws/tasks/2');
    expect(check('upgrade').fix).toContain('leave --path out');
    expect(code).toBe(1);
  });

  it('names where the socket was found with the mount sub-path of the base URL', async () => {
    const server = await start({
      path: '/svc/api/v1/ws/tasks/{userId}',
      unmatchedUpgradeStatus: 403,
    });
    const { check } = await doctor(`${server.url}/svc`, TOKEN, '--path', '/tasks/{userId}');
    expect(check('upgrade')).toMatchObject({
      cause: 'route-not-found',
      data: { foundAt: '/api/v1/ws/tasks/{userId}' },
    });
    expect(check('upgrade').summary).toContain(
      'no WebSocket route at /svc/tasks/2, but the server answers 101 at /svc/api/v1/ws/tasks/2',
    );
  });

  it.each([
    // FastAPI redirects to the trailing-slash form of a route declared as "/health/".
    ['/health/', 'trailing slash'],
    // A proxy that sends plain HTTP to HTTPS.
    ['https://tasks.example.com/health', 'https://'],
  ])(
    'a /health that redirects to %s, as such and not as a missing endpoint',
    async (location, fix) => {
      const server = await startWsServer((ws) => ws.close(1008));
      scripted.push(server);
      server.onRequest = (_request, response) => response.writeHead(307, { location }).end();
      const { check } = await doctor(server.baseUrl);
      expect(check('health')).toMatchObject({
        verdict: 'warn',
        cause: 'health-status',
        data: { httpStatus: 307, location },
      });
      expect(check('health').summary).toContain(`redirects to ${location}`);
      expect(check('health').fix).toContain(fix);
      expect(check('health').fix).not.toContain('no /health endpoint');
    },
  );

  it('a /health that needs authentication, as such and not as a missing endpoint', async () => {
    // The socket is refused at once: only the health step matters here.
    const server = await startWsServer((ws) => ws.close(1008));
    scripted.push(server);
    server.onRequest = (_request, response) =>
      response.writeHead(403, { 'content-type': 'application/json' }).end('{"detail":"Forbidden"}');
    const { check } = await doctor(server.baseUrl);
    expect(check('health')).toMatchObject({
      verdict: 'warn',
      cause: 'health-status',
      data: { httpStatus: 403 },
    });
    expect(check('health').summary).toContain('needs authentication');
    expect(check('health').fix).toContain('needs authentication');
    expect(check('health').fix).not.toContain('no /health endpoint');
  });

  it("a /health answered with a web page, as a frontend's dev server and not as a healthy backend", async () => {
    // A dev server (Vite, webpack) answers every path it does not proxy with its index.html.
    const server = await startWsServer((ws) => ws.close(1008));
    scripted.push(server);
    server.onRequest = (_request, response) =>
      response
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end('<!doctype html>\n<html lang="en"><head><title>App</title></head></html>');
    const { check } = await doctor(server.baseUrl);
    expect(check('health')).toMatchObject({
      verdict: 'warn',
      cause: 'health-web-page',
      data: { httpStatus: 200, contentType: 'text/html; charset=utf-8' },
    });
    expect(check('health').summary).toContain('a web page');
    expect(check('health').fix).toContain('ws: true');
  });

  it('a dev server that leaves the upgrade unanswered, as its proxy without ws: true', async () => {
    // Vite without `ws: true`: index.html for /health, and an upgrade nobody answers.
    const sockets = new Set<Duplex>();
    const server = createServer((_request, response) =>
      response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><html></html>'),
    );
    server.on('upgrade', (_request, socket: Duplex) => sockets.add(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const { code, check } = await doctor(`http://127.0.0.1:${port}`);
      expect(check('health')).toMatchObject({ verdict: 'warn', cause: 'health-web-page' });
      expect(check('upgrade')).toMatchObject({ verdict: 'fail', cause: 'handshake-timeout' });
      expect(check('upgrade').fix).toMatch(/^a frontend's dev server answers here .*ws: true/);
      expect(code).toBe(1);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('a connection dropped during the upgrade, naming what a dev proxy prints when its backend is down', async () => {
    // Vite's proxy, with ws: true, hangs up on the upgrade when its target refuses the connection.
    const server = await startWsServer();
    scripted.push(server);
    server.onUpgrade = (_request, socket) => socket.destroy();
    const { check } = await doctor(server.baseUrl);
    expect(check('upgrade')).toMatchObject({
      verdict: 'fail',
      cause: 'upgrade-error',
      data: { code: 'ECONNRESET' },
    });
    expect(check('upgrade').fix).toContain('connect ECONNREFUSED');
    // A proxy without ws: true leaves the upgrade unanswered (handshake-timeout); it does not reset.
    expect(check('upgrade').fix).not.toContain('ws: true');
  });

  it('a server that drops every connection at once, with a report all the same', async () => {
    // undici's fetch of /health can hang on such a reset, often but not always, with nothing
    // left to keep Node alive: the command then ended with exit code 13 and printed nothing.
    // Three runs at once, so that one of them meets it.
    const server = createTcpServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const runs = await Promise.all([1, 2, 3].map(() => doctor(`http://127.0.0.1:${port}`)));
      for (const { code, check } of runs) {
        expect(check('health')).toMatchObject({ verdict: 'fail', cause: 'health-unreachable' });
        expect(check('upgrade')).toMatchObject({ verdict: 'fail', cause: 'upgrade-error' });
        expect(code).toBe(1);
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('a server that is down', async () => {
    const server = await start();
    await server.close();
    const { code, check } = await doctor(server.url);
    expect(check('dns').verdict).toBe('pass');
    expect(check('tcp')).toMatchObject({ verdict: 'fail', cause: 'connection-refused' });
    expect(check('url').verdict).toBe('pass');
    expect(
      ['tls', 'health', 'upgrade', 'auth', 'heartbeat', 'reconnect'].map((id) => check(id).summary),
    ).toEqual(Array(6).fill('skipped: the server is unreachable'));
    expect(code).toBe(1);
  });

  it('a base URL that cannot be used, as a bad argument (exit 2, as for watch)', async () => {
    const { code, check } = await doctor('ftp://example.invalid');
    expect(check('url')).toMatchObject({ verdict: 'fail', cause: 'invalid-url' });
    expect(check('dns').verdict).toBe('skip');
    expect(check('tls').summary).toBe('skipped: the base URL is unusable (see url)');
    expect(code).toBe(2);
    const watch = await runCli([
      'watch',
      '--base-url',
      'ftp://example.invalid',
      '--user',
      '2',
      '--token',
      TOKEN,
    ]);
    expect(watch.code).toBe(2);
  });
});

describe('task-status doctor arguments', () => {
  it('exits 2 without a token', async () => {
    const result = await runCli(['doctor', '--base-url', 'http://127.0.0.1:9', '--user', '2']);
    expect(result.stderr).toContain('--token');
    expect(result.code).toBe(2);
  });

  it('exits 2 on a --timeout longer than its timers can wait, naming the limit', async () => {
    const server = await start();
    for (const timeout of ['1073741824', '2147483648']) {
      const result = await runCli(userArgs('doctor', server.url, TOKEN, '--timeout', timeout));
      expect(result.stderr).toContain('--timeout');
      expect(result.stderr).toContain('at most 1073741823 ms');
      expect(result.stderr).not.toContain('TimeoutOverflowWarning');
      expect(result.stdout).toBe('');
      expect(result.code).toBe(2);
    }
  });

  it('accepts the longest --timeout and passes against a healthy server', async () => {
    const server = await start();
    const { code, report } = await doctor(server.url, TOKEN, '--timeout', '1073741823');
    expect(report.ok).toBe(true);
    expect(code).toBe(0);
  });

  /** `doctor` against a closed port with `--token-env <name>`, `name` unset in its environment. */
  function doctorWithTokenEnv(name: string) {
    const args = ['doctor', '--base-url', 'http://127.0.0.1:9', '--user', '2', '--token-env', name];
    return runCli(args, { [name]: undefined });
  }

  it('exits 2 when the --token-env variable is unset', async () => {
    const result = await doctorWithTokenEnv('NOT_SET_ANYWHERE');
    expect(result.stderr).toContain('NOT_SET_ANYWHERE');
    expect(result.code).toBe(2);
  });

  it('does not echo a token passed to --token-env by mistake (--token-env "$TOKEN")', async () => {
    const token = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIyIn0.c2lnbmF0dXJl';
    const result = await doctorWithTokenEnv(token);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('the name of an environment variable');
    expect(result.stdout + result.stderr).not.toContain(token.slice(0, 12));
  });
});

describe('task-status doctor --heartbeat-message', () => {
  /**
   * A server that acks, then answers a plain-text `ping` with `pong` (or, with `textPings:
   * false`, no ping at all) and ignores JSON pings; with `updates`, it sends one every 50 ms.
   */
  async function textPingServer({ updates = false, textPings = true } = {}): Promise<TestServer> {
    const server = await startWsServer((ws) => {
      ws.send('{"type":"connected","user_id":2}');
      ws.on('message', (data) => {
        if (textPings && String(data) === 'ping') ws.send('pong');
      });
      if (!updates) return;
      const timer = setInterval(
        () => ws.send('{"type":"task_update","task_id":1,"status":"running"}'),
        50,
      );
      ws.on('close', () => clearInterval(timer));
    });
    scripted.push(server);
    return server;
  }

  it('fails the heartbeat step of a server that answers only a plain-text ping, naming the flag', async () => {
    const server = await textPingServer();
    const { code, check } = await doctor(server.baseUrl);
    const heartbeat = check('heartbeat');
    expect(heartbeat).toMatchObject({
      verdict: 'fail',
      cause: 'text-ping-only',
      data: { textPing: true },
    });
    expect(heartbeat.summary).toContain('a plain-text ping on a second socket got a pong');
    expect(heartbeat.fix).toContain('--heartbeat-message ping');
    expect(code).toBe(1);
  });

  it('warns of such a server that sends updates, which keep its idle clients alive until they stop', async () => {
    const server = await textPingServer({ updates: true });
    const { code, check } = await doctor(server.baseUrl);
    expect(check('heartbeat')).toMatchObject({ verdict: 'warn', cause: 'text-ping-only' });
    expect(code).toBe(0);
  });

  it('warns of a server that sends updates and answers no ping at all', async () => {
    const server = await textPingServer({ updates: true, textPings: false });
    const { code, check } = await doctor(server.baseUrl);
    expect(check('heartbeat')).toMatchObject({ verdict: 'warn', cause: 'no-pong' });
    expect(code).toBe(0);
  });

  it('passes the heartbeat step with --heartbeat-message ping against that server', async () => {
    const server = await textPingServer();
    const { code, check } = await doctor(server.baseUrl, TOKEN, '--heartbeat-message', 'ping');
    expect(check('heartbeat')).toMatchObject({ verdict: 'pass' });
    expect(check('heartbeat').data).toMatchObject({ rttMs: expect.any(Number) });
    expect(code).toBe(0);
  });
});
