/**
 * The client over TLS (`wss:`), as production runs it, with certificates made for the test by a
 * CA of its own: from Node with `ws`, trusting that CA through a `WebSocket` class or
 * `NODE_EXTRA_CA_CERTS`, and refusing each kind of bad certificate by name before the token
 * leaves; against FastAPI on uvicorn serving TLS itself; and from Chromium, on a page of an
 * https origin and against a certificate it does not trust.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  isTaskStatusError,
  TaskStatusClient,
  type TaskStatusClientOptions,
  type TaskUpdate,
} from '../../src/index.js';
import { startTaskStatusServer, type TaskStatusServer } from '../../src/testing/index.js';
import { killLeftovers, ndjson, startCli } from '../cli/helpers.js';
import {
  createTestCertificates,
  type TestCertificates,
  webSocketTrusting,
} from '../helpers/tls.js';
import { killBackends, startBackend } from './fastapi/backend.js';
import { connectInPage, setupChromium, startExampleApp, waitForText } from './harness.js';

const TOKEN = 'tls-token-of-user-2';

const chromium = setupChromium();
let certificates: TestCertificates;
const servers: TaskStatusServer[] = [];
const clients: TaskStatusClient[] = [];

beforeAll(async () => {
  certificates = await createTestCertificates();
});
afterAll(() => certificates.remove());
afterEach(async () => {
  killLeftovers();
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await killBackends();
});

type CertificateName =
  | 'trusted'
  | 'expiringSoon'
  | 'expired'
  | 'otherHost'
  | 'selfSigned'
  | 'leafOnly'
  | 'fullChain';

/** A task server for user 2 (or for `tokens`) over TLS with one of the test certificates. */
async function startServer(
  name: CertificateName,
  tokens: Record<string, number> = { [TOKEN]: 2 },
): Promise<TaskStatusServer> {
  const { cert, key } = certificates[name];
  const server = await startTaskStatusServer({ tokens, tls: { cert, key } });
  servers.push(server);
  return server;
}

/** `ws`, trusting the test CA besides Node's own, as an app does for a private CA. */
const trustingTestCa = () => webSocketTrusting(certificates.ca);

function client(baseUrl: string, options: Partial<TaskStatusClientOptions> = {}) {
  const created = new TaskStatusClient({
    baseUrl,
    userId: 2,
    token: TOKEN,
    reconnect: { initialDelayMs: 5, maxDelayMs: 20, maxInitialAttempts: 2 },
    ...options,
  });
  clients.push(created);
  return created;
}

/** `text` as a regular expression that matches it literally. */
function literally(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

describe('from Node, with ws', () => {
  it('connects through a WebSocket class that trusts a private CA: updates and heartbeats', async () => {
    const server = await startServer('trusted');
    const c = client(server.url, {
      WebSocket: trustingTestCa(),
      heartbeat: { intervalMs: 50, timeoutMs: 2_000 },
    });
    const tasks: TaskUpdate[] = [];
    c.on('task', (task) => tasks.push(task));
    const beat = new Promise<number>((resolve) =>
      c.once('heartbeat', ({ rttMs }) => resolve(rttMs)),
    );
    await c.connect();
    expect(String(c)).toContain(`wss://127.0.0.1:${server.port}/api/v1/ws/tasks/2?token=***`);
    server.pushUpdate(2, { taskId: 1, status: 'running', progress: 40 });
    await vi.waitFor(() => expect(tasks).toMatchObject([{ taskId: 1, progress: 40 }]));
    expect(await beat).toBeGreaterThanOrEqual(0);
  });

  it.each([
    ['self-signed', 'selfSigned', false, 'self-signed certificate'],
    [
      'from a CA that Node does not trust',
      'trusted',
      false,
      'unable to verify the first certificate',
    ],
    [
      'sent without its intermediate CA',
      'leafOnly',
      true,
      'unable to verify the first certificate',
    ],
    [
      'sent with its intermediate CA, from a CA that Node does not trust',
      'fullChain',
      false,
      'unable to get local issuer certificate',
    ],
    ['that expired', 'expired', true, 'certificate has expired'],
    [
      'for another host',
      'otherHost',
      true,
      "Hostname/IP does not match certificate's altnames: IP: 127.0.0.1 is not in the cert's list",
    ],
  ] as const)(
    'refuses a certificate %s by its fault, before the token is sent, and gives up',
    async (_name, certificate, trustCa, fault) => {
      const server = await startServer(certificate);
      const c = client(server.url, trustCa ? { WebSocket: trustingTestCa() } : {});
      const errors: { code: string; closeCode: number | undefined; message: string }[] = [];
      c.on('error', ({ code, closeCode, message }) => errors.push({ code, closeCode, message }));
      const failure = await c.connect().then(
        () => undefined,
        (error: unknown) => error,
      );

      expect(isTaskStatusError(failure, 'RECONNECT_EXHAUSTED')).toBe(true);
      // The first socket and the two reconnects each failed on the certificate, the same way.
      expect(errors.slice(0, 3)).toEqual(
        Array.from({ length: 3 }, () => ({
          code: 'CONNECTION_ERROR',
          closeCode: 1006,
          message: expect.stringMatching(
            new RegExp(`^Could not open the WebSocket: ${literally(fault)}.* \\(close 1006\\)$`),
          ),
        })),
      );
      // No upgrade, and so no token, ever reached the server.
      expect(server.connections).toEqual([]);
      expect(JSON.stringify([errors, String(failure)])).not.toContain(TOKEN);
    },
  );

  it.each([
    ['https: for a port without TLS', 'plain', 'TLS failed: wrong version number'],
    ['http: for a port with TLS', 'tls', 'socket hang up'],
  ] as const)('reports %s in one line', async (_name, serves, fault) => {
    const { cert, key } = certificates.trusted;
    const server = await startTaskStatusServer({
      tokens: { [TOKEN]: 2 },
      ...(serves === 'tls' ? { tls: { cert, key } } : {}),
    });
    servers.push(server);
    const swapped =
      serves === 'tls'
        ? server.url.replace('https:', 'http:')
        : server.url.replace('http:', 'https:');
    const c = client(swapped, { reconnect: { maxInitialAttempts: 0 } });
    const errors: string[] = [];
    c.on('error', (error) => errors.push(error.message));
    await expect(c.connect()).rejects.toMatchObject({ code: 'RECONNECT_EXHAUSTED' });
    expect(errors[0]).toBe(`Could not open the WebSocket: ${fault} (close 1006)`);
  });

  it.each([
    ['that expires soon, as it is still valid', 'expiringSoon'],
    ['of an intermediate CA, sent with it', 'fullChain'],
  ] as const)('takes a certificate %s', async (_name, certificate) => {
    const server = await startServer(certificate);
    await client(server.url, { WebSocket: trustingTestCa() }).connect();
    expect(server.clients).toMatchObject([{ state: 'open' }]);
  });

  it('trusts a private CA named by NODE_EXTRA_CA_CERTS: task-status watch to the end', async () => {
    const server = await startServer('trusted');
    const args = ['watch', '--base-url', server.url, '--user', '2', '--token-env', 'TS_TOKEN'];
    const watched = [...args, '--json', '--exit-on-done', '--task', '1'];
    const untrusted = startCli([...args, '--json', '--max-attempts', '1'], { TS_TOKEN: TOKEN });
    const trusting = startCli(watched, {
      TS_TOKEN: TOKEN,
      NODE_EXTRA_CA_CERTS: certificates.caPath,
    });
    await vi.waitFor(() => expect(server.clients).toMatchObject([{ state: 'open' }]), {
      timeout: 10_000,
    });
    server.completeTask(2, 1);

    const done = await trusting.exited;
    expect(done.code).toBe(0);
    expect(ndjson(done.stdout)).toContainEqual(
      expect.objectContaining({ event: 'task', taskId: 1, status: 'completed' }),
    );
    const refused = await untrusted.exited;
    expect(refused.code).toBe(3);
    expect(ndjson(refused.stdout).at(-1)).toMatchObject({
      event: 'exit',
      reason: 'connection-failed',
      error: { code: 'RECONNECT_EXHAUSTED' },
    });
    expect(refused.stdout).toContain('unable to verify the first certificate');
    expect(done.stdout + done.stderr + refused.stdout + refused.stderr).not.toContain(TOKEN);
  });
});

describe('a FastAPI backend on uvicorn serving TLS', () => {
  /** Refusing a bad token as by default: an error frame, then close 1000. */
  function startTlsBackend() {
    const { certPath, keyPath } = certificates.trusted;
    return startBackend({ tls: { certPath, keyPath } });
  }

  it('streams task updates and answers heartbeats for a good JWT', async () => {
    const backend = await startTlsBackend();
    expect(backend.baseUrl).toMatch(/^https:/);
    const c = client(backend.baseUrl, {
      token: backend.tokens.good,
      WebSocket: trustingTestCa(),
      heartbeat: { intervalMs: 50, timeoutMs: 2_000 },
    });
    const beat = new Promise<number>((resolve) =>
      c.once('heartbeat', ({ rttMs }) => resolve(rttMs)),
    );
    await c.connect();
    const updates: TaskUpdate[] = [];
    for await (const update of c.updates()) {
      updates.push(update);
      if (updates.length === 3) break;
    }
    expect(updates).toHaveLength(3);
    for (const update of updates) {
      expect(update.status).toMatch(/^(running|completed)$/);
    }
    expect(await beat).toBeGreaterThanOrEqual(0);
    expect(c.state).toBe('open');
  });

  it('reads its refusal of an expired JWT, an error frame then close 1000, as AUTH_FAILED', async () => {
    const backend = await startTlsBackend();
    const c = client(backend.baseUrl, {
      token: backend.tokens.expired,
      WebSocket: trustingTestCa(),
    });
    const reconnecting: unknown[] = [];
    c.on('reconnecting', (info) => reconnecting.push(info));
    const failure = await c.connect().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isTaskStatusError(failure, 'AUTH_FAILED')).toBe(true);
    expect((failure as Error).message).toBe('The server refused the token: Invalid token');
    expect(reconnecting).toEqual([]);
    expect(c.state).toBe('closed');
  });
});

describe('from Chromium', () => {
  it("derives wss: from a page on an https origin (baseUrl '') and streams updates", async () => {
    const server = await startServer('trusted');
    // Chromium trusts no test CA: this context takes the certificate as a trusted one.
    const page = await chromium.newPage({ ignoreHTTPSErrors: true });
    await page.goto(`${server.url}/app`);
    expect(new URL(page.url()).protocol).toBe('https:');
    await page.addScriptTag({ content: chromium.sdk });
    const pushing = vi.waitFor(
      () => {
        expect(server.clients).toMatchObject([{ state: 'open' }]);
        server.pushUpdate(2, { taskId: 5, status: 'completed' });
      },
      { timeout: 10_000 },
    );
    const outcome = await page.evaluate(async (token) => {
      const { TaskStatusClient } = (
        window as unknown as { TaskStatus: typeof import('../../src/index.js') }
      ).TaskStatus;
      const client = new TaskStatusClient({
        baseUrl: '',
        userId: 2,
        token,
        heartbeat: { intervalMs: 100, timeoutMs: 2_000 },
      });
      const errors: string[] = [];
      client.on('error', (error) => errors.push(error.message));
      // Made before connecting, so it sees the update however soon it comes.
      const updates = client.updates();
      const beat = new Promise<number>((resolve) =>
        client.once('heartbeat', ({ rttMs }) => resolve(rttMs)),
      );
      await client.connect();
      const first = await updates.next();
      const rttMs = await beat;
      const shown = String(client);
      await client.close();
      return { shown, first: first.value, rttMs, errors };
    }, TOKEN);
    await pushing;

    expect(outcome.shown).toContain(`wss://127.0.0.1:${server.port}/api/v1/ws/tasks/2?token=***`);
    expect(outcome.errors).toEqual([]);
    expect(outcome.first).toMatchObject({ taskId: 5, status: 'completed' });
    expect(outcome.rttMs).toBeGreaterThanOrEqual(0);
    expect(server.connections).toMatchObject([{ userId: '2' }]);
  });

  it('sees a certificate it does not trust as a bare close 1006, and sends no token', async () => {
    const server = await startServer('trusted');
    const page = await chromium.newPage();
    const outcome = await connectInPage(page, chromium.sdk, {
      baseUrl: server.url,
      token: TOKEN,
      options: { reconnect: { initialDelayMs: 10, maxDelayMs: 20, maxInitialAttempts: 2 } },
    });

    expect(outcome.rejected.code).toBe('RECONNECT_EXHAUSTED');
    expect(outcome.errors.slice(0, 3)).toEqual(
      Array.from({ length: 3 }, () => ({
        code: 'CONNECTION_ERROR',
        closeCode: 1006,
        message: expect.stringContaining('over wss:, have a certificate that is not trusted'),
      })),
    );
    expect(server.connections).toEqual([]);
    expect(JSON.stringify(outcome)).not.toContain(TOKEN);
  });
});

describe("through the React app's Vite dev proxy, to a backend serving TLS", () => {
  const app = fileURLToPath(new URL('../../examples/react-vite/', import.meta.url));
  const vite = fileURLToPath(new URL('../../node_modules/vite/bin/vite.js', import.meta.url));

  /** The app's Vite dev server as its own process, with `env`; resolves with its URL. */
  async function startVite(backend: string, env: NodeJS.ProcessEnv): Promise<string> {
    const child = spawn(process.execPath, [vite, '--host', '127.0.0.1', '--port', '0'], {
      cwd: app,
      env: { ...process.env, TASK_STATUS_BACKEND: backend, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    stopVite = () => {
      child.kill();
    };
    let url: string | undefined;
    for await (const line of createInterface({ input: child.stdout })) {
      url = /http:\/\/127\.0\.0\.1:\d+\//.exec(line)?.[0];
      if (url !== undefined) break;
    }
    // Reading on, so that what Vite prints later never fills the pipe and stalls it.
    child.stdout.resume();
    if (url === undefined) throw new Error('Vite exited before it listened');
    return url;
  }
  let stopVite = () => {};
  afterEach(() => stopVite());

  it('fails in the proxy, which names the certificate, until Vite trusts the CA', async () => {
    // The example app signs in as user 1 with this token.
    const server = await startServer('trusted', { 'demo-token': 1 });
    const refused = await startExampleApp('react-vite', server.url);
    try {
      const page = await chromium.newPage();
      await page.goto(refused.url);
      await vi.waitFor(
        () =>
          expect(refused.logs.join('\n')).toMatch(
            /ws proxy error:\s*Error: unable to verify the first certificate/,
          ),
        { timeout: 10_000 },
      );
      expect(server.connections).toEqual([]);
    } finally {
      await refused.close();
    }

    const trusting = await startVite(server.url, { NODE_EXTRA_CA_CERTS: certificates.caPath });
    const page = await chromium.newPage();
    await page.goto(trusting);
    await waitForText(page, '[data-testid=state]', 'open');
    server.pushUpdate(1, { taskId: 3, status: 'running', progress: 30 });
    await page.waitForSelector('[data-task-id="3"][data-status="running"]');
  });
});
