import { createServer } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { DoctorReport } from '../../src/cli/doctor/types.js';
import { killLeftovers, leaveAfterFirstOutput, ndjson, runCli, startCli } from './helpers.js';

afterEach(() => killLeftovers());

/** A port free a moment ago. */
function freePort(): Promise<number> {
  const server = createServer();
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

describe('task-status demo', () => {
  it('watches the simulated tasks to the end and exits 0 by itself', async () => {
    const result = await runCli(['demo']);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^demo server on http:\/\/127\.0\.0\.1:\d+: 5 tasks for user 2/);
    const lines = ndjson(result.stdout);
    const statuses = new Map<unknown, unknown>();
    for (const line of lines) if (line.event === 'task') statuses.set(line.taskId, line.status);
    expect(Object.fromEntries(statuses)).toEqual({
      1: 'completed',
      2: 'completed',
      3: 'failed',
      4: 'completed',
      5: 'completed',
    });
    // A failed task is part of the show: the demo still exits 0.
    expect(lines.at(-1)).toMatchObject({ event: 'exit', exitCode: 0, reason: 'tasks-done' });
  });

  it('runs its embedded server on --port, with or without --serve', async () => {
    const port = await freePort();
    const result = await runCli([
      'demo',
      '--tasks',
      '1',
      '--failures',
      '0',
      '--port',
      String(port),
    ]);
    expect(result.stderr).toMatch(new RegExp(`^demo server on http://127\\.0\\.0\\.1:${port}: `));
    expect(result.code).toBe(0);
  });

  it('stops quietly with exit 0 when the reader of its NDJSON goes away (EPIPE)', async () => {
    const cli = startCli(['demo', '--json']);
    await leaveAfterFirstOutput(cli);
    const result = await cli.exited;
    expect(result.stderr).not.toContain('EPIPE');
    expect(result.code).toBe(0);
  });

  it('refuses --fault without --serve (exit 2), rather than watch a faulty server forever', async () => {
    const result = await runCli(['demo', '--fault', 'silent']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--fault needs --serve');
    expect(result.stdout).toBe('');
  });

  it('serves a faulty server for doctor to diagnose with --serve --fault', async () => {
    const server = startCli(['demo', '--serve', '--fault', 'wrong-prefix']);
    await vi.waitFor(() => expect(server.stderr()).toMatch(/http:\/\/127\.0\.0\.1:\d+/), {
      timeout: 10_000,
    });
    const url = /http:\/\/127\.0\.0\.1:\d+/.exec(server.stderr())?.[0] ?? '';
    const result = await runCli([
      'doctor',
      '--base-url',
      url,
      '--user',
      '2',
      '--token',
      'demo-token',
      '--json',
    ]);
    const report = JSON.parse(result.stdout) as DoctorReport;
    expect(report.checks.find((check) => check.id === 'upgrade')).toMatchObject({
      verdict: 'fail',
      cause: 'route-not-found',
      data: { foundAt: '/api/v1/api/v1/ws/tasks/{userId}' },
    });
    server.child.kill('SIGINT');
    expect((await server.exited).code).toBe(130);
  });
});
