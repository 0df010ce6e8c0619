/**
 * What the model-based tests of the React and Vue bindings share: the app's props as the model
 * holds them, the testing kit's server that knows a token's user from its name, the options an
 * app gives, what the server and the components must show once a step settles, and the steps
 * that are the same in both frameworks (the server's, sign-out and sign-in, parts toggled).
 */
import * as fc from 'fast-check';
import { expect, vi } from 'vitest';
import NodeWebSocket from 'ws';
import type { TaskStatusClientOptions } from '../../src/index.js';
import { startTaskStatusServer, type TaskStatusServer } from '../../src/testing/index.js';

export const USERS = [2, 3] as const;
export const TASKS = [1, 2] as const;

export type TokenKind = 'string' | 'function' | 'none';

/** The app's props, as the model holds them. */
export interface AppModel {
  /** Signed in: the provider (or layout) is rendered. */
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
}

/** One run's world, as the shared steps drive it. */
export interface AppWorld<M extends AppModel> {
  readonly m: M;
  update(change: Partial<AppModel>): Promise<void> | void;
  /** Whether a live client should be connected now. */
  live(): boolean;
  /** Waits until the server and the components show what the model says. */
  settle(): Promise<void>;
}

/** The testing kit's server, where a token names its user: `u2-…` is user 2's. */
export function startModelServer(): Promise<TaskStatusServer> {
  return startTaskStatusServer({
    tokens: (token, { userId }) =>
      userId !== undefined && token.startsWith(`u${userId}-`) ? Number(userId) : null,
    snapshotOnConnect: true,
  });
}

export function expectedToken(m: AppModel): string {
  return m.tokenKind === 'string' ? `u${m.userId}-s${m.tokenVersion}` : `u${m.userId}-f`;
}

/** A new client comes with a new user, URL or token (a string's value, or its kind). */
export function identity(m: AppModel): string {
  return [m.userId, m.baseUrl, m.tokenKind === 'string' ? expectedToken(m) : m.tokenKind].join();
}

/** The message of user `u`'s updates: a component showing another user's task is caught. */
export const note = (userId: number) => `for u${userId}`;

/** The options the app gives, as new object literals (and a new token function) each time. */
export function optionsOf(server: TaskStatusServer, m: AppModel): TaskStatusClientOptions {
  const fixed = { ...m };
  const token =
    m.tokenKind === 'string'
      ? expectedToken(fixed)
      : m.tokenKind === 'function'
        ? () => expectedToken(fixed)
        : undefined;
  return {
    baseUrl: m.baseUrl === 0 ? server.url : `${server.url}/?app=b`,
    userId: m.userId,
    token: token as string,
    WebSocket: NodeWebSocket,
    heartbeat: { intervalMs: 5_000, timeoutMs: 5_000 },
    // A connection that was accepted has its token refreshed again on a later refusal.
    reconnect: { initialDelayMs: 5, maxDelayMs: 20, stableAfterMs: 1 },
  };
}

/**
 * What must hold once a step settles, the components' texts read by `text`: one open socket
 * with the model's user, token and URL (none when nothing is live), and the badge, list and
 * watcher showing the server's latest data for that user.
 */
export function expectShown(
  server: TaskStatusServer,
  world: AppWorld<AppModel>,
  text: (part: 'badge' | 'list' | 'watcher') => string | null | undefined,
  badgeShown: boolean,
): void {
  const { m } = world;
  const open = server.clients.filter((c) => c.state !== 'closed');
  if (!world.live()) {
    expect(open).toEqual([]);
  } else {
    expect(open.map((c) => [c.state, c.userId, c.token])).toEqual([
      ['open', String(m.userId), expectedToken(m)],
    ]);
    expect(open[0]?.url.includes('app=b')).toBe(m.baseUrl === 1);
  }
  if (badgeShown && m.tokenKind !== 'none' && m.badge) {
    expect(text('badge')).toBe(m.refused ? 'closed AUTH_FAILED' : 'open -');
  }
  if (world.live() && m.list) {
    const ids = server
      .tasks(m.userId)
      .map((t) => String(t.task_id))
      .sort();
    expect(text('list')).toBe(ids.join(','));
  }
  if (world.live() && m.watcher) {
    const latest = server.tasks(m.userId).find((t) => t.task_id === TASKS[0]);
    expect(text('watcher')).toBe(latest ? `${latest.status} ${latest.progress}` : '-');
  }
}

/** A step: `run`, then wait for the world to settle. */
export function command<M extends AppModel, W extends AppWorld<M>>(
  label: string,
  check: (m: M) => boolean,
  run: (w: W) => Promise<void> | void,
): fc.AsyncCommand<M, W> {
  return {
    check,
    async run(_model, w) {
      await run(w);
      await w.settle();
    },
    toString: () => label,
  };
}

/**
 * The steps both frameworks take alike: sign-out and sign-in, parts toggled, the server's. The
 * server is read as each step runs: a test file starts it after it builds its steps.
 */
export function sharedCommands<M extends AppModel, W extends AppWorld<M>>(
  serverOf: () => TaskStatusServer,
): fc.Arbitrary<fc.AsyncCommand<M, W>>[] {
  const step = command<M, W>;
  return [
    fc.constant(
      step(
        'sign out',
        (m) => m.mounted,
        (w) => w.update({ mounted: false }),
      ),
    ),
    fc.constant(
      step(
        'sign in',
        (m) => !m.mounted,
        (w) => w.update({ mounted: true }),
      ),
    ),
    fc.constantFrom('list', 'watcher', 'badge' as const).map((part) =>
      step(
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
        step(
          `push u${user} task ${taskId} ${progress}%`,
          () => true,
          () => {
            serverOf().pushUpdate(user, {
              taskId,
              status: 'running',
              progress,
              message: note(user),
            });
          },
        ),
      ),
    fc.constant(
      step(
        'drop',
        () => true,
        () => serverOf().closeAll(1012),
      ),
    ),
    fc.constant(
      step(
        'refuse the next token',
        (m) => m.mounted && m.tokenKind !== 'none' && !m.refused,
        async (w) => {
          if (!w.live()) return;
          const server = serverOf();
          const before = server.connections.length;
          server.rejectNextAuth('token_expired');
          server.closeAll(1012);
          // The refusal is used up by the reconnect, not left for a later client.
          await vi.waitFor(() =>
            expect(server.connections.slice(before).map((c) => c.state)).toContain('rejected'),
          );
          // A token function is asked again and its second token accepted; a string is final.
          if (w.m.tokenKind === 'string') w.m.refused = true;
        },
      ),
    ),
    fc.constant(
      step(
        'restart',
        () => true,
        () => serverOf().restart({ downtimeMs: 10 }),
      ),
    ),
  ];
}
