// @vitest-environment happy-dom
import * as fc from 'fast-check';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { type App, createApp, defineComponent, h, nextTick, reactive } from 'vue';
import type { TaskStatusServer } from '../src/testing/index.js';
import {
  createTaskStatusPlugin,
  provideTaskStatus,
  useTask,
  useTaskStatus,
} from '../src/vue/index.js';
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
import { afterZeroDelayTimers, watchTimers } from './helpers/timers.js';

/**
 * A model-based test of the Vue bindings: random sequences of what an app does over its life
 * (a signed-in layout re-created per user, URL or token, with `:key`; sign-out and sign-in;
 * components coming and going) and of what the server does (updates, drops, refusals,
 * restarts), against the testing kit's real server. Each run uses either the plugin (one user,
 * the client held while any component is mounted) or `provideTaskStatus()` in a layout. After
 * each step settles, the server's view of the sockets and what the components show must match.
 */

type Mode = 'plugin' | 'provide';

/** The Vue app's props: the shared ones, and whether the plugin or a layout provides. */
interface Model extends AppModel {
  readonly mode: Mode;
}

let server: TaskStatusServer;
const violations: string[] = [];
const errors: unknown[] = [];
const warnings: unknown[] = [];

beforeAll(async () => {
  server = await startModelServer();
});

afterAll(async () => {
  await server.close();
});

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
    provideTaskStatus({ options: optionsOf(server, props.m) });
    return () => h('div', parts(props.m));
  },
});

class World implements AppWorld<Model> {
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
    if (mode === 'plugin') this.app.use(createTaskStatusPlugin({ options: optionsOf(server, m) }));
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
        const text = (id: string) => this.root.querySelector(`#${id}`)?.textContent;
        expectShown(server, this, text, this.held());
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

const step = command<Model, World>;

/** Changes only a layout of `provide` mode can follow: it is re-created with them. */
const provides = (m: Model) => m.mode === 'provide';

const commands = [
  fc
    .constantFrom(...USERS)
    .map((userId) => step(`user ${userId}`, provides, (w) => w.update({ userId }))),
  fc
    .constantFrom<TokenKind>('string', 'function', 'none')
    .map((tokenKind) =>
      step(`token ${tokenKind}`, provides, (w) =>
        w.update({ tokenKind, tokenVersion: w.m.tokenVersion + 1 }),
      ),
    ),
  fc
    .constantFrom<0 | 1>(0, 1)
    .map((baseUrl) => step(`baseUrl ${baseUrl}`, provides, (w) => w.update({ baseUrl }))),
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
      step(
        `burst ${sameRender ? 'in one render' : 'in one tick'} ${JSON.stringify(changes)}`,
        provides,
        async (w) => {
          // Back to back, within the tick a released client waits before it closes.
          if (sameRender) await w.update(...changes);
          else for (const change of changes) await w.update(change);
        },
      ),
    ),
  ...sharedCommands<Model, World>(() => server),
];

it('keeps one socket with the latest options and shows the latest data, whatever the app does', async () => {
  const timers = watchTimers();
  await collectUncaught(async (uncaught) => {
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
    expect(uncaught).toEqual([]);
  });
}, 120_000);
