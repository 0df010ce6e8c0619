// The real server only: the testing kit's index would also pull in msw, an optional peer.
import {
  startTaskStatusServer,
  type TaskStatusServer,
  type TaskStatusServerOptions,
} from '../testing/real-server.js';
import { stopExitCode } from './exit-codes.js';
import type { CliIo } from './io.js';
import { runWatch } from './watch/watch.js';

/** The user the demo server simulates tasks for. */
export const DEMO_USER = 2;
/** The token the demo server accepts. Not a secret: it only opens the demo server. */
export const DEMO_TOKEN = 'demo-token';

/** Faults `demo --serve --fault` can inject, to see what `doctor` says about each. */
export const DEMO_FAULTS = [
  'none',
  'text-errors',
  'no-ack',
  'handshake-delay',
  'silent',
  'wrong-prefix',
] as const;

/** One of {@link DEMO_FAULTS}. */
export type DemoFault = (typeof DEMO_FAULTS)[number];

/** What `task-status demo` was asked to do, after argument parsing. */
export interface DemoOptions {
  readonly json: boolean;
  /** Simulated tasks. */
  readonly tasks: number;
  /** How many of them fail halfway. */
  readonly failures: number;
  /** Keep the server running (until Ctrl-C) instead of watching it. */
  readonly serve: boolean;
  /** Port of the embedded server, with or without `--serve`; 0 picks a free one. */
  readonly port: number;
  readonly fault: DemoFault;
}

/**
 * Starts the embedded task-status server (the testing kit's real server with its task
 * simulator) and watches it until every task has finished. Exits 0 then, whatever the tasks'
 * statuses: a failing task is part of the show. With `serve`, only runs the server.
 */
export async function runDemo(
  options: DemoOptions,
  io: CliIo,
  signal: AbortSignal,
): Promise<number> {
  const server = await startDemoServer(options);
  try {
    if (options.serve) return await serve(server, options, io, signal);
    io.stderr.write(
      `demo server on ${server.url}: ${options.tasks} tasks for user ${DEMO_USER}, watching until they finish\n`,
    );
    const code = await runWatch(
      {
        baseUrl: server.url,
        userId: DEMO_USER,
        token: DEMO_TOKEN,
        path: undefined,
        tasks: [],
        json: options.json,
        exitOnDone: true,
        maxAttempts: 3,
        title: 'task-status demo',
        failOnTaskFailure: false,
      },
      io,
      signal,
    );
    return code;
  } finally {
    await server.close();
  }
}

function startDemoServer(options: DemoOptions): Promise<TaskStatusServer> {
  let server: TaskStatusServer | undefined;
  const fault = options.fault;
  const config: TaskStatusServerOptions = {
    port: options.port,
    handshakeDelayMs: fault === 'handshake-delay' ? 60_000 : 0,
    tokens: (token) => {
      // Silenced while authenticating: no ack, no pong, no updates, socket left open.
      if (fault === 'silent') server?.silence();
      return token === DEMO_TOKEN ? DEMO_USER : null;
    },
    ack: fault !== 'no-ack' && fault !== 'silent',
    errorFormat: fault === 'text-errors' ? 'text' : 'json',
    simulate: { userId: DEMO_USER, tasks: options.tasks, failures: options.failures },
    // Other paths get 403, as Starlette answers an upgrade it has no route for.
    ...(fault === 'wrong-prefix'
      ? { path: '/api/v1/api/v1/ws/tasks/{userId}', unmatchedUpgradeStatus: 403 as const }
      : {}),
  };
  return startTaskStatusServer(config).then((started) => {
    server = started;
    return started;
  });
}

function serve(
  server: TaskStatusServer,
  options: DemoOptions,
  io: CliIo,
  signal: AbortSignal,
): Promise<number> {
  const fault = options.fault === 'none' ? '' : ` with fault "${options.fault}"`;
  io.stderr.write(
    [
      `demo server on ${server.url}${fault}; Ctrl-C to stop`,
      `  user ${DEMO_USER}, token ${DEMO_TOKEN} (any other token is refused)`,
      `  try: task-status doctor --base-url ${server.url} --user ${DEMO_USER} --token ${DEMO_TOKEN}`,
      '',
    ].join('\n'),
  );
  return new Promise((resolve) => {
    const stop = () => resolve(stopExitCode(signal.reason));
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
  });
}
