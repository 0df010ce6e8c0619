/**
 * Runs the `task-status` command as a real child process (Node with tsx, straight from the
 * sources, so no build is needed) with piped stdio: stdout is not a terminal, so `watch` and
 * `demo` print NDJSON.
 */
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, expect } from 'vitest';
import type { CheckResult, DoctorReport } from '../../src/cli/doctor/types.js';
import type { WatchOptions } from '../../src/cli/watch/watch.js';
import {
  startTaskStatusServer,
  type TaskStatusServer,
  type TaskStatusServerOptions,
} from '../../src/testing/index.js';

const entry = fileURLToPath(new URL('../../src/cli/index.ts', import.meta.url));
const running = new Set<ChildProcessWithoutNullStreams>();

/** How a run ended and what it printed. */
export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A command still running. */
export interface CliProcess {
  readonly child: ChildProcessWithoutNullStreams;
  /** What it printed so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves when it exits. */
  readonly exited: Promise<CliResult>;
}

/**
 * Environment entries that clear every proxy variable of this machine's own (`HTTP_PROXY`,
 * `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`, in either case).
 */
const NO_PROXY_ENV: Readonly<NodeJS.ProcessEnv> = {
  HTTP_PROXY: undefined,
  HTTPS_PROXY: undefined,
  ALL_PROXY: undefined,
  NO_PROXY: undefined,
  http_proxy: undefined,
  https_proxy: undefined,
  all_proxy: undefined,
  no_proxy: undefined,
};

/** Starts `task-status …args`; `env` is added to this process's environment. */
export function startCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  return startProcess(process.execPath, ['--import', 'tsx', entry, ...args], env);
}

function startProcess(file: string, args: readonly string[], env: NodeJS.ProcessEnv): CliProcess {
  const child = spawn(file, args, {
    // No proxy variable of this machine's reaches the command, so that its connections to this
    // machine's servers go straight to them: only a test's own `env` sets one.
    env: {
      ...process.env,
      NO_COLOR: '1',
      FORCE_COLOR: undefined,
      CI: undefined,
      ...NO_PROXY_ENV,
      ...env,
    },
    stdio: 'pipe',
  });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<CliResult>((resolve) => {
    child.once('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/**
 * Starts `task-status …args` on a pseudo-terminal (util-linux `script`), as a person would in a
 * terminal: stdout is a TTY, and writing `\x03` to `child.stdin` is a real Ctrl-C.
 */
export function startCliInTerminal(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  size = 'cols 100 rows 30',
): CliProcess {
  const command = [process.execPath, '--import', 'tsx', entry, ...args].map(quote).join(' ');
  return startProcess(
    'script',
    ['--quiet', '--return', '--flush', '--command', `stty ${size}; exec ${command}`, '/dev/null'],
    env,
  );
}

/** True where util-linux `script` is installed (Debian and most Linux systems). */
export const hasScript = (() => {
  try {
    return execFileSync('script', ['--version'], { stdio: 'pipe' })
      .toString()
      .includes('util-linux');
  } catch {
    return false;
  }
})();

function quote(word: string): string {
  return `'${word.replaceAll("'", "'\\''")}'`;
}

/** Runs `task-status …args` to its end. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return startCli(args, env).exited;
}

/**
 * Closes this end of the command's stdout once its first output has come, as `| head -1` does,
 * and resolves when it is closed: from then on every write of the command fails with EPIPE.
 */
export function leaveAfterFirstOutput(cli: CliProcess): Promise<void> {
  return new Promise((resolve) => {
    cli.child.stdout.once('close', () => resolve());
    cli.child.stdout.once('data', () => cli.child.stdout.destroy());
  });
}

/** Kills (by pid) whatever a failed test left running. */
export function killLeftovers(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

/** One NDJSON line of `watch`, with the fields the tests read. */
export interface Line {
  readonly event: string;
  readonly time: string;
  readonly state?: string;
  readonly taskId?: number | string;
  readonly status?: string;
  readonly progress?: number | null;
  readonly reconnected?: boolean;
  readonly delayMs?: number;
  readonly tasks?: readonly unknown[];
  readonly [field: string]: unknown;
}

/** The NDJSON lines of `text`, parsed. */
export function ndjson(text: string): Line[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Line);
}

/**
 * Registers the clean-up of a CLI test file (leftover children killed, servers closed) and
 * returns how to start a task server that accepts `token` for user 2.
 */
export function setupServers(
  token: string,
): (options?: TaskStatusServerOptions) => Promise<TaskStatusServer> {
  const servers: TaskStatusServer[] = [];
  afterEach(async () => {
    killLeftovers();
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });
  return async (options = {}) => {
    const server = await startTaskStatusServer({ tokens: { [token]: 2 }, ...options });
    servers.push(server);
    return server;
  };
}

/**
 * `watch`'s options as the command builds them from its flags: user 2 at `baseUrl`, NDJSON,
 * every task, no attempt limit, and `extra` on top.
 */
export function watchOptions(baseUrl: string, extra: Partial<WatchOptions> = {}): WatchOptions {
  return {
    baseUrl,
    userId: 2,
    token: 'watch-token-of-user-2',
    path: undefined,
    tasks: [],
    json: true,
    exitOnDone: false,
    maxAttempts: Number.POSITIVE_INFINITY,
    ...extra,
  };
}

/** A command's arguments for user 2 at `baseUrl` with `token`, then `extra`. */
export function userArgs(
  command: 'watch' | 'doctor',
  baseUrl: string,
  token: string,
  ...extra: string[]
): string[] {
  return [command, '--base-url', baseUrl, '--user', '2', '--token', token, ...extra];
}

/** What `doctor --json` reported, and how it exited. */
export interface DoctorRun {
  readonly code: number | null;
  readonly report: DoctorReport;
  /** The check with this id. */
  check(id: string): CheckResult;
  readonly stderr: string;
}

/**
 * Runs `doctor --json` for user 2 with `token` and a `--timeout` of 800 ms (`extra` may set
 * another), `env` added to its environment, and checks what must hold for every run: valid JSON,
 * no token, and every step in order.
 */
export async function doctorJson(
  baseUrl: string,
  token: string,
  extra: readonly string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<DoctorRun> {
  const result = await runCli(
    [...userArgs('doctor', baseUrl, token, '--json', '--timeout', '800'), ...extra],
    env,
  );
  expect(result.stdout + result.stderr).not.toContain(token);
  const report = JSON.parse(result.stdout) as DoctorReport;
  expect(report.checks.map((check) => check.id)).toEqual([
    'dns',
    'tcp',
    'tls',
    'health',
    'url',
    'upgrade',
    'auth',
    'heartbeat',
    'reconnect',
  ]);
  const check = (id: string) => report.checks.find((item) => item.id === id) as CheckResult;
  return { code: result.code, report, check, stderr: result.stderr };
}
