import { afterEach, describe, expect, it, vi } from 'vitest';
import { reconnectCaps, watchClientOptions } from '../../src/cli/watch/watch.js';
import { type ReconnectOptions, TaskStatusClient, type TaskStatusError } from '../../src/index.js';
import { startWsServer, type TestServer } from '../helpers/ws-server.js';
import { ndjson, runCli, watchOptions } from './helpers.js';

const servers: TestServer[] = [];
const clients: TaskStatusClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** A server that drops every upgrade: each connection attempt fails, and is counted. */
async function droppingServer(): Promise<TestServer> {
  const server = await startWsServer();
  server.onUpgrade = (_request, socket) => socket.destroy();
  servers.push(server);
  return server;
}

/** A base URL where nothing listens. */
async function closedPort(): Promise<string> {
  const server = await startWsServer();
  await server.close();
  return server.baseUrl;
}

describe('task-status watch --max-attempts', () => {
  it('with --max-attempts 2 makes exactly two attempts, the first one counted, then exits 3', async () => {
    const server = await droppingServer();
    const result = await runCli([
      'watch',
      '--base-url',
      server.baseUrl,
      '--user',
      '2',
      '--token',
      'watch-token-of-user-2',
      '--max-attempts',
      '2',
    ]);
    expect(server.requests).toHaveLength(2);
    expect(result.code).toBe(3);
    expect(ndjson(result.stdout).at(-1)).toMatchObject({
      event: 'exit',
      reason: 'connection-failed',
      error: { code: 'RECONNECT_EXHAUSTED' },
    });
  });

  it('passes n - 1 retries to both of the client caps, and Infinity without the option', () => {
    expect(reconnectCaps(1)).toEqual({ maxAttempts: 0, maxInitialAttempts: 0 });
    expect(reconnectCaps(5)).toEqual({ maxAttempts: 4, maxInitialAttempts: 4 });
    expect(reconnectCaps(Number.POSITIVE_INFINITY)).toEqual({
      maxAttempts: Number.POSITIVE_INFINITY,
      maxInitialAttempts: Number.POSITIVE_INFINITY,
    });
  });

  it('by default keeps retrying a closed port past the client’s initial cap', async () => {
    const built = watchClientOptions(watchOptions(await closedPort()));
    // Only the backoff is shortened, so the test need not wait out real seconds.
    const reconnect = {
      ...(built.reconnect as ReconnectOptions),
      initialDelayMs: 1,
      maxDelayMs: 1,
    };
    const client = new TaskStatusClient({ ...built, reconnect });
    clients.push(client);
    const attempts: number[] = [];
    const errors: TaskStatusError[] = [];
    client.on('reconnecting', (info) => attempts.push(info.attempt));
    client.on('error', (error) => errors.push(error));
    client.connect().catch(() => {});
    // Ten reconnects, or the client gave up: whichever comes first.
    await vi.waitFor(() => expect(attempts.length >= 10 || client.state === 'closed').toBe(true), {
      timeout: 10_000,
    });
    expect(errors.map((error) => error.code)).not.toContain('RECONNECT_EXHAUSTED');
    expect(attempts.length).toBeGreaterThanOrEqual(10);
    expect(client.state).toBe('reconnecting');
  });
});
