import { Writable } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import { createScrubber } from '../../src/cli/secrets.js';
import {
  createLiveView,
  formatElapsed,
  type LiveModel,
  renderLiveView,
} from '../../src/cli/watch/live-view.js';
import { createNdjsonReporter } from '../../src/cli/watch/ndjson-reporter.js';
import { TaskBoard } from '../../src/cli/watch/task-board.js';
import { TaskStatusError, type TaskUpdate } from '../../src/index.js';

function update(
  taskId: number,
  status: string,
  progress: number | null,
  message: string | null = null,
): TaskUpdate {
  return { taskId, status, progress, message, result: null, error: null, updatedAt: null };
}

function model(board: TaskBoard, patch: Partial<LiveModel> = {}): LiveModel {
  return {
    title: 'task-status watch · user 2',
    url: 'ws://h/api/v1/ws/tasks/2?token=***',
    board,
    exitWhenDone: undefined,
    state: 'open',
    reconnect: undefined,
    rttMs: undefined,
    end: undefined,
    ...patch,
  };
}

/** The view without colours: picocolors turns them on when CI is set, even off a terminal. */
function render(model: LiveModel, now: number, columns: number): string {
  return stripVTControlCharacters(renderLiveView(model, now, columns, (text) => text));
}

/** A terminal `columns` wide that keeps what is drawn on it. */
function terminal(columns: number): Writable & { columns: number; text(): string } {
  let written = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      written += String(chunk);
      done();
    },
  });
  return Object.assign(stream, { columns, text: () => stripVTControlCharacters(written) });
}

describe('the live view of watch', () => {
  it('draws a line per task with a progress bar, percent, status, elapsed time and message', () => {
    const board = new TaskBoard([]);
    board.apply(update(1, 'running', 40, 'Step 2 of 4'), 1_000);
    board.apply(update(12, 'completed', 100, 'Done'), 1_000);
    board.apply(update(12, 'completed', 100, 'Done'), 1_000);
    const text = render(model(board), 3_500, 100);
    expect(text.split('\n')).toEqual([
      'task-status watch · user 2 · ws://h/api/v1/ws/tasks/2?token=***',
      '● connected',
      '   1  ████████░░░░░░░░░░░░   40%  running      2.5s  Step 2 of 4',
      '  12  ████████████████████  100%  completed    0.0s  Done',
      'Ctrl-C to stop',
    ]);
  });

  it('shows the reconnect countdown and the reason', () => {
    const board = new TaskBoard([5]);
    const reason = new TaskStatusError(
      'CONNECTION_LOST',
      'Connection closed by server (close 1012)',
    );
    const text = render(
      model(board, {
        state: 'reconnecting',
        reconnect: { attempt: 2, delayMs: 2_400, offline: false, reason, at: 10_000 },
        exitWhenDone: ['5'],
      }),
      10_400,
      100,
    );
    expect(text).toContain(
      '↻ reconnecting in 2.0s… (attempt 2: Connection closed by server (close 1012))',
    );
    expect(text).toContain('  5  ····················     –  waiting');
    expect(text).toContain('exits when task 5 is done · Ctrl-C to stop');
  });

  it('cuts long messages to the terminal width', () => {
    const board = new TaskBoard([]);
    board.apply(update(1, 'running', 10, 'x'.repeat(200)), 0);
    const line = render(model(board), 0, 80).split('\n')[2] ?? '';
    expect(line.length).toBeLessThanOrEqual(80);
    expect(line.endsWith('…')).toBe(true);
  });

  it('cuts every whole line to the terminal width by display width: long ids, CJK, emoji', () => {
    const board = new TaskBoard([]);
    const ids = ['6f1c2b0e-8a4d-4c1e-9b7a-2d3e4f5a6b7c', '任务-七', '🚀-launch'];
    ids.forEach((taskId, index) => {
      const message = index === 0 ? 'x'.repeat(300) : '表情😀'.repeat(40);
      board.apply({ ...update(0, 'running', 30, message), taskId }, 0);
    });
    board.apply({ ...update(0, 'ねこ-status', 30, null), taskId: 'n' }, 0);
    for (let columns = 12; columns <= 160; columns++) {
      const lines = render(model(board), 0, columns).split('\n');
      expect(lines).toHaveLength(7);
      for (const line of lines)
        expect(stringWidth(line), `${columns}: ${line}`).toBeLessThan(columns);
    }
    const wide = render(model(board), 0, 120).split('\n');
    expect(wide[2]).toMatch(/^ {2}6f1c2b0e-8a4d-4c1e-9b7a-2d3e4f5a6b7c {2}█/);
    expect(wide[3]).toMatch(/^ {31}任务-七 {2}█+░+ {3}30% {2}running {6}0\.0s {2}表情😀表情.*…$/);
    expect(stringWidth(wide[3] ?? '')).toBeGreaterThanOrEqual(118);
  });

  it('masks a token in a task message before the line is cut, at every width', () => {
    const token = 'SECRETTOKEN-0123456789abcdef';
    const message = `GET /export?token=${token}&page=2 answered 200`;
    for (let columns = 40; columns <= 140; columns++) {
      const screen = terminal(columns);
      const board = new TaskBoard([]);
      const view = createLiveView(screen, model(board), createScrubber(token));
      const running = update(1, 'running', 30, message);
      board.apply(running, 0);
      view.task(running, board);
      view.end({ exitCode: 130, reason: 'interrupted', tasks: board.outcomes(), error: undefined });
      const shown = screen.text();
      for (let length = 4; length <= token.length; length++) {
        expect(shown, `${columns} columns`).not.toContain(token.slice(0, length));
      }
    }
  });

  it("masks the token raw, percent-encoded, as the URL carries it (!'()* encoded) and JSON-escaped", () => {
    const scrub = createScrubber(`it's(my)"tok"!*+/`);
    const forms = [
      `it's(my)"tok"!*+/`,
      `it's(my)%22tok%22!*%2B%2F`,
      'it%27s%28my%29%22tok%22%21%2A%2B%2F',
      `it's(my)\\"tok\\"!*+/`,
    ];
    expect(forms.map((form) => scrub(`a ${form} b`))).toEqual(forms.map(() => 'a *** b'));
  });

  it('masks the token with characters past ASCII as Python writes it in JSON (\\uXXXX)', () => {
    const scrub = createScrubber('tøkén-😀-1234');
    expect(scrub('{"detail": "bad t\\u00f8k\\u00e9n-\\ud83d\\ude00-1234"}')).toBe(
      '{"detail": "bad ***"}',
    );
  });

  it('masks in NDJSON a token that a task message holds JSON-escaped, as Python writes it', () => {
    const token = 'tøkén-"q"-😀-1234';
    const lines: string[] = [];
    const reporter = createNdjsonReporter((line) => lines.push(line), createScrubber(token));
    const pythonJson = '{"token": "t\\u00f8k\\u00e9n-\\"q\\"-\\ud83d\\ude00-1234"}';
    for (const message of [pythonJson, JSON.stringify({ token }), `raw ${token}`]) {
      reporter.task(update(1, 'running', 5, message), new TaskBoard([]));
    }
    const messages = lines.map((line) => (JSON.parse(line) as { message: string }).message);
    expect(messages).toEqual(['{"token": "***"}', '{"token":"***"}', 'raw ***']);
  });

  it('formats elapsed times from tenths of seconds to hours', () => {
    expect([950, 75_000, 3_700_000].map(formatElapsed)).toEqual(['0.9s', '1m15s', '1h01m']);
  });
});

describe('TaskBoard', () => {
  it('with --task ids follows only those and is done when all of them are terminal', () => {
    const board = new TaskBoard([1, 'b']);
    expect(board.apply(update(3, 'completed', 100), 0)).toBe(false);
    board.apply(update(1, 'completed', 100), 0);
    expect(board.done).toBe(false);
    board.apply({ ...update(0, 'cancelled', null), taskId: 'b' }, 0);
    expect([board.done, board.allCompleted]).toEqual([true, false]);
  });

  it('without ids is done once at least one task was seen and every seen task is terminal', () => {
    const board = new TaskBoard([]);
    expect(board.done).toBe(false);
    board.apply(update(1, 'pending', 0), 0);
    board.apply(update(2, 'completed', 100), 0);
    expect(board.done).toBe(false);
    board.apply(update(1, 'completed', 100), 0);
    expect([board.done, board.allCompleted]).toEqual([true, true]);
  });

  it('matches 42 and "42" as the same task', () => {
    const board = new TaskBoard([42]);
    expect(board.apply({ ...update(0, 'running', 1), taskId: '42' }, 0)).toBe(true);
    expect(board.tasks).toHaveLength(1);
  });
});
