import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { version } from '../../package.json';
import { buildTaskStatusUrl, isTaskStatusError, redactUrl, type TaskId } from '../index.js';
import { colorsFor } from './colors.js';
import { DEMO_FAULTS, type DemoFault, runDemo } from './demo.js';
import { runDoctor } from './doctor/doctor.js';
import { formatCheck, formatHeader, formatSummary } from './doctor/report.js';
import { ExitCode, stopExitCode } from './exit-codes.js';
import type { CliIo } from './io.js';
import { proxyFor } from './proxy.js';
import { createScrubber, maskingReplacer, resolveToken, UsageError } from './secrets.js';
import { runWatch } from './watch/watch.js';

interface ConnectionFlags {
  baseUrl: string;
  user: string;
  token?: string;
  tokenEnv?: string;
  path?: string;
  heartbeatMessage?: string;
}

interface WatchFlags extends ConnectionFlags {
  task?: TaskId[];
  json?: boolean;
  exitOnDone?: boolean;
  maxAttempts: number;
}

interface DoctorFlags extends ConnectionFlags {
  json?: boolean;
  timeout: number;
}

interface DemoFlags {
  json?: boolean;
  tasks: number;
  failures: number;
  serve?: boolean;
  port: number;
  fault: DemoFault;
}

/**
 * The longest `doctor --timeout`: Node's timers wait at most 2^31 − 1 ms (a longer delay fires
 * at once, with a warning), and the reconnect step waits twice the timeout.
 */
export const MAX_DOCTOR_TIMEOUT_MS = Math.floor((2 ** 31 - 1) / 2);

const EXIT_CODES_HELP = `
Exit codes: 0 ok · 1 a task failed / a check failed / output not writable · 2 bad arguments ·
3 connection failed · 130 Ctrl-C · 143 SIGTERM. Documentation: docs/cli.md in the
task-status-client package.`;

const PROXY_HELP = `
Behind a proxy: HTTPS_PROXY (https:// and wss://), HTTP_PROXY (http:// and ws://) or ALL_PROXY,
in upper or lower case, name it; hosts in NO_PROXY are reached directly.`;

/**
 * Runs the `task-status` command with `argv` (the arguments after the program name) and
 * resolves with the exit code. `signal` aborts on Ctrl-C, on SIGTERM, or when the reader of the
 * output is gone; its reason (a `StopReason`) says which.
 */
export async function main(
  argv: readonly string[],
  io: CliIo,
  signal: AbortSignal,
): Promise<number> {
  let exitCode: number = ExitCode.Ok;
  const program = createProgram(io, signal, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    if (error instanceof UsageError || isTaskStatusError(error, 'INVALID_OPTIONS')) {
      io.stderr.write(`error: ${error.message}\n`);
      return ExitCode.Usage;
    }
    // Anything else (a port in use, say) is reported as a failure, without a stack trace.
    io.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    return ExitCode.Failed;
  }
  return exitCode;
}

/** A JWT (`eyJ…` is how `{"` encodes), as the token given to the wrong option would be. */
const JWT = /^eyJ[\w-]*\./;
/** The value in commander's "unknown option '--name=value'" (up to the line's last quote). */
const UNKNOWN_OPTION_VALUE = /(unknown option '[^'=]*=).*(?=')/g;
/** The value in commander's "argument '…' is invalid": masked when it is a JWT. */
const INVALID_ARGUMENT = /(argument ')([^']*)(?=' is invalid)/g;

function createProgram(io: CliIo, signal: AbortSignal, setExit: (code: number) => void): Command {
  const program = new Command('task-status')
    .description('Watch task-status WebSocket updates live, or diagnose a broken connection.')
    .version(version)
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // An option it does not know is named without its value: `--tokn=…` is a typo of `--token`,
      // and its value the token. So is a JWT given to the wrong option (`--user <jwt>`).
      outputError: (text, write) =>
        write(
          text
            .replace(UNKNOWN_OPTION_VALUE, '$1***')
            .replace(INVALID_ARGUMENT, (all, before: string, value: string) =>
              JWT.test(value) ? `${before}***` : all,
            ),
        ),
    })
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .addHelpText('after', EXIT_CODES_HELP);
  const context = { io, signal, setExit };
  addWatchCommand(program, context);
  addDoctorCommand(program, context);
  addDemoCommand(program, context);
  return program;
}

/** What every command's action needs. */
interface CommandContext {
  readonly io: CliIo;
  readonly signal: AbortSignal;
  readonly setExit: (code: number) => void;
}

function addWatchCommand(program: Command, { io, signal, setExit }: CommandContext): void {
  connectionOptions(program.command('watch'))
    .description('Follow task updates: a live line per task on a terminal, NDJSON otherwise.')
    .addHelpText('after', PROXY_HELP)
    .option('--task <id...>', 'follow only these tasks (repeat or list several)', taskIds)
    .option('--json', 'one JSON object per event (NDJSON), even on a terminal')
    .option(
      '--exit-on-done',
      'exit once the --task tasks, or without --task every task seen so far, are terminal: 0 if all completed, 1 otherwise',
    )
    .addOption(
      new Option(
        '--max-attempts <n>',
        'give up after n failed attempts in a row, the first one included (exit 3)',
      )
        .argParser(integer(1))
        .default(Number.POSITIVE_INFINITY, 'no limit'),
    )
    .action(async (flags: WatchFlags) => {
      const options = {
        baseUrl: flags.baseUrl,
        userId: parseId(flags.user),
        token: resolveToken(flags, io.env),
        path: flags.path,
        tasks: flags.task ?? [],
        json: flags.json === true,
        exitOnDone: flags.exitOnDone === true,
        maxAttempts: flags.maxAttempts,
        heartbeatMessage: flags.heartbeatMessage,
        proxy: proxyFor(flags.baseUrl),
      };
      setExit(await runWatch(options, io, signal));
    });
}

function addDoctorCommand(program: Command, { io, signal, setExit }: CommandContext): void {
  connectionOptions(program.command('doctor'))
    .description(
      'Check DNS, TCP, TLS (for https:// and wss://), /health, the URL, the upgrade, auth, heartbeat and reconnect, in order.',
    )
    .addHelpText('after', PROXY_HELP)
    .option('--json', 'print the report as one JSON document')
    .option(
      '--timeout <ms>',
      `time allowed to each network step (at most ${MAX_DOCTOR_TIMEOUT_MS})`,
      doctorTimeout,
      5_000,
    )
    .action(async (flags: DoctorFlags) => {
      setExit(await doctor(flags, io, signal));
    });
}

function addDemoCommand(program: Command, { io, signal, setExit }: CommandContext): void {
  program
    .command('demo')
    .description('Start an embedded task-status server with simulated tasks and watch them finish.')
    .addHelpText('after', EXIT_CODES_HELP)
    .option('--json', 'NDJSON output, even on a terminal')
    .option('--tasks <n>', 'how many tasks to simulate', integer(1), 5)
    .option('--failures <n>', 'how many of them fail halfway', integer(0), 1)
    .option('--serve', 'only run the server (until Ctrl-C), to point watch or doctor at it')
    .option('--port <n>', 'port of the embedded server (0: a free one)', integer(0), 0)
    .addOption(
      new Option('--fault <name>', 'with --serve: a fault for doctor to find')
        .choices(DEMO_FAULTS)
        .default('none'),
    )
    .action(async (flags: DemoFlags) => {
      if (flags.fault !== 'none' && flags.serve !== true) {
        throw new UsageError(
          '--fault needs --serve: the faults are for doctor, and the demo would wait on them',
        );
      }
      const options = {
        json: flags.json === true,
        tasks: flags.tasks,
        failures: flags.failures,
        serve: flags.serve === true,
        port: flags.port,
        fault: flags.fault,
      };
      setExit(await runDemo(options, io, signal));
    });
}

function connectionOptions(command: Command): Command {
  return command
    .addHelpText('after', EXIT_CODES_HELP)
    .requiredOption(
      '--base-url <url>',
      'where the backend lives: http(s)://host[:port][/mount]; a base ending in /api/v1 works too',
    )
    .requiredOption('--user <id>', 'the user whose tasks to follow', userId)
    .option('--token <jwt>', 'the token (shows in the process list: prefer --token-env)')
    .option('--token-env <var>', 'read the token from this environment variable')
    .option(
      '--path <template>',
      'route template if the server differs (default /api/v1/ws/tasks/{userId})',
    )
    .addOption(
      new Option(
        '--heartbeat-message <frame>',
        'the ping to send (default {"type":"ping"}): ping for a server that answers only plain text',
      ).argParser(nonEmpty),
    );
}

async function doctor(flags: DoctorFlags, io: CliIo, signal: AbortSignal): Promise<number> {
  const token = resolveToken(flags, io.env);
  const scrub = createScrubber(token);
  const write = (text: string) => io.stdout.write(scrub(text));
  const colors = colorsFor(io.stdout, io.env);
  const { NODE_EXTRA_CA_CERTS: extraCaCerts } = io.env;
  const options = {
    baseUrl: flags.baseUrl,
    userId: parseId(flags.user),
    token,
    path: flags.path,
    timeoutMs: flags.timeout,
    heartbeatMessage: flags.heartbeatMessage,
    extraCaCerts,
    proxy: proxyFor(flags.baseUrl),
  };
  if (flags.json !== true) {
    write(formatHeader(safeUrl(options), String(options.userId), colors, options.proxy?.shown));
  }
  const interrupted = new Promise<undefined>((resolve) => {
    if (signal.aborted) resolve(undefined);
    else signal.addEventListener('abort', () => resolve(undefined), { once: true });
  });
  const report = await Promise.race([
    runDoctor(options, (check) => {
      if (flags.json !== true) write(formatCheck(check, colors));
    }),
    interrupted,
  ]);
  if (report === undefined) return stopExitCode(signal.reason);
  if (flags.json === true) {
    // Masked string by string: masking the whole document could break its JSON.
    io.stdout.write(`${JSON.stringify(report, maskingReplacer(scrub), 2)}\n`);
  } else write(formatSummary(report, colors));
  // A --base-url (or --path) the SDK refuses is a bad argument, as for `watch`: the report says
  // why, and the exit code says it is the command line that needs fixing.
  if (report.checks.some((check) => check.cause === 'invalid-url')) return ExitCode.Usage;
  return report.ok ? ExitCode.Ok : ExitCode.Failed;
}

function safeUrl(options: {
  baseUrl: string;
  userId: TaskId;
  token: string;
  path: string | undefined;
}) {
  try {
    return redactUrl(
      buildTaskStatusUrl({
        baseUrl: options.baseUrl,
        userId: options.userId,
        token: options.token,
        ...(options.path === undefined ? {} : { path: options.path }),
      }),
    );
  } catch {
    return null;
  }
}

/**
 * `'42'` → `42` (ids travel as numbers in FastAPI backends); any other string stays as typed,
 * `'007'` included: as a number it would be `7`, which neither matches a task `"007"` nor routes
 * to `/ws/tasks/007`.
 */
function parseId(value: string): TaskId {
  const number = Number(value);
  return /^(?:0|[1-9]\d*)$/.test(value) && Number.isSafeInteger(number) ? number : value;
}

/**
 * A `--user` id. A JWT is refused, so that it is never shown in the URL and the header: the
 * error names the option without the value (see `INVALID_ARGUMENT`).
 */
function userId(value: string): string {
  if (JWT.test(value)) throw new InvalidArgumentError('expected a user id, not a token');
  return value;
}

/** Collects `--task` ids. An empty one is refused: no update has it, so it would never end. */
function taskIds(value: string, previous: TaskId[] | undefined): TaskId[] {
  if (value === '') throw new InvalidArgumentError('expected a non-empty task id');
  return [...(previous ?? []), parseId(value)];
}

function nonEmpty(value: string): string {
  if (value === '') throw new InvalidArgumentError('expected a non-empty frame');
  return value;
}

function doctorTimeout(value: string): number {
  const ms = integer(1)(value);
  if (ms > MAX_DOCTOR_TIMEOUT_MS) {
    throw new InvalidArgumentError(
      `expected at most ${MAX_DOCTOR_TIMEOUT_MS} ms (about 12 days): Node's timers wait at most 2^31-1 ms, and the reconnect step waits twice --timeout`,
    );
  }
  return ms;
}

function integer(min: number): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(number) || number < min) {
      throw new InvalidArgumentError(`expected an integer >= ${min}`);
    }
    return number;
  };
}
