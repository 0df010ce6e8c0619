// @vitest-environment happy-dom
import * as fc from 'fast-check';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { type App, createApp, defineComponent, h, nextTick, reactive } from 'vue';
import NodeWebSocket from 'ws';
import type { TaskStatusClientOptions } from '../src/index.js';
import { startTaskStatusServer, type TaskStatusServer } from '../src/testing/index.js';
import {
  createTaskStatusPlugin,
  provideTaskStatus,
  useTask,
  useTaskStatus,
} from '../src/vue/index.js';
import { modelRuns } from './helpers/model-runs.js';
import { afterZeroDelayTimers, watchTimers } from './helpers/timers.js';

/**
 * A model-based test of the Vue bindings: random sequences of what an app does over its life
 * (a signed-in layout re-created per user, URL or token, with `:key`; sign-out and sign-in;
 * components coming and going) and of what the server does (updates, drops, refusals,
 * restarts), against the testing kit's real server. Each run uses either the plugin (one user,
 * the client held while any component is mounted) or `provideTaskStatus()` in a layout. After
 * each step settles, the server's view of the sockets and what the components show must match.
 */

const USERS = [2, 3] as const;
const TASKS = [1, 2] as const;

type TokenKind = 'string' | 'function' | 'none';
type Mode = 'plugin' | 'provide';

interface Model {
  readonly mode: Mode;
  /** Signed in: the layout is rendered (with the plugin: the parts may be). */
  mounted: boolean;
  userId: number;
  tokenKind: TokenKind;
  tokenVersion: number;
  baseUrl: 0 | 1;
  list: boolean;
  watcher: boolean;
  badge: boolean;
  /** The server refused the token for good: the client stays closed until it connects anew. */
  refused: boolean;
}

let server: TaskStatusServer;
const violations: string[] = [];
const errors: unknown[] = [];
const warnings: unknown[] = [];

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

function optionsOf(m: Model): TaskStatusClientOptions {
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

const note = (userId: number) => `for u${userId}`;

const Badge = defineComponent({
  setup() {
    const { state, error } = useTaskStatus();
    return () => h('p', { id: 'badge' }, `${state.value} ${error.value?.code ?? '-'}`);
  },
});

const List = defineComponent({
  props: { userId: { type: Number, required: true } },
  setup(props) {
    const { tasks } = useTaskStatus();
    return () => {
      for (const task of tasks.value.values()) {
        if (task.message !== note(props.userId)) {
          violations.push(`list shows ${task.message} to u${props.userId}`);
        }
      }
      return h('p', { id: 'list' }, [...tasks.value.keys()].sort().join(','));
    };
  },
});

const Watcher = defineComponent({
  props: { userId: { type: Number, required: true } },
  setup(props) {
    const task = useTask(TASKS[0]);
    return () => {
      const t = task.value;
      if (t !== undefined && t.message !== note(props.userId)) {
        violations.push(`watcher shows ${t.message} to u${props.userId}`);
      }
      return h('p', { id: 'watcher' }, t ? `${t.status} ${t.progress}` : '-');
    };
  },
});

function parts(m: Model) {
  return [
    m.badge ? h(Badge) : null,
    m.list ? h(List, { userId: m.userId }) : null,
    m.watcher ? h(Watcher, { userId: m.userId }) : null,
  ];
}

/** The signed-in layout of `provide` mode: it reads its options once, so it is keyed by them. */
const Layout = defineComponent({
  props: { m: { type: Object as () => Model, required: true } },
  setup(props) {
    provideTaskStatus({ options: optionsOf(props.m) });
    return () => h('div', parts(props.m));
  },
});

function identity(m: Model): string {
  return [m.userId, m.baseUrl, m.tokenKind === 'string' ? expectedToken(m) : m.tokenKind].join();
}

class World {
  readonly m: Model;
  readonly app: App;
  readonly root = document.createElement('div');
  /** The current layout's INVALID_OPTIONS has reached the error handler. */
  invalidReported = false;

  constructor(mode: Mode, tokenKind: 'string' | 'function') {
    const m = reactive<Model>({
      mode,
      mounted: true,
      userId: 2,
      tokenKind,
      tokenVersion: 0,
      baseUrl: 0,
      list: true,
      watcher: false,
      badge: true,
      refused: false,
    });
    this.m = m;
    const Root = defineComponent({
      setup() {
        return () => {
          if (!m.mounted) return h('p', 'signed out');
          if (mode === 'plugin') return h('div', parts(m));
          return h(Layout, { m: { ...m }, key: identity(m) });
        };
      },
    });
    this.app = createApp(Root);
    if (mode === 'plugin') this.app.use(createTaskStatusPlugin({ options: optionsOf(m) }));
    this.app.config.errorHandler = (error) => {
      errors.push(error);
    };
    this.app.config.warnHandler = (message) => {
      warnings.push(message);
    };
    document.body.append(this.root);
    this.app.mount(this.root);
  }

  /** Whether anything holds the client. */
  held(): boolean {
    const m = this.m;
    if (!m.mounted) return false;
    return m.mode === 'provide' || m.badge || m.list || m.watcher;
  }

  live(): boolean {
    return this.held() && this.m.tokenKind !== 'none' && !this.m.refused;
  }

  /** Applies the changes in one render. */
  async update(...changes: Partial<Model>[]): Promise<void> {
    const m = this.m;
    const before = { identity: identity(m), held: this.held() };
    for (const change of changes) Object.assign(m, change);
    // A new layout (a new client), or the plugin's client let go and connected again.
    if (identity(m) !== before.identity || this.held() !== before.held) {
      m.refused = false;
      this.invalidReported = false;
    }
    await nextTick();
  }

  async settle(): Promise<void> {
    const m = this.m;
    // A let-go client is closed a tick after its last holder.
    await afterZeroDelayTimers();
    await vi.waitFor(
      () => {
        const open = server.clients.filter((c) => c.state !== 'closed');
        const text = (id: string) => this.root.querySelector(`#${id}`)?.textContent;
        if (!this.live()) {
          expect(open).toEqual([]);
        } else {
          expect(open.map((c) => [c.state, c.userId, c.token])).toEqual([
            ['open', String(m.userId), expectedToken(m)],
          ]);
          expect(open[0]?.url.includes('app=b')).toBe(m.baseUrl === 1);
        }
        if (this.held() && m.tokenKind !== 'none' && m.badge) {
          expect(text('badge')).toBe(m.refused ? 'closed AUTH_FAILED' : 'open -');
        }
        if (this.live() && m.list) {
          const ids = server
            .tasks(m.userId)
            .map((t) => String(t.task_id))
            .sort();
          expect(text('list')).toBe(ids.join(','));
        }
        if (this.live() && m.watcher) {
          const latest = server.tasks(m.userId).find((t) => t.task_id === TASKS[0]);
          expect(text('watcher')).toBe(latest ? `${latest.status} ${latest.progress}` : '-');
        }
        if (this.held() && m.tokenKind === 'none' && !this.invalidReported) {
          expect(errors.map((e) => (e as { code?: string }).code)).toContain('INVALID_OPTIONS');
        }
      },
      { timeout: 3_000, interval: 5 },
    );
    if (this.held() && m.tokenKind === 'none') this.invalidReported = true;
    else expect(errors).toEqual([]);
    errors.length = 0;
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

/** Changes only a layout of `provide` mode can follow: it is re-created with them. */
const provides = (m: Model) => m.mode === 'provide';

const commands = [
  fc
    .constantFrom(...USERS)
    .map((userId) => command(`user ${userId}`, provides, (w) => w.update({ userId }))),
  fc
    .constantFrom<TokenKind>('string', 'function', 'none')
    .map((tokenKind) =>
      command(`token ${tokenKind}`, provides, (w) =>
        w.update({ tokenKind, tokenVersion: w.m.tokenVersion + 1 }),
      ),
    ),
  fc
    .constantFrom<0 | 1>(0, 1)
    .map((baseUrl) => command(`baseUrl ${baseUrl}`, provides, (w) => w.update({ baseUrl }))),
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
    .record({
      sameRender: fc.boolean(),
      changes: fc.array(
        fc.oneof(
          fc.record({ userId: fc.constantFrom(...USERS) }),
          fc.record({ tokenKind: fc.constantFrom<TokenKind>('string', 'function') }),
          fc.record({ baseUrl: fc.constantFrom<0 | 1>(0, 1) }),
          fc.record({ mounted: fc.boolean() }),
          fc.record({ list: fc.boolean(), badge: fc.boolean() }),
        ),
        { minLength: 2, maxLength: 4 },
      ),
    })
    .map(({ sameRender, changes }) =>
      command(
        `burst ${sameRender ? 'in one render' : 'in one tick'} ${JSON.stringify(changes)}`,
        provides,
        async (w) => {
          // Back to back, within the tick a released client waits before it closes.
          if (sameRender) await w.update(...changes);
          else for (const change of changes) await w.update(change);
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
        if (!w.live()) return;
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
    command(
      'restart',
      () => true,
      () => server.restart({ downtimeMs: 10 }),
    ),
  ),
];

it('keeps one socket with the latest options and shows the latest data, whatever the app does', async () => {
  const timers = watchTimers();
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  process.on('unhandledRejection', onRejection);
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<Mode>('plugin', 'provide'),
        fc.constantFrom<'string' | 'function'>('string', 'function'),
        fc.commands(commands, { maxCommands: 14 }),
        async (mode, tokenKind, cmds) => {
          violations.length = 0;
          errors.length = 0;
          server.reset();
          const world = new World(mode, tokenKind);
          try {
            await world.settle();
            await fc.asyncModelRun(() => ({ model: world.m, real: world }), cmds);
            expect(violations).toEqual([]);
          } finally {
            world.app.unmount();
            world.root.remove();
            await vi.waitFor(() => expect(server.clients).toEqual([]));
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
    process.off('unhandledRejection', onRejection);
  }
}, 120_000);
