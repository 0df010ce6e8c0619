import { createLogUpdate } from 'log-update';
import pc from 'picocolors';
import sliceAnsi from 'slice-ansi';
import stringWidth from 'string-width';
import type { ConnectionState, ReconnectingInfo, TaskUpdate } from '../../index.js';
import { printable } from '../terminal-text.js';
import type { WatchEnd, WatchReporter } from './reporter.js';
import type { BoardTask, TaskBoard } from './task-board.js';

/** What the live view shows: the board plus the connection and the exit condition. */
export interface LiveModel {
  /** Printed in the header, e.g. `task-status watch · user 2`. */
  readonly title: string;
  /** The socket URL, token masked. */
  readonly url: string;
  readonly board: TaskBoard;
  /** `undefined` without `--exit-on-done`; `[]` for "every task seen". */
  readonly exitWhenDone: readonly string[] | undefined;
  state: ConnectionState;
  reconnect: (ReconnectingInfo & { readonly at: number }) | undefined;
  rttMs: number | undefined;
  end: WatchEnd | undefined;
}

const BAR_WIDTH = 20;
const DOCTOR_HINT =
  'run `task-status doctor` with the same --base-url, --user and token to find out why';
const REDRAW_MS = 200;
const STATUS_COLORS: Readonly<Record<string, (text: string) => string>> = {
  completed: pc.green,
  failed: pc.red,
  cancelled: pc.yellow,
  running: pc.cyan,
  pending: pc.dim,
};

/**
 * The terminal view of `watch`: a line per task (progress bar, percent, status, elapsed time,
 * message) under a line for the connection (`reconnecting in 2.4s…`), redrawn in place by
 * log-update and left on screen, in full, when the command ends.
 */
export function createLiveView(
  stream: NodeJS.WritableStream & { columns?: number; rows?: number },
  model: LiveModel,
  scrub: (text: string) => string,
): WatchReporter {
  // A terminal that reports no size (0 × 0: `script` without a parent terminal, some CI and
  // container setups) would have log-update cut every line away: take it as 100 × 24.
  const screen = {
    write: (text: string) => stream.write(text),
    get columns() {
      return stream.columns || 100;
    },
    get rows() {
      return stream.rows || 24;
    },
  };
  const log = createLogUpdate(screen as unknown as NodeJS.WriteStream);
  let timer: ReturnType<typeof setInterval> | undefined;
  // Masked twice: each text before its line is cut (a token cut short no longer matches the
  // mask), and the whole frame after, as every line the command prints is.
  const frame = () => scrub(renderLiveView(model, Date.now(), screen.columns, scrub));
  const draw = () => log(frame());
  return {
    start: () => {
      draw();
      timer = setInterval(draw, REDRAW_MS);
    },
    state: (state) => {
      model.state = state;
      if (state === 'open') model.reconnect = undefined;
      draw();
    },
    open: () => draw(),
    close: () => draw(),
    reconnecting: (info) => {
      model.reconnect = { ...info, at: Date.now() };
      draw();
    },
    authError: () => draw(),
    error: () => {},
    heartbeat: (info) => {
      model.rttMs = info.rttMs;
    },
    task: () => draw(),
    end: (end) => {
      clearInterval(timer);
      model.end = end;
      // log-update keeps only the last `rows` lines of a frame (it could not erase more), so the
      // last frame would lose its header and first tasks: it is written in full instead.
      log.clear();
      screen.write(`${frame()}\n`);
      log.done();
    },
  };
}

/**
 * The whole view as text, for a terminal `columns` wide. Pure: the time is passed in. `scrub`
 * masks the token in every text that comes from outside (title, URL, ids, statuses, messages,
 * errors) before any line is cut to the width; each such text is then made printable, so the
 * server's strings can hold no escape sequence or line break. Every line is cut to the width by
 * what it takes on screen: a line that wrapped would make the frame taller than log-update
 * thinks, and each redraw would leave part of the last one behind.
 */
export function renderLiveView(
  model: LiveModel,
  now: number,
  columns: number,
  scrub: (text: string) => string,
): string {
  const safe = (text: string) => printable(scrub(text));
  const lines = [pc.dim(safe(`${model.title} · ${model.url}`)), connectionLine(model, now, safe)];
  const tasks = model.board.tasks;
  if (tasks.length === 0) lines.push(pc.dim('  waiting for task updates…'));
  const idWidth = Math.max(...tasks.map((task) => stringWidth(safe(String(task.taskId)))), 1);
  for (const task of tasks) lines.push(taskLine(task, idWidth, now, columns, safe));
  lines.push(footer(model));
  return lines
    .join('\n')
    .split('\n')
    .map((line) => fitLine(line, columns))
    .join('\n');
}

function connectionLine(model: LiveModel, now: number, safe: (text: string) => string): string {
  switch (model.state) {
    case 'idle':
    case 'connecting':
      return pc.yellow('◌ connecting…');
    case 'open':
      return pc.green(`● connected${model.rttMs === undefined ? '' : ` · ping ${model.rttMs} ms`}`);
    case 'reconnecting': {
      const info = model.reconnect;
      if (info === undefined) return pc.yellow('↻ reconnecting…');
      const left = info.at + info.delayMs - now;
      const when = left > 0 ? ` in ${(left / 1000).toFixed(1)}s` : '';
      const text = `↻ reconnecting${when}… (attempt ${info.attempt}: ${info.reason.message})`;
      return pc.yellow(safe(text));
    }
    case 'closed': {
      const error = model.end?.error;
      if (error === undefined) return pc.dim('■ closed');
      return pc.red(safe(`✖ closed: ${error.message}`));
    }
  }
}

/**
 * A line, colours and all, cut with an ellipsis to fit a terminal `columns` wide, by display
 * width (a CJK character or an emoji takes two columns). The last column stays free, as some
 * terminals wrap a line that fills it. slice-ansi closes the colours it cuts through; it counts
 * by code point, so the result is measured again until it fits.
 */
function fitLine(line: string, columns: number): string {
  const room = Math.max(columns - 1, 2);
  if (stringWidth(line) <= room) return line;
  let end = room - 1;
  let cut = sliceAnsi(line, 0, end);
  while (end > 0 && stringWidth(cut) > room - 1) cut = sliceAnsi(line, 0, --end);
  return `${cut}…`;
}

/** `text` padded with spaces to `width` columns, on the left or on the right. */
function pad(text: string, width: number, side: 'start' | 'end'): string {
  const spaces = ' '.repeat(Math.max(0, width - stringWidth(text)));
  return side === 'start' ? spaces + text : text + spaces;
}

/** What to print after the status: the message, else for a failed task its error. */
function detail(update: TaskUpdate): string {
  if (update.message !== null && update.message !== '') return update.message;
  const error = update.error as { message?: unknown } | string | null | undefined;
  if (typeof error === 'string') return error;
  if (typeof error?.message === 'string') return error.message;
  return '';
}

function taskLine(
  task: BoardTask,
  idWidth: number,
  now: number,
  columns: number,
  safe: (text: string) => string,
): string {
  const update = task.update;
  const label = `  ${pad(safe(String(task.taskId)), idWidth, 'start')}`;
  if (update === undefined) return `${label}  ${pc.dim(`${'·'.repeat(BAR_WIDTH)}     –  waiting`)}`;
  const color = STATUS_COLORS[update.status] ?? ((text: string) => text);
  const progress = update.progress ?? (update.status === 'completed' ? 100 : 0);
  const filled = Math.round((Math.min(100, Math.max(0, progress)) / 100) * BAR_WIDTH);
  const bar = color('█'.repeat(filled)) + pc.dim('░'.repeat(BAR_WIDTH - filled));
  const percent = update.progress === null ? '   –' : `${Math.round(update.progress)}%`.padStart(4);
  const elapsed = formatElapsed((task.endedAt ?? now) - (task.firstSeenAt ?? now)).padStart(6);
  const status = pad(safe(update.status), 9, 'end');
  const head = `${label}  ${bar}  ${percent}  ${color(status)}  ${elapsed}`;
  const message = safe(detail(update));
  // A message with room for only a few characters is left out rather than shown as `ab…`.
  if (message === '' || columns - 1 - stringWidth(head) - 2 < 8) return head;
  return `${head}  ${pc.dim(message)}`;
}

function footer(model: LiveModel): string {
  const end = model.end;
  if (end !== undefined) return endLine(end);
  const when = model.exitWhenDone;
  if (when === undefined) return pc.dim('Ctrl-C to stop');
  const what =
    when.length === 0
      ? 'every task seen is done'
      : when.length === 1
        ? `task ${printable(when[0] ?? '')} is done`
        : `tasks ${printable(when.join(', '))} are done`;
  return pc.dim(`exits when ${what} · Ctrl-C to stop`);
}

function endLine(end: WatchEnd): string {
  const counts = new Map<string, number>();
  for (const task of end.tasks) {
    const status = task.status ?? 'unseen';
    counts.set(status, (counts.get(status) ?? 0) + 1);
  }
  const summary = [...counts].map(([status, count]) => `${count} ${printable(status)}`).join(', ');
  const tail = `${summary === '' ? 'no tasks' : summary} (exit ${end.exitCode})`;
  switch (end.reason) {
    case 'tasks-done':
      return (end.exitCode === 0 ? pc.green : pc.red)(`done: ${tail}`);
    case 'interrupted':
    case 'terminated':
    case 'output-closed':
    case 'output-failed':
      return pc.yellow(`stopped: ${tail}`);
    case 'connection-failed':
      return `${pc.red(`connection failed: ${tail}`)}\n${pc.dim(DOCTOR_HINT)}`;
  }
}

/** `950ms` → `0.9s`, `75s` → `1m15s`, `3700s` → `1h01m`. */
export function formatElapsed(ms: number): string {
  const seconds = Math.max(0, ms) / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(Math.floor(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}
