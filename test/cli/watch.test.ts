import { describe, expect, it, vi } from 'vitest';
import type { TaskStatusServer } from '../../src/testing/index.js';
import { leaveAfterFirstOutput, ndjson, runCli, setupServers, startCli } from './helpers.js';

const TOKEN = 'watch-token-of-user-2';
const start = setupServers(TOKEN);

function watch(server: TaskStatusServer | string, ...extra: string[]) {
  const baseUrl = typeof server === 'string' ? server : server.url;
  return startCli(
    ['watch', '--base-url', baseUrl, '--user', '2', '--token-env', 'TS_TOKEN', ...extra],
    {
      TS_TOKEN: TOKEN,
    },
  );
}

/** Waits until the server has accepted a connection of user 2. */
async function accepted(server: TaskStatusServer): Promise<void> {
  await vi.waitFor(
    () => expect(server.clients.some((client) => client.state === 'open')).toBe(true),
    {
      timeout: 10_000,
    },
  );
}

describe('task-status watch --json', () => {
  it('prints one NDJSON object per event and exits 0 when the watched tasks complete', async () => {
    const server = await start();
    const cli = watch(server, '--json', '--exit-on-done', '--task', '1', '--task', '2');
    await accepted(server);
    server.pushUpdate(2, { taskId: 1, status: 'running', progress: 50, message: 'Half way' });
    server.pushUpdate(2, { taskId: 3, status: 'running', progress: 10 });
    server.pushUpdate(2, { taskId: 2, status: 'running', progress: 20 });
    server.completeTask(2, 1, { rows: 10 });
    server.completeTask(2, 2);
    const result = await cli.exited;
    expect(result.code).toBe(0);
    expect(result.stdout + result.stderr).not.toContain(TOKEN);
    const lines = ndjson(result.stdout);
    for (const line of lines) {
      expect(line).toEqual(
        expect.objectContaining({ event: expect.any(String), time: expect.any(String) }),
      );
    }
    expect(lines.filter((line) => line.event === 'state').map((line) => line.state)).toEqual([
      'connecting',
      'open',
      'closed',
    ]);
    expect(lines.find((line) => line.event === 'open')).toMatchObject({
      url: `ws://127.0.0.1:${server.port}/api/v1/ws/tasks/2?token=***`,
      reconnected: false,
    });
    const tasks = lines.filter((line) => line.event === 'task');
    // Task 3 is not watched.
    expect(tasks.map((line) => [line.taskId, line.status, line.progress])).toEqual([
      [1, 'running', 50],
      [2, 'running', 20],
      [1, 'completed', 100],
      [2, 'completed', 100],
    ]);
    expect(tasks[0]).toMatchObject({ message: 'Half way', result: null, error: null });
    expect(tasks[0]).not.toHaveProperty('raw');
    expect(tasks[2]).toMatchObject({ result: { rows: 10 } });
    expect(lines.at(-1)).toMatchObject({
      event: 'exit',
      exitCode: 0,
      reason: 'tasks-done',
      tasks: [
        { taskId: 1, status: 'completed' },
        { taskId: 2, status: 'completed' },
      ],
    });
  });

  it('exits 1 when a watched task ends other than completed', async () => {
    const server = await start();
    const cli = watch(server, '--json', '--exit-on-done', '--task', '7', '8');
    await accepted(server);
    server.completeTask(2, 7);
    server.failTask(2, 8, { code: 'boom' });
    const result = await cli.exited;
    expect(result.code).toBe(1);
    expect(ndjson(result.stdout).at(-1)).toMatchObject({
      event: 'exit',
      exitCode: 1,
      tasks: [
        { taskId: 7, status: 'completed' },
        { taskId: 8, status: 'failed' },
      ],
    });
  });

  it('keeps a --task id with leading zeros as typed, so task "007" is followed', async () => {
    const server = await start();
    const cli = watch(server, '--json', '--exit-on-done', '--task', '007');
    await accepted(server);
    server.pushUpdate(2, { taskId: 7, status: 'failed' });
    server.pushUpdate(2, { taskId: '007', status: 'running', progress: 50 });
    server.completeTask(2, '007');
    const result = await cli.exited;
    expect(result.code).toBe(0);
    expect(ndjson(result.stdout).at(-1)).toMatchObject({
      event: 'exit',
      tasks: [{ taskId: '007', status: 'completed' }],
    });
  });

  it('connects to the route of --user 007 as typed, not of user 7', async () => {
    const server = await start({ tokens: { [TOKEN]: '007' } });
    const cli = startCli(
      ['watch', '--base-url', server.url, '--user', '007', '--token-env', 'TS_TOKEN', '--json'],
      { TS_TOKEN: TOKEN },
    );
    await vi.waitFor(() => expect(server.connections[0]).toBeDefined(), { timeout: 10_000 });
    expect(server.connections[0]?.url).toMatch(/^\/api\/v1\/ws\/tasks\/007\?/);
    await vi.waitFor(() => expect(server.connections[0]?.state).toBe('open'));
    cli.child.kill('SIGINT');
    expect((await cli.exited).code).toBe(130);
  });

  it('without --task, exits once every task seen so far is terminal', async () => {
    const server = await start({
      simulate: { userId: 2, tasks: 3, failures: 0, minStepMs: 10, maxStepMs: 30 },
    });
    const result = await watch(server, '--json', '--exit-on-done').exited;
    expect(result.code).toBe(0);
    const exit = ndjson(result.stdout).at(-1);
    expect(exit).toMatchObject({ event: 'exit', exitCode: 0, reason: 'tasks-done' });
    expect(exit?.tasks).toHaveLength(3);
  });

  it('reports the reconnect and its delay when the server restarts', async () => {
    const server = await start();
    const cli = watch(server, '--json', '--exit-on-done', '--task', '1');
    await accepted(server);
    await server.restart({ downtimeMs: 200 });
    await vi.waitFor(
      () =>
        expect(ndjson(cli.stdout()).some((line) => line.event === 'open' && line.reconnected)).toBe(
          true,
        ),
      { timeout: 10_000 },
    );
    server.completeTask(2, 1);
    const lines = ndjson((await cli.exited).stdout);
    expect(lines.find((line) => line.event === 'close')).toMatchObject({
      code: 1012,
      willReconnect: true,
    });
    const reconnecting = lines.find((line) => line.event === 'reconnecting');
    expect(reconnecting).toMatchObject({ attempt: 1, reason: { code: 'CONNECTION_LOST' } });
    // Whole milliseconds: the jittered delay is a float.
    expect(Number.isInteger(reconnecting?.delayMs)).toBe(true);
  });

  it('exits 3 when the token is refused, saying what the server said', async () => {
    const server = await start({ tokens: { 'some-other-token': 2 } });
    const result = await watch(server, '--json').exited;
    expect(result.code).toBe(3);
    expect(result.stdout).not.toContain(TOKEN);
    const lines = ndjson(result.stdout);
    expect(lines.find((line) => line.event === 'authError')).toMatchObject({
      code: 'auth_failed',
      closeCode: 1008,
      willRetry: false,
    });
    expect(lines.at(-1)).toMatchObject({
      event: 'exit',
      exitCode: 3,
      reason: 'connection-failed',
      error: { code: 'AUTH_FAILED', serverCode: 'auth_failed' },
    });
  });

  it('reports an upgrade refused with 403 with every authError field, closeCode null', async () => {
    const server = await start({ path: '/elsewhere/{userId}', unmatchedUpgradeStatus: 403 });
    const result = await watch(server, '--json').exited;
    expect(result.code).toBe(3);
    const authError = ndjson(result.stdout).find((line) => line.event === 'authError');
    expect(authError).toEqual({
      event: 'authError',
      time: expect.any(String),
      code: null,
      message: null,
      closeCode: null,
      httpStatus: 403,
      willRetry: false,
    });
  });

  it('exits 3 after --max-attempts failures in a row when the server is down', async () => {
    const server = await start();
    await server.close();
    const result = await watch(server, '--json', '--max-attempts', '1').exited;
    expect(result.code).toBe(3);
    expect(ndjson(result.stdout).at(-1)).toMatchObject({
      event: 'exit',
      reason: 'connection-failed',
      error: { code: 'RECONNECT_EXHAUSTED' },
    });
  });

  it('closes the client on Ctrl-C (SIGINT) and exits 130', async () => {
    const server = await start();
    const cli = watch(server, '--json');
    await accepted(server);
    cli.child.kill('SIGINT');
    const result = await cli.exited;
    expect(result.code).toBe(130);
    expect(ndjson(result.stdout).at(-1)).toMatchObject({
      event: 'exit',
      exitCode: 130,
      reason: 'interrupted',
    });
    await vi.waitFor(() =>
      expect(server.connections[0]).toMatchObject({
        closeCode: 1000,
        closeReason: 'client closed',
      }),
    );
  });

  it('closes the client and exits 0 when the reader of its output goes away (EPIPE)', async () => {
    const server = await start();
    const cli = watch(server, '--json');
    await leaveAfterFirstOutput(cli);
    // The next line fails: the `open` line if it is still to come, else this update's.
    await vi.waitFor(() => expect(server.connections[0]?.state).toMatch(/^(open|closed)$/), {
      timeout: 10_000,
    });
    server.pushUpdate(2, { taskId: 1, status: 'running', progress: 10 });
    const result = await cli.exited;
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    await vi.waitFor(() =>
      expect(server.connections[0]).toMatchObject({
        closeCode: 1000,
        closeReason: 'client closed',
      }),
    );
  });

  it('exits 2 on a mistyped option without repeating the value given to it', async () => {
    // `--tokn=<token>`: the value of an option it does not know may well be the token.
    const secret = 'eyJhbGciOiJIUzI1NiJ9.mistyped-token';
    const connection = ['--base-url', 'http://127.0.0.1:9', '--user', '2'];
    const result = await runCli(['watch', ...connection, `--tokn=${secret}`]);
    expect(result.stderr).toContain("error: unknown option '--tokn=***'");
    expect(result.stderr + result.stdout).not.toContain('mistyped-token');
    expect(result.code).toBe(2);
  });

  it('exits 2 on a JWT given to the wrong option without repeating it', async () => {
    // `--user <token>` or `--max-attempts=<token>`: arguments in the wrong order or place.
    const secret = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIyIn0.misplaced-token';
    const connection = ['--base-url', 'http://127.0.0.1:9', '--user', '2', '--token', 'x'];
    const result = await runCli(['watch', ...connection, `--max-attempts=${secret}`]);
    expect(result.stderr).toContain("option '--max-attempts <n>' argument '***' is invalid");
    expect(result.stderr).toContain('expected an integer >= 1');
    expect(result.stderr + result.stdout).not.toContain('misplaced-token');
    expect(result.code).toBe(2);
  });

  it.each(['watch', 'doctor'])(
    '%s exits 2 on a JWT given as --user, without showing it',
    async (command) => {
      // `--user "$TOKEN" --token 2`: swapped, the token would land in the URL and the header.
      const secret = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIyIn0.swapped-token';
      const args = ['--base-url', 'http://127.0.0.1:9', '--user', secret, '--token', '2'];
      const result = await runCli([command, ...args]);
      expect(result.stderr).toContain("option '--user <id>' argument '***' is invalid");
      expect(result.stderr).toContain('expected a user id, not a token');
      expect(result.stderr + result.stdout).not.toContain('swapped-token');
      expect(result.code).toBe(2);
    },
  );

  it('exits 2 on an empty --task id, which no update has', async () => {
    const connection = ['--base-url', 'http://127.0.0.1:9', '--user', '2', '--token', 'x'];
    const result = await runCli(['watch', ...connection, '--task', '1', '', '--exit-on-done']);
    expect(result.stderr).toContain("option '--task <id...>' argument '' is invalid");
    expect(result.stderr).toContain('expected a non-empty task id');
    expect(result.code).toBe(2);
  });

  it.each(['many', '0'])('exits 2 on --max-attempts %s', async (attempts) => {
    const result = await runCli([
      'watch',
      '--base-url',
      'http://127.0.0.1:9',
      '--user',
      '2',
      '--token',
      'x',
      '--max-attempts',
      attempts,
    ]);
    expect(result.stderr).toContain('--max-attempts');
    expect(result.code).toBe(2);
  });
});
