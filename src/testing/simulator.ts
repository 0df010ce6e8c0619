/**
 * Task simulation for demos and soak-style tests: tasks that go pending → running (progress
 * steps) → completed, some of them failing, on a jittered schedule.
 */

import type { Complete } from 'task-status-client';
import { Timer } from '../client/timers.js';
import { checkUserId, invalid, MAX_DELAY_MS } from './checks.js';
import type { TaskUpdateInput, UserId } from './types.js';

/** What to simulate. Only `userId` is required. */
export interface SimulationOptions {
  /** The user whose tasks these are. */
  userId: UserId;
  /**
   * How many tasks.
   * @default 5
   */
  tasks?: number | undefined;
  /**
   * Id of the first task; the others follow (a repeated run continues after the last id).
   * @default 1
   */
  firstTaskId?: number | undefined;
  /**
   * How many of the tasks fail, halfway through. They are spread evenly (with the defaults, the
   * third task fails).
   * @default 1
   */
  failures?: number | undefined;
  /**
   * `running` updates per task before it completes (progress 20, 40, 60, 80 for 4).
   * @default 4
   */
  progressSteps?: number | undefined;
  /**
   * Shortest time between two updates of a task.
   * @default 200
   */
  minStepMs?: number | undefined;
  /**
   * Longest time between two updates of a task. With the defaults every task is done within
   * about 4 s.
   * @default 400
   */
  maxStepMs?: number | undefined;
  /**
   * Random source in [0, 1) for the step times; inject one for repeatable runs.
   * @default Math.random
   */
  random?: (() => number) | undefined;
}

/** Default simulation settings. */
export const SIMULATION_DEFAULTS = Object.freeze({
  tasks: 5,
  firstTaskId: 1,
  failures: 1,
  progressSteps: 4,
  minStepMs: 200,
  maxStepMs: 400,
});

/** A running (or finished) simulation. */
export interface Simulation {
  /** The ids of the simulated tasks. */
  readonly taskIds: readonly number[];
  /** True until every task has finished or `stop()` was called. */
  readonly running: boolean;
  /** Resolves once every task has completed or failed, or the simulation was stopped. */
  readonly done: Promise<void>;
  /** Stops sending updates; idempotent. */
  stop(): void;
}

/** Simulation options after `resolveSimulation`: every field present and checked. */
export type ResolvedSimulation = Complete<SimulationOptions>;

const KEYS = new Set(['userId', ...Object.keys(SIMULATION_DEFAULTS), 'random']);

/** Checks simulation options and fills in defaults. */
export function resolveSimulation(options: SimulationOptions): ResolvedSimulation {
  if (typeof options !== 'object' || options === null) {
    throw invalid('simulate', 'must be an object with a userId');
  }
  for (const key of Object.keys(options)) {
    if (!KEYS.has(key)) {
      throw invalid(`simulate.${key}`, `is not a known option; known: ${[...KEYS].join(', ')}`);
    }
  }
  const { userId } = options;
  checkUserId(userId, 'simulate.userId');
  const d = SIMULATION_DEFAULTS;
  const tasks = integer(options.tasks, 'tasks', d.tasks, 1);
  const failures = integer(options.failures, 'failures', d.failures, 0);
  if (failures > tasks) throw invalid('simulate.failures', `must be at most tasks (${tasks})`);
  const minStepMs = integer(options.minStepMs, 'minStepMs', d.minStepMs, 0, MAX_DELAY_MS);
  const maxStepMs = integer(options.maxStepMs, 'maxStepMs', d.maxStepMs, 0, MAX_DELAY_MS);
  if (maxStepMs < minStepMs) throw invalid('simulate.maxStepMs', 'must be at least minStepMs');
  const random = options.random ?? Math.random;
  if (typeof random !== 'function') throw invalid('simulate.random', 'must be a function');
  return Object.freeze({
    userId,
    tasks,
    firstTaskId: integer(options.firstTaskId, 'firstTaskId', d.firstTaskId, 0),
    failures,
    progressSteps: integer(options.progressSteps, 'progressSteps', d.progressSteps, 1),
    minStepMs,
    maxStepMs,
    random,
  });
}

/**
 * Starts a simulation that hands each update to `push`. Every task is announced `pending` at
 * once; task N starts running after about N + 1 steps, so they overlap the way real jobs do.
 */
export function startSimulation(
  push: (userId: UserId, update: TaskUpdateInput) => void,
  options: ResolvedSimulation,
): Simulation {
  const { tasks, firstTaskId, userId } = options;
  const taskIds = Array.from({ length: tasks }, (_, index) => firstTaskId + index);
  const failing = failingIndexes(tasks, options.failures);
  const timers = taskIds.map(() => new Timer());
  let remaining = tasks;
  let running = true;
  let resolve!: () => void;
  const done = new Promise<void>((res) => {
    resolve = res;
  });
  const step = () =>
    Math.round(options.minStepMs + options.random() * (options.maxStepMs - options.minStepMs));
  const finish = () => {
    if (!running) return;
    running = false;
    for (const timer of timers) timer.clear();
    resolve();
  };
  taskIds.forEach((taskId, index) => {
    const script = taskScript(taskId, options.progressSteps, failing.has(index));
    const timer = timers[index] as Timer;
    const next = (position: number) => {
      const update = script[position] as TaskUpdateInput;
      push(userId, update);
      if (position + 1 < script.length) timer.start(step(), () => next(position + 1));
      else if (--remaining === 0) finish();
    };
    push(userId, { taskId, status: 'pending', progress: 0, message: 'Queued' });
    // Capped: a timer told to wait longer than it can fires at once.
    timer.start(Math.min(step() * (index + 1), MAX_DELAY_MS), () => next(0));
  });
  return {
    taskIds,
    get running() {
      return running;
    },
    done,
    stop: finish,
  };
}

/** The updates of one task after `pending`: running steps, then completed or failed. */
function taskScript(taskId: number, steps: number, fails: boolean): TaskUpdateInput[] {
  const script: TaskUpdateInput[] = [];
  const failAt = Math.max(1, Math.ceil(steps / 2));
  for (let k = 1; k <= steps; k++) {
    const progress = Math.round((100 * k) / (steps + 1));
    script.push({ taskId, status: 'running', progress, message: `Step ${k} of ${steps}` });
    if (fails && k === failAt) {
      script.push({
        taskId,
        status: 'failed',
        progress,
        message: `Failed at step ${k} of ${steps}`,
        error: { code: 'simulated_failure', message: `Task ${taskId} failed (simulated)` },
      });
      return script;
    }
  }
  script.push({
    taskId,
    status: 'completed',
    progress: 100,
    message: 'Done',
    result: { output: `task-${taskId}.json` },
  });
  return script;
}

/** `count` task indexes out of `tasks`, spread evenly (1 of 5 → index 2). */
function failingIndexes(tasks: number, count: number): Set<number> {
  const indexes = new Set<number>();
  for (let i = 0; i < count; i++) indexes.add(Math.floor(((i + 1) * tasks) / (count + 1)));
  // Rounding can collide for dense failures; fill from the end so the count is exact.
  for (let index = tasks - 1; indexes.size < count; index--) indexes.add(index);
  return indexes;
}

function integer(
  value: unknown,
  name: string,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw invalid(`simulate.${name}`, `must be an integer ${range}, got ${String(value)}`);
  }
  return value;
}
