import { describe, expect, it, vi } from 'vitest';
import type { DoctorReport } from '../../src/cli/doctor/types.js';
import { ndjson, runCli, setupServers, startCli, userArgs } from './helpers.js';

const start = setupServers('a-token-nobody-uses');

/** Every string and every key in a parsed JSON value. */
function texts(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(texts);
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, item]) => [key, ...texts(item)]);
}

describe('the token masked in JSON output', () => {
  it('leaves every NDJSON line valid when the token is also a number in them (1008)', async () => {
    const server = await start();
    const result = await runCli(userArgs('watch', server.url, '1008', '--json'));
    expect(result.code).toBe(3);
    const lines = ndjson(result.stdout);
    expect(lines.find((line) => line.event === 'authError')).toMatchObject({ closeCode: 1008 });
    expect(lines.at(-1)).toMatchObject({ event: 'exit', error: { closeCode: 1008 } });
    expect(texts(lines).filter((text) => text.includes('1008'))).toEqual([]);
  });

  it('masks it in strings and in the keys of a result, not in event or field names (token "task")', async () => {
    const server = await start({ tokens: { task: 2 } });
    const cli = startCli(userArgs('watch', server.url, 'task', '--json'));
    await vi.waitFor(
      () => expect(server.clients.some((client) => client.state === 'open')).toBe(true),
      { timeout: 10_000 },
    );
    server.pushUpdate(2, { taskId: 'task-1', status: 'running', message: 'the task runs' });
    server.completeTask(2, 'task-1', { task: 'done' });
    await vi.waitFor(() => expect(cli.stdout()).toContain('"status":"completed"'));
    cli.child.kill('SIGINT');
    const result = await cli.exited;
    const tasks = ndjson(result.stdout).filter((line) => line.event === 'task');
    const fields = tasks.map(({ taskId, status, message, result }) => [
      taskId,
      status,
      message,
      result,
    ]);
    expect(fields).toEqual([
      ['***-1', 'running', 'the *** runs', null],
      ['***-1', 'completed', null, { '***': 'done' }],
    ]);
    expect(ndjson(result.stdout).at(-1)).toMatchObject({ event: 'exit', exitCode: 130 });
  });

  it('leaves the doctor --json document valid when the token is also a number in it', async () => {
    const server = await start();
    const result = await runCli(
      userArgs('doctor', server.url, '1008', '--json', '--timeout', '800'),
    );
    const report = JSON.parse(result.stdout) as DoctorReport;
    const auth = report.checks.find((check) => check.id === 'auth');
    expect(auth).toMatchObject({ verdict: 'fail', data: { closeCode: 1008 } });
    expect(texts(report).filter((text) => text.includes('1008'))).toEqual([]);
    expect(result.code).toBe(1);
  });
});
