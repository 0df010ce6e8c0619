// @vitest-environment happy-dom
import { act, cleanup, render, screen, waitFor } from '@testing-library/react';
import * as fc from 'fast-check';
import { Component, type ReactNode, StrictMode } from 'react';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { TaskStatusProvider, useTask, useTaskStatus } from '../src/react/index.js';
import type { TaskStatusServer } from '../src/testing/index.js';
import {
  type AppModel,
  type AppWorld,
  command,
  expectShown,
  identity,
  note,
  optionsOf,
  sharedCommands,
  startModelServer,
  TASKS,
  type TokenKind,
  USERS,
} from './helpers/bindings-model.js';
import { collectUncaught, modelRuns } from './helpers/model-runs.js';
import { watchTimers } from './helpers/timers.js';

/**
 * A model-based test of the React bindings: random sequences of what an app does over its life
 * (options changing, sign-out and sign-in, components coming and going) and of what the server
 * does (updates, drops, refusals, restarts), against the testing kit's real server. After each
 * step settles, the server's view of the sockets and what the components show must match the
 * props the provider was last given.
 */

/** The React app's props: the shared ones, and the error boundary's remount. */
interface Model extends AppModel {
  /** Bumped to remount the error boundary (and the provider) after an invalid token. */
  boundary: number;
}

let server: TaskStatusServer;
const violations: string[] = [];

beforeAll(async () => {
  server = await startModelServer();
});

afterAll(async () => {
  await server.close();
});

/** The client the provider holds, as its children last saw it. */
let heldClient: unknown;

function ClientProbe() {
  heldClient = useTaskStatus().client;
  return null;
}

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
        <TaskStatusProvider options={optionsOf(server, m)}>
          <ClientProbe />
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
class World implements AppWorld<Model> {
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
    const named = (m: Model) => `${m.mounted} ${identity(m)}`;
    if (named(before) !== named(this.m)) this.m.refused = false;
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
        expectShown(server, this, (part) => screen.getByTestId(part).textContent, m.mounted);
        if (m.mounted && m.tokenKind === 'none') {
          expect(screen.getByTestId('boundary').textContent).toBe('INVALID_OPTIONS');
        }
      },
      { timeout: 3_000, interval: 5 },
    );
  }
}

const step = command<Model, World>;

const commands = [
  fc.constantFrom(...USERS).map((userId) =>
    step(
      `user ${userId}`,
      () => true,
      (w) => w.update({ userId }),
    ),
  ),
  fc.constantFrom<TokenKind>('string', 'function', 'none').map((tokenKind) =>
    step(
      `token ${tokenKind}`,
      () => true,
      (w) => w.update({ tokenKind, tokenVersion: w.m.tokenVersion + 1 }),
    ),
  ),
  fc.constantFrom<0 | 1>(0, 1).map((baseUrl) =>
    step(
      `baseUrl ${baseUrl}`,
      () => true,
      (w) => w.update({ baseUrl }),
    ),
  ),
  fc.constant(
    step(
      'rerender with equal options',
      () => true,
      async (w) => {
        const client = heldClient;
        const open = [...server.clients];
        w.update({});
        // act() ran the rerender's effects: a provider that replaced its client has done so.
        expect(heldClient).toBe(client);
        // And a socket replaced by the same client would show on the server once it settles.
        await w.settle();
        expect(server.clients.length).toBe(open.length);
        for (const [i, socket] of server.clients.entries()) expect(socket).toBe(open[i]);
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
      step(
        `burst ${JSON.stringify(changes)}`,
        () => true,
        (w) => {
          // Renders back to back, within the tick a released client waits before it closes.
          for (const change of changes) w.update(change);
        },
      ),
    ),
  ...sharedCommands<Model, World>(() => server),
];

it('keeps one socket with the latest props and shows the latest data, whatever the app does', async () => {
  const timers = watchTimers();
  const warnings: unknown[][] = [];
  const { error, warn } = console;
  console.error = (...args: unknown[]) => {
    // React's report of the INVALID_OPTIONS the boundary caught is expected.
    const caught = args.some((a) => (a as { code?: unknown } | null)?.code === 'INVALID_OPTIONS');
    if (!caught) warnings.push(args);
  };
  console.warn = (...args: unknown[]) => warnings.push(args);
  try {
    await collectUncaught(async (uncaught) => {
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
      expect(uncaught).toEqual([]);
    });
    expect(warnings).toEqual([]);
  } finally {
    console.error = error;
    console.warn = warn;
  }
}, 120_000);
