import { compareDateTimes } from '../protocol/date-time.js';
import type { TaskId, TaskUpdate } from '../protocol/types.js';

/** Counters of what the task table did with the updates it was given. */
export interface TaskTableStats {
  /** Updates applied (and emitted). */
  readonly applied: number;
  /** Updates ignored as older than, or an exact copy of, the one held. */
  readonly stale: number;
  /** Finished tasks dropped from the table to keep it within `maxTasks`. */
  readonly forgotten: number;
}

/** What the table needs of the client's options. */
interface TableLimits {
  readonly maxTasks: number;
  readonly terminalStatuses: ReadonlySet<string>;
}

/**
 * The latest update per task. An update older than the one held (by `updatedAt`, when both
 * have it) or an exact duplicate is refused and counted as stale. Past `maxTasks` tasks, the
 * finished ones first seen longest ago are forgotten.
 */
export class TaskTable<T extends TaskUpdate> {
  /** Made on first use: a client that has seen no update holds no map. */
  #view: Map<TaskId, T> | undefined;
  #applied = 0;
  #stale = 0;
  #forgotten = 0;
  /** The size past which finished tasks are looked for again (see `#forget`). */
  #forgetPast: number;
  readonly #limits: TableLimits;

  constructor(limits: TableLimits) {
    this.#limits = limits;
    this.#forgetPast = limits.maxTasks;
  }

  /**
   * Read-only map of the latest update per task id, keyed as the server first sent the id (`7`
   * and `'7'` are one task).
   */
  get tasks(): ReadonlyMap<TaskId, T> {
    this.#view ??= new Map();
    return this.#view;
  }

  get stats(): TaskTableStats {
    return { applied: this.#applied, stale: this.#stale, forgotten: this.#forgotten };
  }

  /** The latest update of a task; `42` and `'42'` find the same task. */
  get(taskId: TaskId): T | undefined {
    const view = this.#view;
    if (view === undefined) return undefined;
    return view.get(taskId) ?? view.get(heldKey(view, taskId));
  }

  /**
   * Applies an update; returns false when it was stale or a duplicate. An id sent as `7` and
   * later as `'7'` is one task, kept under the form it first came in.
   */
  apply(update: T): boolean {
    this.#view ??= new Map();
    const view = this.#view;
    let key = update.taskId;
    let held = view.get(key);
    if (held === undefined) {
      key = heldKey(view, key);
      held = view.get(key);
    }
    if (held !== undefined && isStale(held, update)) {
      this.#stale++;
      return false;
    }
    view.set(key, update);
    this.#applied++;
    // Only a new task can take the table past its limit.
    if (held === undefined && view.size > this.#forgetPast) this.#forget(view, key);
    return true;
  }

  /**
   * Drops finished tasks, first seen first (a `Map` keeps keys in insertion order), until a
   * tenth of `maxTasks` is free again; never the task just added, nor one still going. When too
   * few have finished, the next look waits for another tenth of new tasks, so that a table full
   * of running tasks is not read through on every new one.
   */
  #forget(view: Map<TaskId, T>, added: TaskId): void {
    const { maxTasks, terminalStatuses } = this.#limits;
    const tenth = Math.max(1, Math.floor(maxTasks / 10));
    for (const [key, update] of view) {
      if (view.size <= maxTasks - tenth) break;
      if (key !== added && terminalStatuses.has(update.status)) {
        view.delete(key);
        this.#forgotten++;
      }
    }
    this.#forgetPast = Math.max(maxTasks, view.size + tenth);
  }
}

/** The other form of a task id (`'42'` for `42`) when a task is held under it, else the id. */
function heldKey(view: ReadonlyMap<TaskId, unknown>, taskId: TaskId): TaskId {
  const other = typeof taskId === 'number' ? String(taskId) : toNumber(taskId);
  return other !== undefined && view.has(other) ? other : taskId;
}

function toNumber(id: string): number | undefined {
  const value = Number(id);
  return Number.isSafeInteger(value) && String(value) === id ? value : undefined;
}

/**
 * Older than the held update (when both carry `updatedAt`), or an exact copy of it. One instant
 * written two ways (`+00:00` and `Z`, as a live frame and an HTTP resync may write it) is one
 * `updatedAt`.
 */
function isStale(held: TaskUpdate, next: TaskUpdate): boolean {
  if (held.updatedAt !== null && next.updatedAt !== null) {
    const order = compareDateTimes(next.updatedAt, held.updatedAt);
    if (order !== 0) return order < 0;
  } else if (held.updatedAt !== next.updatedAt) {
    return false;
  }
  return sameUpdate(held, next);
}

/** Exact-duplicate test of two updates of one time: cheap fields first, payloads last. */
function sameUpdate(a: TaskUpdate, b: TaskUpdate): boolean {
  return (
    a.status === b.status &&
    a.progress === b.progress &&
    a.message === b.message &&
    samePayload(a.result, b.result) &&
    samePayload(a.error, b.error)
  );
}

function samePayload(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  try {
    return JSON.stringify(a) === JSON.stringify(b);
  } catch {
    // Too deep (or cyclic) to compare: call it different rather than throw out of a frame.
    return false;
  }
}
