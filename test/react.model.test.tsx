// @vitest-environment happy-dom
import { act, cleanup, render, screen, waitFor } from '@testing-library/react';
import * as fc from 'fast-check';
import { Component, type ReactNode, StrictMode } from 'react';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import NodeWebSocket from 'ws';
import type { TaskStatusClientOptions } from '../src/index.js';
import { TaskStatusProvider, useTask, useTaskStatus } from '../src/react/index.js';
import { startTaskStatusServer, type TaskStatusServer } from '../src/testing/index.js';
import { modelRuns } from './helpers/model-runs.js';
import { watchTimers } from './helpers/timers.js';

/**
 * A model-based test of the React bindings: random sequences of what an app does over its life
 * (options changing, sign-out and sign-in, components coming and going) and of what the server
 * does (updates, drops, refusals, restarts), against the testing kit's real server. After each
 * step settles, the server's view of the sockets and what the components show must match the
 * props the provider was last given.
 */

const USERS = [2, 3] as const;
const TASKS = [1, 2] as const;

type TokenKind = 'string' | 'function' | 'none';

/** The app's props, as the model holds them. */
interface Model {
  mounted: boolean;
  userId: number;
  tokenKind: TokenKind;
  /** The string token's version: a change of it is a new token. */
  tokenVersion: number;
  /** Which of two URLs of the same server. */
  baseUrl: 0 | 1;
  list: boolean;
  watcher: boolean;
  badge: boolean;
  /** The server refused the token for good: the client stays closed until it is replaced. */
  refused: boolean;
  /** Bumped to remount the error boundary (and the provider) after an invalid token. */
  boundary: number;
}

let server: TaskStatusServer;
const violations: string[] = [];

beforeAll(async () => {
  server = await startTaskStatusServer({
    // A token names its user: `u2-…` is user 2's.
    tokens: (token, { userId }) =>
      userId !== undefined && token.startsWith(`u${userId}-`) ? Number(userId) : null,
    snapshotOnConnect: true,
  });
});

afterAll(async () => {
  await server.close();
});

function expectedToken(m: Model): string {
  return m.tokenKind === 'string' ? `u${m.userId}-s${m.tokenVersion}` : `u${m.userId}-f`;
}

function baseUrlOf(m: Model): string {
  return m.baseUrl === 0 ? server.url : `${server.url}/?app=b`;
}

function optionsOf(m: Model): TaskStatusClientOptions {
  const token =
    m.tokenKind === 'string'
      ? expectedToken(m)
      : m.tokenKind === 'function'
        ? // A new function on every render, as an inline arrow is.
          () => expectedToken(m)
        : undefined;
  return {
    baseUrl: baseUrlOf(m),
    userId: m.userId,
    token: token as string,
    WebSocket: NodeWebSocket,
    // New object literals on every render, with the same values.
    heartbeat: { intervalMs: 5_000, timeoutMs: 5_000 },
    // A connection that was accepted has its token refreshed again on a later refusal.
    reconnect: { initialDelayMs: 5, maxDelayMs: 20, stableAfterMs: 1 },
  };
}

/** The message of user `u`'s updates: a component showing another user's task is caught. */
const note = (userId: number) => `for u${userId}`;

function Badge() {
  const { state, error } = useTaskStatus();
  return <p data-testid="badge">{`${state} ${error?.code ?? '-'}`}</p>;
}

function List({ userId }: { userId: number }) {
  const { tasks } = useTaskStatus();
  for (const task of tasks.values()) {
    if (task.message !== note(userId)) violations.push(`list shows ${task.message} to u${userId}`);
  }
  return <p data-testid="list">{[...tasks.keys()].sort().join(',')}</p>;
}

function Watcher({ userId }: { userId: number }) {
  const task = useTask(TASKS[0]);
  if (task !== undefined && task.message !== note(userId)) {
    violations.push(`watcher shows ${task.message} to u${userId}`);
  }
  return <p data-testid="watcher">{task ? `${task.status} ${task.progress}` : '-'}</p>;
}

class Boundary extends Component<{ children: ReactNode }, { error: unknown }> {
  override state = { error: undefined as unknown };
  static getDerivedStateFromError(error: unknown) {
    return { error };
  }
  override render() {
    const { error } = this.state;
    if (error === undefined) return this.props.children;
    return <p data-testid="boundary">{(error as { code?: string }).code ?? String(error)}</p>;
  }
}

function App({ m, strict }: { m: Model; strict: boolean }) {
  const tree = (
    <Boundary key={m.boundary}>
      {m.mounted && (
        <TaskStatusProvider options={optionsOf(m)}>
          {m.badge && <Badge />}
          {m.list && <List userId={m.userId} />}
          {m.watcher && <Watcher userId={m.userId} />}
        </TaskStatusProvider>
      )}
    </Boundary>
  );
  return strict ? <StrictMode>{tree}</StrictMode> : tree;
}

/** One run's world: the rendered app and its model. */
class World {
  readonly m: Model = {
    mounted: true,
    userId: 2,
    tokenKind: 'string',
    tokenVersion: 0,
    baseUrl: 0,
    list: true,
    watcher: false,
    badge: true,
    refused: false,
    boundary: 0,
  };
  readonly rerender: (ui: ReactNode) => void;
  readonly unmount: () => void;

  constructor(readonly strict: boolean) {
    const view = render(<App m={{ ...this.m }} strict={strict} />);
    this.rerender = view.rerender;
    this.unmount = view.unmount;
  }

  update(change: Partial<Model>): void {
    const before = { ...this.m };
    Object.assign(this.m, change);
    // A new client comes with a new user, URL or token (a string's value, or its kind).
    const identity = (m: Model) =>
      [
        m.mounted,
        m.userId,
        m.baseUrl,
        m.tokenKind === 'string' ? expectedToken(m) : m.tokenKind,
      ].join();
    if (identity(before) !== identity(this.m)) this.m.refused = false;
    // Leaving an invalid token: the boundary that caught it is mounted afresh.
    if (before.tokenKind === 'none' && this.m.tokenKind !== 'none') this.m.boundary += 1;
    act(() => this.rerender(<App m={{ ...this.m }} strict={this.strict} />));
  }

  /** Whether a live client should be connected now. */
  live(): boolean {
    return this.m.mounted && this.m.tokenKind !== 'none' && !this.m.refused;
  }

  async settle(): Promise<void> {
    const m = this.m;
    await waitFor(
      () => {
        const open = server.clients.filter((c) => c.state !== 'closed');
        if (!this.live()) {
          expect(open).toEqual([]);
        } else {
          expect(open.map((c) => [c.state, c.userId, c.token])).toEqual([
            ['open', String(m.userId), expectedToken(m)],
          ]);
          expect(open[0]?.url.includes('app=b')).toBe(m.baseUrl === 1);
        }
        if (m.mounted && m.tokenKind === 'none') {
          expect(screen.getByTestId('boundary').textContent).toBe('INVALID_OPTIONS');
        }
        if (m.mounted && m.tokenKind !== 'none' && m.badge) {
          expect(screen.getByTestId('badge').textContent).toBe(
            m.refused ? 'closed AUTH_FAILED' : 'open -',
          );
        }
        if (this.live() && m.list) {
          const ids = server
            .tasks(m.userId)
            .map((t) => String(t.task_id))
            .sort();
          expect(screen.getByTestId('list').textContent).toBe(ids.join(','));
        }
        if (this.live() && m.watcher) {
          const latest = server.tasks(m.userId).find((t) => t.task_id === TASKS[0]);
          expect(screen.getByTestId('watcher').textContent).toBe(
            latest ? `${latest.status} ${latest.progress}` : '-',
          );
        }
      },
      { timeout: 3_000, interval: 5 },
    );
  }
}

type Cmd = fc.AsyncCommand<Model, World>;

function command(
  label: string,
  check: (m: Model) => boolean,
  run: (w: World) => Promise<void> | void,
): Cmd {
  return {
    check,
    async run(_model, w) {
      await run(w);
      await w.settle();
    },
    toString: () => label,
  };
}

const commands = [
  fc.constantFrom(...USERS).map((userId) =>
    command(
      `user ${userId}`,
      () => true,
      (w) => w.update({ userId }),
    ),
  ),
  fc.constantFrom<TokenKind>('string', 'function', 'none').map((tokenKind) =>
    command(
      `token ${tokenKind}`,
      () => true,
      (w) => w.update({ tokenKind, tokenVersion: w.m.tokenVersion + 1 }),
    ),
  ),
  fc.constantFrom<0 | 1>(0, 1).map((baseUrl) =>
    command(
      `baseUrl ${baseUrl}`,
      () => true,
      (w) => w.update({ baseUrl }),
    ),
  ),
  fc.constant(
    command(
      'rerender with equal options',
      () => true,
      async (w) => {
        const before = server.connections.length;
        w.update({});
        await new Promise((resolve) => setTimeout(resolve, 5));
        expect(server.connections.length).toBe(before);
      },
    ),
  ),
  fc.constant(
    command(
      'sign out',
      (m) => m.mounted,
      (w) => w.update({ mounted: false }),
    ),
  ),
  fc.constant(
    command(
      'sign in',
      (m) => !m.mounted,
      (w) => w.update({ mounted: true }),
    ),
  ),
  fc.constantFrom('list', 'watcher', 'badge' as const).map((part) =>
    command(
      `toggle ${part}`,
      () => true,
      (w) => w.update({ [part]: !w.m[part] }),
    ),
  ),
  fc
    .record({
      user: fc.constantFrom(...USERS),
      taskId: fc.constantFrom(...TASKS),
      progress: fc.nat(100),
    })
    .map(({ user, taskId, progress }) =>
      command(
        `push u${user} task ${taskId} ${progress}%`,
        () => true,
        () => {
          server.pushUpdate(user, { taskId, status: 'running', progress, message: note(user) });
        },
      ),
    ),
  fc
    .array(
      fc.oneof(
        fc.record({ userId: fc.constantFrom(...USERS) }),
        fc.record({ tokenKind: fc.constantFrom<TokenKind>('string', 'function') }),
        fc.record({ baseUrl: fc.constantFrom<0 | 1>(0, 1) }),
        fc.record({ mounted: fc.boolean() }),
      ),
      { minLength: 2, maxLength: 4 },
    )
    .map((changes) =>
      command(
        `burst ${JSON.stringify(changes)}`,
        () => true,
        (w) => {
          // Renders back to back, within the tick a released client waits before it closes.
          for (const change of changes) w.update(change);
        },
      ),
    ),
  fc.constant(
    command(
      'drop',
      () => true,
      () => server.closeAll(1012),
    ),
  ),
  fc.constant(
    command(
      'refuse the next token',
      (m) => m.mounted && m.tokenKind !== 'none' && !m.refused,
      async (w) => {
        const before = server.connections.length;
        server.rejectNextAuth('token_expired');
        server.closeAll(1012);
        // The refusal is used up by the reconnect, not left for a later client.
        await waitFor(() =>
          expect(server.connections.slice(before).map((c) => c.state)).toContain('rejected'),
        );
        // A token function is asked again and its second token accepted; a string is final.
        if (w.m.tokenKind === 'string') w.m.refused = true;
      },
    ),
  ),
  fc.constant(
    command(
      'restart',
      () => true,
      () => server.restart({ downtimeMs: 10 }),
    ),
  ),
];

it('keeps one socket with the latest props and shows the latest data, whatever the app does', async () => {
  const timers = watchTimers();
  const warnings: unknown[][] = [];
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  process.on('unhandledRejection', onRejection);
  const { error, warn } = console;
  console.error = (...args: unknown[]) => {
    // React's report of the INVALID_OPTIONS the boundary caught is expected.
    const caught = args.some((a) => (a as { code?: unknown } | null)?.code === 'INVALID_OPTIONS');
    if (!caught) warnings.push(args);
  };
  console.warn = (...args: unknown[]) => warnings.push(args);
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.commands(commands, { maxCommands: 14 }),
        async (strict, cmds) => {
          violations.length = 0;
          server.reset();
          const world = new World(strict);
          try {
            await world.settle();
            await fc.asyncModelRun(() => ({ model: world.m, real: world }), cmds);
            expect(violations).toEqual([]);
          } finally {
            act(() => world.unmount());
            cleanup();
            await waitFor(() => expect(server.clients).toEqual([]));
          }
        },
      ),
      modelRuns(25),
    );
    // Everything unmounted: no timer of ours is left.
    await vi.waitFor(() => expect(timers.live()).toBe(0), { timeout: 3_000 });
    expect(warnings).toEqual([]);
    expect(rejections).toEqual([]);
  } finally {
    console.error = error;
    console.warn = warn;
    process.off('unhandledRejection', onRejection);
  }
}, 120_000);
