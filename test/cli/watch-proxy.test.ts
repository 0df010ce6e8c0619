/**
 * `task-status watch` behind a real forward proxy (tinyproxy), picked from the environment as
 * curl picks it: through the tunnel, past it for a host in `NO_PROXY`, and each refusal of the
 * proxy named as the proxy's, with what to do, and never as the server refusing the token.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { TaskStatusServer } from '../../src/testing/index.js';
import { setupTinyproxies } from '../helpers/tinyproxy.js';
import { createTestCertificates, type TestCertificates } from '../helpers/tls.js';
import {
  hasScript,
  type Line,
  ndjson,
  runCli,
  setupServers,
  startCli,
  startCliInTerminal,
  userArgs,
} from './helpers.js';

const TOKEN = 'proxy-token-of-user-2';
const PASSWORD = 'proxy-pass-9f3a';
const start = setupServers(TOKEN);

let certificates: TestCertificates;
beforeAll(async () => {
  certificates = await createTestCertificates();
});
afterAll(() => certificates.remove());

const proxy = setupTinyproxies();

/** Runs `watch --json` once (one attempt) against `baseUrl` with `env`. */
function watchOnce(baseUrl: string, env: NodeJS.ProcessEnv) {
  return runCli(userArgs('watch', baseUrl, TOKEN, '--json', '--max-attempts', '1'), env);
}

/** Starts `watch --json` for task 1 until it is done, against `server` with `env`. */
function watchTask(server: TaskStatusServer, env: NodeJS.ProcessEnv) {
  return startCli(
    userArgs('watch', server.url, TOKEN, '--json', '--exit-on-done', '--task', '1'),
    env,
  );
}

async function completeOnceOpen(server: TaskStatusServer): Promise<void> {
  await vi.waitFor(
    () => expect(server.clients.some((client) => client.state === 'open')).toBe(true),
    {
      timeout: 10_000,
    },
  );
  server.completeTask(2, 1);
}

/** The first `error` line of `watch --json`'s output. */
function firstError(stdout: string): { code: unknown; message: string } {
  const line: Line | undefined = ndjson(stdout).find((candidate) => candidate.event === 'error');
  const { code, message } = line ?? { code: undefined, message: undefined };
  return { code, message: String(message) };
}

describe('task-status watch behind a proxy', () => {
  it('goes through the proxy of HTTP_PROXY for an http:// base URL', async () => {
    const [forward, server] = await Promise.all([proxy(), start()]);
    const cli = watchTask(server, { HTTP_PROXY: forward.url });
    await completeOnceOpen(server);
    const result = await cli.exited;
    expect(result.code).toBe(0);
    expect(ndjson(result.stdout).filter((line) => line.event === 'task')).toHaveLength(1);
    expect(forward.connects()).toEqual([`127.0.0.1:${server.port}`]);
  });

  it('takes the lower-case variable and ALL_PROXY too, and HTTPS_PROXY only for https://', async () => {
    const [forward, server] = await Promise.all([proxy(), start()]);
    const lower = watchTask(server, { http_proxy: forward.url });
    await completeOnceOpen(server);
    expect((await lower.exited).code).toBe(0);
    expect(forward.connects()).toHaveLength(1);

    const all = watchTask(server, { ALL_PROXY: forward.url });
    await completeOnceOpen(server);
    expect((await all.exited).code).toBe(0);
    expect(forward.connects()).toHaveLength(2);

    const httpsOnly = watchTask(server, { HTTPS_PROXY: forward.url });
    await completeOnceOpen(server);
    expect((await httpsOnly.exited).code).toBe(0);
    expect(forward.connects()).toHaveLength(2);
  });

  it.runIf(hasScript)('names the proxy, without its password, in the live view', async () => {
    const [forward, server] = await Promise.all([proxy(), start()]);
    const withCredentials = forward.url.replace('//', `//alice:${PASSWORD}@`);
    const cli = startCliInTerminal(
      userArgs('watch', server.url, TOKEN, '--exit-on-done', '--task', '1'),
      { HTTP_PROXY: withCredentials },
      'cols 200 rows 30',
    );
    await completeOnceOpen(server);
    const result = await cli.exited;
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`/api/v1/ws/tasks/2?token=*** via ${forward.url}`);
    expect(result.stdout).not.toContain(PASSWORD);
  });

  it('goes through the proxy of HTTPS_PROXY for https://, with TLS to the server inside the tunnel', async () => {
    const { cert, key } = certificates.trusted;
    const [forward, server] = await Promise.all([proxy(), start({ tls: { cert, key } })]);
    expect(server.url).toMatch(/^https:/);
    const cli = watchTask(server, {
      HTTPS_PROXY: forward.url,
      NODE_EXTRA_CA_CERTS: certificates.caPath,
    });
    await completeOnceOpen(server);
    expect((await cli.exited).code).toBe(0);
    expect(forward.connects()).toEqual([`127.0.0.1:${server.port}`]);
  });

  it('connects directly to a host listed in NO_PROXY', async () => {
    const [forward, server] = await Promise.all([proxy(), start()]);
    const cli = watchTask(server, { HTTP_PROXY: forward.url, NO_PROXY: 'example.com,127.0.0.1' });
    await completeOnceOpen(server);
    expect((await cli.exited).code).toBe(0);
    expect(forward.connects()).toEqual([]);
  });

  it('names a proxy that refuses the port, with the fix, and not as a refused token', async () => {
    const [forward, server] = await Promise.all([proxy({ connectPorts: [443] }), start()]);
    const result = await watchOnce(server.url, { HTTP_PROXY: forward.url });
    expect(result.code).toBe(3);
    const lines = ndjson(result.stdout);
    expect(lines.some((line) => line.event === 'authError')).toBe(false);
    const first = firstError(result.stdout);
    expect(first.code).toBe('CONNECTION_ERROR');
    expect(first.message).toContain(
      `proxy ${forward.url} refused a tunnel to 127.0.0.1:${server.port} (403 Access violation)`,
    );
    expect(first.message).toContain('NO_PROXY');
    expect(server.clients).toEqual([]);
  });

  it('says a proxy wants credentials (407), then that it refused them, never showing them', async () => {
    const [forward, server] = await Promise.all([
      proxy({ basicAuth: { user: 'alice', password: PASSWORD } }),
      start(),
    ]);
    const without = await watchOnce(server.url, { HTTP_PROXY: forward.url });
    expect(firstError(without.stdout).message).toContain(
      '(407 Proxy Authentication Required): the proxy wants a user name and password',
    );
    const wrong = forward.url.replace('//', `//alice:not-${PASSWORD}@`);
    // With the debug output of every module on, which would print the proxy URL it was given.
    const refused = await watchOnce(server.url, { HTTP_PROXY: wrong, DEBUG: '*' });
    const error = firstError(refused.stdout);
    expect(error.message).toContain('does not accept the user name and password');
    expect(error.message).toContain(`proxy ${forward.url} refused`);
    expect(refused.stdout + refused.stderr).not.toContain(PASSWORD);

    const right = forward.url.replace('//', `//alice:${PASSWORD}@`);
    const cli = watchTask(server, { HTTP_PROXY: right, DEBUG: '*' });
    await completeOnceOpen(server);
    const result = await cli.exited;
    expect(result.code).toBe(0);
    expect(result.stdout + result.stderr).not.toContain(PASSWORD);
  });

  it('says when the proxy cannot reach the server, and when the proxy itself is down', async () => {
    const forward = await proxy();
    const closed = await start();
    await closed.close();
    const unreachable = await watchOnce(closed.url, { HTTP_PROXY: forward.url });
    expect(firstError(unreachable.stdout).message).toContain(
      `the proxy could not reach 127.0.0.1:${closed.port}`,
    );

    const server = await start();
    const down = `http://127.0.0.1:${closed.port}`;
    const result = await watchOnce(server.url, { HTTP_PROXY: down });
    expect(result.code).toBe(3);
    expect(firstError(result.stdout).message).toContain(`proxy ${down}: connect ECONNREFUSED`);
  });

  it('exits 2 on a proxy URL it cannot use, without showing its password', async () => {
    const server = await start();
    const socks = await watchOnce(server.url, {
      HTTP_PROXY: `socks5://bob:${PASSWORD}@127.0.0.1:1080`,
    });
    expect(socks.code).toBe(2);
    expect(socks.stderr).toContain('socks5://127.0.0.1:1080 is not an http:// or https:// proxy');
    const broken = await watchOnce(server.url, { HTTP_PROXY: `http://bob:${PASSWORD}@[::1` });
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('the proxy URL from the environment is not a URL');
    const badEscape = await watchOnce(server.url, {
      HTTP_PROXY: `http://bob:${PASSWORD}%zz@127.0.0.1:3128`,
    });
    expect(badEscape.code).toBe(2);
    expect(badEscape.stderr).toContain(
      'the user name or password in the proxy URL of http://127.0.0.1:3128 has a % that starts no valid escape',
    );
    for (const result of [socks, broken, badEscape]) {
      expect(result.stdout + result.stderr).not.toContain(PASSWORD);
    }
  });
});
