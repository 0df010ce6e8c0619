import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { PassThrough, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import type { CliIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/program.js';
import { stopOnWriteErrors } from '../../src/cli/write-errors.js';
import { setupServers } from './helpers.js';

const TOKEN = 'write-errors-token-of-user-2';
const start = setupServers(TOKEN);
const entry = fileURLToPath(new URL('../../src/cli/index.ts', import.meta.url));

/** Runs `task-status …args` with its stdout on /dev/full, where every write fails with ENOSPC. */
function runWithFullDisk(args: readonly string[]) {
  const full = openSync('/dev/full', 'w');
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
    env: { ...process.env, NO_COLOR: '1', TS_TOKEN: TOKEN },
    stdio: ['ignore', full, 'pipe'],
  });
  closeSync(full);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  return new Promise<{ code: number | null; stderr: string }>((resolve) => {
    child.once('close', (code) => resolve({ code, stderr }));
  });
}

describe('a write error other than EPIPE on stdout', () => {
  it.runIf(existsSync('/dev/full'))(
    'stops the demo with one line on stderr and exit 1, without a stack trace',
    async () => {
      const result = await runWithFullDisk(['demo']);
      // The demo names its server on stderr first.
      const lines = result.stderr.trimEnd().split('\n');
      expect(lines.at(-1)).toBe(
        'error: cannot write to stdout: ENOSPC: no space left on device, write',
      );
      expect(lines.filter((line) => line.startsWith('error:'))).toHaveLength(1);
      expect(result.stderr).not.toMatch(/^\s+at /m);
      expect(result.code).toBe(1);
    },
  );

  it('stops watch the same way once connected, closing its client', async () => {
    const server = await start();
    // stdout takes the lines until the connection is open, then fails as a full disk does.
    let full = false;
    const stdout = new Writable({
      write(chunk, _encoding, done) {
        if (String(chunk).includes('"event":"open"')) full = true;
        done(
          full
            ? Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })
            : null,
        );
      },
    });
    const stderr = new PassThrough().setEncoding('utf8');
    const controller = new AbortController();
    stopOnWriteErrors({ stdout, stderr }, controller);
    const io = { stdout, stderr, env: { TS_TOKEN: TOKEN } } as unknown as CliIo;
    const args = ['watch', '--base-url', server.url, '--user', '2', '--token-env', 'TS_TOKEN'];
    const code = await main(args, io, controller.signal);
    expect(code).toBe(1);
    expect(stderr.read()).toBe(
      'error: cannot write to stdout: ENOSPC: no space left on device, write\n',
    );
    await vi.waitFor(() =>
      expect(server.connections[0]).toMatchObject({
        closeCode: 1000,
        closeReason: 'client closed',
      }),
    );
  });
});
