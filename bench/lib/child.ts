/**
 * Child processes for the benchmarks: every measured program runs in a fresh Node process
 * (`node --import tsx`), talks to its parent over IPC, and ends by itself — when it is done,
 * when its parent goes away, or at a hard deadline.
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { platform, setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';

/** The repository root, where `--import tsx` resolves. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A message between a bench process and its parent: `type` names it. */
export interface BenchMessage {
  readonly type: string;
  readonly [field: string]: unknown;
}

/**
 * Scheduling priority (nice value) for processes whose timing is measured: on a shared machine,
 * other work would otherwise deschedule them and bunch or stretch what they observe.
 */
export const MEASURED_PRIORITY = -10;

/** A running bench process and a way to wait for its messages. */
export interface Child {
  readonly process: ChildProcess;
  /** Whether the requested priority was applied (raising it needs root or CAP_SYS_NICE). */
  readonly prioritized: boolean;
  /** Resolves with the next message of this type (or rejects if the child exits first). */
  next<T extends BenchMessage>(type: string, timeoutMs?: number): Promise<T>;
  send(message: BenchMessage): void;
  /** Asks the child to stop, then kills it (this child only) if it has not exited after 2 s. */
  stop(): Promise<void>;
}

/**
 * Starts `bench/<file>` in a new Node process with tsx and an IPC channel, at `priority` (a nice
 * value) if given and allowed.
 */
export function startChild(
  file: string,
  args: string[] = [],
  nodeFlags: string[] = [],
  priority?: number,
): Child {
  const child = fork(fileURLToPath(new URL(`../${file}`, import.meta.url)), args, {
    cwd: ROOT,
    execArgv: ['--import', 'tsx', ...nodeFlags],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let prioritized = false;
  if (priority !== undefined && child.pid !== undefined) {
    try {
      setPriority(child.pid, priority);
      prioritized = true;
    } catch {
      // Not permitted: measure at normal priority and say so.
    }
  }
  const inbox: BenchMessage[] = [];
  const waiting = new Set<() => void>();
  let exited = false;
  child.on('message', (message) => {
    inbox.push(message as BenchMessage);
    for (const wake of [...waiting]) wake();
  });
  const exitedPromise = new Promise<void>((resolve) => {
    child.on('exit', () => {
      exited = true;
      for (const wake of [...waiting]) wake();
      resolve();
    });
  });

  return {
    process: child,
    prioritized,
    next<T extends BenchMessage>(type: string, timeoutMs = 60_000): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(check);
          reject(new Error(`${file}: no "${type}" message within ${timeoutMs} ms`));
        }, timeoutMs);
        const check = () => {
          const index = inbox.findIndex((message) => message.type === type);
          if (index >= 0) {
            const [message] = inbox.splice(index, 1);
            clearTimeout(timer);
            waiting.delete(check);
            resolve(message as T);
          } else if (exited) {
            clearTimeout(timer);
            waiting.delete(check);
            const failure = inbox.find((message) => message.type === 'failed');
            reject(
              new Error(
                `${file} exited (code ${child.exitCode}) before "${type}"${failure ? `: ${String((failure as { error?: unknown }).error)}` : ''}`,
              ),
            );
          }
        };
        waiting.add(check);
        check();
      });
    },
    send(message: BenchMessage): void {
      if (child.connected) child.send(message);
    },
    async stop(): Promise<void> {
      if (exited) return;
      if (child.connected) child.send({ type: 'stop' });
      const killer = setTimeout(() => child.kill('SIGKILL'), 2_000);
      await exitedPromise;
      clearTimeout(killer);
    },
  };
}

/**
 * Two CPUs this process may run on, for {@link pinToCpu} to give two processes one each, or
 * `undefined` where that cannot be done: not Linux, no `taskset` (util-linux), or fewer than two
 * CPUs allowed (a container's cpuset may allow CPUs 2 and 3, not 0 and 1).
 */
export function twoCpus(): readonly [number, number] | undefined {
  if (platform() !== 'linux') return undefined;
  let output: string;
  try {
    output = execFileSync('taskset', ['-cp', String(process.pid)], { encoding: 'utf8' });
  } catch {
    return undefined;
  }
  // "pid 42's current affinity list: 0,2,4-7"
  const list = output.slice(output.lastIndexOf(':') + 1).trim();
  const cpus: number[] = [];
  for (const part of list.split(',')) {
    const [first = Number.NaN, last = first] = part.split('-').map(Number);
    for (let cpu = first; cpu <= last && cpus.length < 2; cpu++) cpus.push(cpu);
  }
  const [server, client] = cpus;
  return server === undefined || client === undefined ? undefined : [server, client];
}

/**
 * Binds a child, all of its threads, to one CPU (`taskset -a -p`). Threads it starts later
 * inherit the binding.
 */
export function pinToCpu(child: Child, cpu: number): void {
  const pid = child.process.pid;
  if (pid === undefined) throw new Error('pinToCpu: the child has no pid');
  execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
}

/**
 * For the child side: reports to the parent, exits when the parent leaves or says `stop`, and
 * never outlives `deadlineMs`.
 */
export function asChild(deadlineMs: number): {
  report(message: BenchMessage): void;
  on(type: string, handler: (message: BenchMessage) => void): void;
} {
  if (process.send === undefined) throw new Error('run this through bench/run.ts (needs IPC)');
  const handlers = new Map<string, (message: BenchMessage) => void>();
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message: BenchMessage) => {
    if (message.type === 'stop') process.exit(0);
    handlers.get(message.type)?.(message);
  });
  // unref: the deadline itself must not keep the process alive, nor count as a live timer.
  setTimeout(() => {
    console.error(`bench child ${process.argv[1] ?? ''}: deadline of ${deadlineMs} ms reached`);
    process.exit(3);
  }, deadlineMs).unref();
  process.on('uncaughtException', (error) => {
    process.send?.({ type: 'failed', error: String(error?.stack ?? error) });
    process.exit(1);
  });
  process.on('unhandledRejection', (error) => {
    process.send?.({ type: 'failed', error: String((error as Error)?.stack ?? error) });
    process.exit(1);
  });
  return {
    report(message) {
      process.send?.(message);
    },
    on(type, handler) {
      handlers.set(type, handler);
    },
  };
}
