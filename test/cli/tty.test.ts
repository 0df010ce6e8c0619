import { stripVTControlCharacters } from 'node:util';
import stringWidth from 'string-width';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startTaskStatusServer, type TaskStatusServer } from '../../src/testing/index.js';
import { hasScript, killLeftovers, startCliInTerminal } from './helpers.js';

const TOKEN = 'tty-token-of-user-2';
const servers: TaskStatusServer[] = [];

afterEach(async () => {
  killLeftovers();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** The screen text without escape sequences (colors are off: NO_COLOR). */
function plain(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape sequences
  return text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
}

/** The SGR styles a line leaves open at its end: `dim`, `red`, … by their opening codes. */
function openStyles(line: string): string[] {
  let open: string[] = [];
  // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape sequences
  for (const [, code] of line.matchAll(/\u001b\[(\d+)m/g)) {
    if (code === '0') open = [];
    else if (code === '22') open = open.filter((style) => style !== '1' && style !== '2');
    else if (code === '39') open = open.filter((style) => !/^3\d$/.test(style));
    else if (code !== undefined) open.push(code);
  }
  return open;
}

describe.runIf(hasScript)('task-status on a terminal', () => {
  it('draws the live view and, on Ctrl-C, closes the client, leaves the last frame and exits 130', async () => {
    const server = await startTaskStatusServer({ tokens: { [TOKEN]: 2 } });
    servers.push(server);
    const cli = startCliInTerminal(
      ['watch', '--base-url', server.url, '--user', '2', '--token-env', 'TS_TOKEN'],
      {
        TS_TOKEN: TOKEN,
      },
    );
    await vi.waitFor(
      () => expect(server.clients.some((client) => client.state === 'open')).toBe(true),
      {
        timeout: 10_000,
      },
    );
    server.pushUpdate(2, { taskId: 9, status: 'running', progress: 45, message: 'Crunching' });
    await vi.waitFor(() => expect(plain(cli.stdout())).toContain('Crunching'));
    cli.child.stdin.write('\u0003');
    const result = await cli.exited;
    const screen = plain(result.stdout);
    expect(screen).toContain(
      `task-status watch · user 2 · ws://127.0.0.1:${server.port}/api/v1/ws/tasks/2?token=***`,
    );
    expect(screen).toMatch(/9 {2}█{9}░{11} {3}45% {2}running/);
    expect(screen).toContain('stopped: 1 running (exit 130)');
    expect(screen).not.toContain(TOKEN);
    expect(result.code).toBe(130);
    await vi.waitFor(() =>
      expect(server.connections[0]).toMatchObject({
        closeCode: 1000,
        closeReason: 'client closed',
      }),
    );
  });

  it('cuts each line to the width of the terminal, through its colours, which it closes', async () => {
    const server = await startTaskStatusServer({ tokens: { [TOKEN]: 2 } });
    servers.push(server);
    const cli = startCliInTerminal(
      ['watch', '--base-url', server.url, '--user', '2', '--token-env', 'TS_TOKEN'],
      { TS_TOKEN: TOKEN, NO_COLOR: undefined, FORCE_COLOR: '1' },
      'cols 60 rows 30',
    );
    await vi.waitFor(
      () => expect(server.clients.some((client) => client.state === 'open')).toBe(true),
      { timeout: 10_000 },
    );
    const uuid = '6f1c2b0e-8a4d-4c1e-9b7a-2d3e4f5a6b7c';
    server.pushUpdate(2, { taskId: uuid, status: 'running', progress: 45, message: 'Crunching' });
    server.pushUpdate(2, { taskId: 7, status: 'failed', error: { message: '表情😀'.repeat(30) } });
    await vi.waitFor(() => expect(plain(cli.stdout())).toMatch(/ 7 {2}[█░]/));
    cli.child.stdin.write('\u0003');
    const result = await cli.exited;
    // Each line as drawn: between line ends and log-update's erase and cursor-up sequences.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape sequences
    const lines = result.stdout.split(/\r?\n|\u001b\[(?:2K|1A|G|\?25[lh])/);
    expect(lines.some((line) => line.includes(`${uuid.slice(0, 20)}`))).toBe(true);
    for (const line of lines) {
      expect(stringWidth(stripVTControlCharacters(line)), line).toBeLessThan(60);
      expect(openStyles(line), line).toEqual([]);
    }
    expect(result.code).toBe(130);
  });

  it('draws on a terminal that reports no size (0 × 0) as on one of 100 × 24', async () => {
    const result = await startCliInTerminal(['demo'], {}, 'cols 0 rows 0').exited;
    const screen = plain(result.stdout);
    expect(screen).toContain('● connected');
    expect(screen).toContain('done: 4 completed, 1 failed (exit 0)');
    expect(result.code).toBe(0);
  });

  it('leaves the whole last frame on screen, even one taller than the terminal', async () => {
    const result = await startCliInTerminal(
      ['demo', '--tasks', '12', '--failures', '2'],
      {},
      'cols 80 rows 8',
    ).exited;
    expect(result.code).toBe(0);
    // What follows the last erase of log-update: the frame that stays.
    const last = plain(result.stdout.slice(result.stdout.lastIndexOf('\u001b[G') + 3));
    const lines = last.split(/\r?\n/).filter((line) => line !== '');
    expect(lines[0]).toMatch(/^task-status demo · user 2 · ws:/);
    expect(lines[1]).toBe('■ closed');
    expect(lines.slice(2, 14).map((line) => Number(line.trim().split(' ')[0]))).toEqual(
      Array.from({ length: 12 }, (_, index) => index + 1),
    );
    expect(lines[14]).toBe('done: 10 completed, 2 failed (exit 0)');
    expect(lines).toHaveLength(15);
  });

  it('runs the demo to the end with progress bars and exits 0', async () => {
    const result = await startCliInTerminal(['demo']).exited;
    const screen = plain(result.stdout);
    expect(screen).toContain('● connected');
    expect(screen).toContain('done: 4 completed, 1 failed (exit 0)');
    expect(result.code).toBe(0);
  });
});
