import {
  type ReconnectOptions,
  redactUrl,
  type TaskId,
  TaskStatusClient,
  type TaskStatusClientOptions,
  type TaskStatusError,
} from '../../index.js';
import { ExitCode, stopExitCode } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { type ForwardProxy, webSocketThrough } from '../proxy.js';
import { createScrubber } from '../secrets.js';
import { createLiveView } from './live-view.js';
import { createNdjsonReporter } from './ndjson-reporter.js';
import type { WatchEndReason, WatchReporter } from './reporter.js';
import { TaskBoard } from './task-board.js';

/** What `task-status watch` was asked to do, after argument parsing. */
export interface WatchOptions {
  readonly baseUrl: string;
  readonly userId: number | string;
  readonly token: string;
  /** Route template, when the server differs from `/api/v1/ws/tasks/{userId}`. */
  readonly path: string | undefined;
  /** Tasks to follow; empty for every task the server reports. */
  readonly tasks: readonly TaskId[];
  /** NDJSON even on a terminal. */
  readonly json: boolean;
  /** Stop once the followed tasks are terminal (see `TaskBoard.done`). */
  readonly exitOnDone: boolean;
  /**
   * Failed attempts in a row before giving up, the first attempt included (`--max-attempts`);
   * `Infinity` never gives up.
   */
  readonly maxAttempts: number;
  /** The ping frame (`--heartbeat-message`), when not the client's default. */
  readonly heartbeatMessage?: string | undefined;
  /** First words of the live view's header. */
  readonly title?: string;
  /**
   * Exit 1 when a task ends other than `completed` (the demo, whose failures are simulated,
   * turns this off).
   * @default true
   */
  readonly failOnTaskFailure?: boolean;
  /** The proxy to connect through (see `proxyFor`); none when undefined. */
  readonly proxy?: ForwardProxy | undefined;
}

/**
 * Runs `watch` until the tasks are done (with `exitOnDone`), the connection fails for good, or
 * `signal` aborts (its `reason` is a `StopReason`: `'SIGTERM'` for a terminate, `'EPIPE'` when
 * the reader of the output is gone, `'write-failed'` when the output cannot be written, anything
 * else for Ctrl-C).
 * Resolves with the exit code; the client is closed by then.
 */
export async function runWatch(
  options: WatchOptions,
  io: CliIo,
  signal: AbortSignal,
): Promise<number> {
  const client = new TaskStatusClient(watchClientOptions(options));
  const scrub = createScrubber(options.token);
  const board = new TaskBoard(options.tasks);
  const reporter = pickReporter(options, io, board, client.toJSON().url, scrub);
  let lastError: TaskStatusError | undefined;
  let finished = false;

  return new Promise<number>((resolve) => {
    const finish = async (exitCode: number, reason: WatchEndReason) => {
      if (finished) return;
      finished = true;
      signal.removeEventListener('abort', onAbort);
      await client.close();
      const error = reason === 'connection-failed' ? lastError : undefined;
      reporter.end({ exitCode, reason, tasks: board.outcomes(), error });
      resolve(exitCode);
    };
    const onAbort = () => {
      const reason: WatchEndReason =
        signal.reason === 'SIGTERM'
          ? 'terminated'
          : signal.reason === 'EPIPE'
            ? 'output-closed'
            : signal.reason === 'write-failed'
              ? 'output-failed'
              : 'interrupted';
      void finish(stopExitCode(signal.reason), reason);
    };

    client.on('state', (state, previous) => {
      reporter.state(state, previous);
      // The fatal error is emitted right after the state turns `closed`: read it a tick later.
      if (state === 'closed' && !finished) {
        queueMicrotask(() => void finish(ExitCode.ConnectionFailed, 'connection-failed'));
      }
    });
    client.on('open', (info) => reporter.open(info));
    client.on('close', (info) => reporter.close(info));
    client.on('reconnecting', (info) => reporter.reconnecting(info));
    client.on('authError', (info) => reporter.authError(info));
    client.on('heartbeat', (info) => reporter.heartbeat(info));
    client.on('error', (error) => {
      lastError = error;
      reporter.error(error);
    });
    client.on('task', (update) => {
      if (!board.apply(update, Date.now())) return;
      reporter.task(update, board);
      if (options.exitOnDone && board.done) {
        const failed = !board.allCompleted && options.failOnTaskFailure !== false;
        void finish(failed ? ExitCode.Failed : ExitCode.Ok, 'tasks-done');
      }
    });

    reporter.start();
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    // Failures arrive as `error` and `state` events; a final one ends the watch above.
    client.connect().catch(() => {});
  });
}

/**
 * The client options of `watch`. `ws` is the WebSocket so that every Node version reports the
 * HTTP status of a refused upgrade (Node 22+'s built-in WebSocket hides it), and so that it can
 * go through a proxy.
 */
export function watchClientOptions(options: WatchOptions): TaskStatusClientOptions {
  return {
    baseUrl: options.baseUrl,
    userId: options.userId,
    token: options.token,
    ...(options.path === undefined ? {} : { path: options.path }),
    WebSocket: webSocketThrough(options.proxy),
    reconnect: reconnectCaps(options.maxAttempts),
    ...(options.heartbeatMessage === undefined
      ? {}
      : { heartbeat: { message: options.heartbeatMessage } }),
  };
}

/**
 * The SDK's caps for `--max-attempts n`. The command counts attempts, the first one included;
 * the SDK counts retries (it gives up at failure `maxAttempts + 1`), and its `maxInitialAttempts`
 * (6 by default) also holds until a first connection. So both caps get `n - 1`, and without
 * `--max-attempts` both are `Infinity`: `watch` never gives up by default.
 */
export function reconnectCaps(
  maxAttempts: number,
): Required<Pick<ReconnectOptions, 'maxAttempts' | 'maxInitialAttempts'>> {
  const retries = maxAttempts === Number.POSITIVE_INFINITY ? maxAttempts : maxAttempts - 1;
  return { maxAttempts: retries, maxInitialAttempts: retries };
}

function pickReporter(
  options: WatchOptions,
  io: CliIo,
  board: TaskBoard,
  url: string,
  scrub: (text: string) => string,
): WatchReporter {
  if (options.json || io.stdout.isTTY !== true) {
    return createNdjsonReporter((line) => io.stdout.write(line), scrub);
  }
  return createLiveView(
    io.stdout,
    {
      title: `${options.title ?? 'task-status watch'} · user ${options.userId}`,
      url:
        options.proxy === undefined
          ? redactUrl(url)
          : `${redactUrl(url)} via ${options.proxy.shown}`,
      board,
      exitWhenDone: options.exitOnDone ? options.tasks.map(String) : undefined,
      state: 'idle',
      reconnect: undefined,
      rttMs: undefined,
      end: undefined,
    },
    scrub,
  );
}
