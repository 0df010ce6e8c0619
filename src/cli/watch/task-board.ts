import { type TaskId, type TaskUpdate, TERMINAL_STATUSES } from '../../index.js';

/** One line of the board: a task's latest update and when this process first and last saw it. */
export interface BoardTask {
  /** The id as the user gave it (`--task`) or as the server first sent it. */
  readonly taskId: TaskId;
  /** The latest update, or `undefined` for a `--task` not heard of yet. */
  readonly update: TaskUpdate | undefined;
  /** `Date.now()` of the first update seen for this task. */
  readonly firstSeenAt: number | undefined;
  /** `Date.now()` of the update that made the task terminal. */
  readonly endedAt: number | undefined;
}

/** The final status of each task, for the exit summary. */
export interface TaskOutcome {
  readonly taskId: TaskId;
  readonly status: string | null;
}

const TERMINAL: ReadonlySet<string> = new Set(TERMINAL_STATUSES);

/**
 * The tasks `watch` follows and when it is done. With `--task` ids, exactly those tasks, in the
 * order given; without, every task the server reports, in the order first seen.
 *
 * "Done" (for `--exit-on-done`): every listed task is terminal; or, with no list, at least one
 * task was seen and every task seen so far is terminal.
 */
export class TaskBoard {
  readonly #tasks = new Map<string, BoardTask>();
  readonly #fixed: boolean;

  constructor(taskIds: readonly TaskId[]) {
    this.#fixed = taskIds.length > 0;
    for (const taskId of taskIds) {
      this.#tasks.set(String(taskId), {
        taskId,
        update: undefined,
        firstSeenAt: undefined,
        endedAt: undefined,
      });
    }
  }

  /** Records an update; returns false for a task this board does not follow. */
  apply(update: TaskUpdate, now: number): boolean {
    const key = String(update.taskId);
    const known = this.#tasks.get(key);
    if (known === undefined && this.#fixed) return false;
    const terminal = TERMINAL.has(update.status);
    this.#tasks.set(key, {
      taskId: known?.taskId ?? update.taskId,
      update,
      firstSeenAt: known?.firstSeenAt ?? now,
      endedAt: terminal ? (known?.endedAt ?? now) : undefined,
    });
    return true;
  }

  /** The followed tasks, in order. */
  get tasks(): readonly BoardTask[] {
    return [...this.#tasks.values()];
  }

  /** True when every followed task has reached a terminal status (see the class comment). */
  get done(): boolean {
    if (this.#tasks.size === 0) return false;
    for (const task of this.#tasks.values()) {
      if (task.update === undefined || !TERMINAL.has(task.update.status)) return false;
    }
    return true;
  }

  /** True when every followed task is `completed`. */
  get allCompleted(): boolean {
    return (
      this.#tasks.size > 0 &&
      [...this.#tasks.values()].every((task) => task.update?.status === 'completed')
    );
  }

  /** Each task's final (or latest) status. */
  outcomes(): TaskOutcome[] {
    return this.tasks.map((task) => ({ taskId: task.taskId, status: task.update?.status ?? null }));
  }
}
