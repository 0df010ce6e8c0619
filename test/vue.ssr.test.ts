import { afterEach, expect, it } from 'vitest';
import { createSSRApp, defineComponent, effectScope, h } from 'vue';
import { renderToString } from 'vue/server-renderer';
import type { WebSocketConstructor } from '../src/index.js';
import {
  createTaskStatusPlugin,
  provideTaskStatus,
  useTask,
  useTaskStatus,
} from '../src/vue/index.js';
import { startedClient } from './helpers/started-client.js';
import { afterZeroDelayTimers } from './helpers/timers.js';

/** A WebSocket that records its construction: the server render must never make one. */
const created: string[] = [];
const RecordingWebSocket = class {
  constructor(url: string) {
    created.push(url);
    throw new Error('no socket during a server render');
  }
} as unknown as WebSocketConstructor;

afterEach(() => {
  created.length = 0;
});

// A relative baseUrl would throw INVALID_OPTIONS here (no location): proof nothing was created.
const options = { baseUrl: '', userId: 2, token: 't', WebSocket: RecordingWebSocket };

const Page = defineComponent({
  setup() {
    const { state, tasks, error, client } = useTaskStatus();
    const task = useTask(42);
    return () =>
      h(
        'p',
        `${state.value} ${tasks.value.size} ${error.value?.code ?? 'no-error'} ${
          client.value ? 'client' : 'no-client'
        } ${task.value?.status ?? 'no-task'}`,
      );
  },
});

it('renders on the server with the plugin, creating no client and no socket', async () => {
  expect(typeof window).toBe('undefined');
  const app = createSSRApp(Page).use(createTaskStatusPlugin({ options }));
  expect(await renderToString(app)).toBe('<p>idle 0 no-error no-client no-task</p>');
  await afterZeroDelayTimers();
  expect(created).toEqual([]);
});

it('renders on the server with provideTaskStatus, creating no client and no socket', async () => {
  const Root = defineComponent({
    setup() {
      provideTaskStatus({ options });
      return () => h(Page);
    },
  });
  expect(await renderToString(createSSRApp(Root))).toBe('<p>idle 0 no-error no-client no-task</p>');
  await afterZeroDelayTimers();
  expect(created).toEqual([]);
});

it('creates no client for a composable in an effect scope on the server, as a store would', () => {
  const app = createSSRApp(Page).use(createTaskStatusPlugin({ options }));
  const scope = effectScope();
  const refs = app.runWithContext(() => scope.run(() => useTaskStatus()));
  expect(refs?.state.value).toBe('idle');
  expect(refs?.client.value).toBeUndefined();
  expect(created).toEqual([]);
  scope.stop();
});

it.each(['plugin', 'provideTaskStatus'])(
  'renders the idle state for a client the app passes (%s), whatever that client has done',
  async (how) => {
    // A server render and hydration must agree, even for a client started first.
    const started = await startedClient();
    const { client } = started;
    try {
      const Root = defineComponent({
        setup() {
          if (how === 'provideTaskStatus') provideTaskStatus({ client });
          return () => h(Page);
        },
      });
      const app = createSSRApp(Root);
      if (how === 'plugin') app.use(createTaskStatusPlugin({ client }));
      expect(await renderToString(app)).toBe('<p>idle 0 no-error client no-task</p>');
    } finally {
      await started.close();
    }
  },
);
