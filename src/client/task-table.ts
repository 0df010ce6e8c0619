import { compareDateTimes } from '../protocol/date-time.js';
import type { TaskId, TaskUpdate } from '../protocol/types.js';

/** Counters of what the task table did with the updates it was given. */
export interface TaskTableStats {
  /** Updates applied (and emitted). */
  readonly applied: number;
  /** Updates ignored as older than, or an exact copy of, the one held. */
  readonly stale: number;
}

/**
 * The latest update per task. An update older than the one held (by `updatedAt`, when both
 * have it) or an exact duplicate is refused and counted as stale.
 */
export class TaskTable<T extends TaskUpdate> {
  /** Made on first use: a client that has seen no update holds no map. */
  #view: Map<TaskId, T> | undefined;
  #applied = 0;
  #stale = 0;

  /**
   * Read-only map of the latest update per task id, keyed as the server first sent the id (`7`
   * and `'7'` are one task).
   */
  get tasks(): ReadonlyMap<TaskId, T> {
    this.#view ??= new Map();
    return this.#view;
  }

  get stats(): TaskTableStats {
    return { applied: this.#applied, stale: this.#stale };
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
    return true;
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

/** Older than the held update (when both carry `updatedAt`), or an exact copy of it. */
function isStale(held: TaskUpdate, next: TaskUpdate): boolean {
  if (held.updatedAt !== null && next.updatedAt !== null) {
    const order = compareDateTimes(next.updatedAt, held.updatedAt);
    if (order < 0) return true;
    if (order > 0) return false;
  }
  return sameUpdate(held, next);
}

/** Exact-duplicate test: cheap fields first, payloads only when all else matches. */
function sameUpdate(a: TaskUpdate, b: TaskUpdate): boolean {
  return (
    a.status === b.status &&
    a.progress === b.progress &&
    a.message === b.message &&
    a.updatedAt === b.updatedAt &&
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
