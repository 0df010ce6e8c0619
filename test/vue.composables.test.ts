// @vitest-environment happy-dom
import { flushPromises, mount } from '@vue/test-utils';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { createApp, defineComponent, effectScope, h, nextTick, type PropType, ref } from 'vue';
import NodeWebSocket from 'ws';
import { type TaskId, TaskStatusClient, type TaskStatusClientOptions } from '../src/index.js';
import { startTaskStatusServer, type TaskStatusServer } from '../src/testing/index.js';
import {
  createTaskStatusPlugin,
  provideTaskStatus,
  useTask,
  useTaskStatus,
} from '../src/vue/index.js';
import { afterZeroDelayTimers } from './helpers/timers.js';

let server: TaskStatusServer;
let sockets: string[] = [];

class CountingWebSocket extends NodeWebSocket {
  constructor(url: string) {
    super(url);
    sockets.push(url);
  }
}

beforeEach(async () => {
  server = await startTaskStatusServer({ tokens: { t2: 2 } });
  sockets = [];
});

afterEach(async () => {
  await server.close();
});

function options(token = 't2'): TaskStatusClientOptions {
  return {
    baseUrl: server.url,
    userId: 2,
    token,
    WebSocket: CountingWebSocket,
  };
}

const Status = defineComponent({
  setup() {
    const { state, tasks, error } = useTaskStatus();
    return () =>
      h('p', { 'data-testid': 'status' }, [
        `${state.value} [${[...tasks.value.keys()].join(',')}] ${error.value?.code ?? '-'}`,
      ]);
  },
});

const renders = new Map<string, number>();
const Row = defineComponent({
  props: { taskId: { type: [Number, String] as PropType<TaskId>, required: true } },
  setup(props) {
    const task = useTask(() => props.taskId);
    return () => {
      renders.set(String(props.taskId), (renders.get(String(props.taskId)) ?? 0) + 1);
      return h('li', task.value ? `${task.value.status} ${task.value.progress}` : '-');
    };
  },
});

it('connects with the plugin once a component mounts, and closes when the app unmounts', async () => {
  const wrapper = mount(Status, {
    global: { plugins: [createTaskStatusPlugin({ options: options() })] },
  });
  await vi.waitFor(() => expect(wrapper.text()).toBe('open [] -'));
  expect(sockets).toHaveLength(1);
  server.pushUpdate(2, { taskId: 5, status: 'running' });
  await vi.waitFor(() => expect(wrapper.text()).toBe('open [5] -'));

  wrapper.unmount();
  await vi.waitFor(() => expect(server.clients).toHaveLength(0));
  expect(server.connections[0]?.closeCode).toBe(1000);
});

it('re-renders only the rows whose task changed', async () => {
  renders.clear();
  const App = defineComponent({
    setup() {
      provideTaskStatus({ options: options() });
      return () => h('ul', [h(Status), h(Row, { taskId: 1 }), h(Row, { taskId: 2 })]);
    },
  });
  const wrapper = mount(App);
  await vi.waitFor(() => expect(wrapper.find('p').text()).toBe('open [] -'));
  server.pushUpdate(2, { taskId: 1, status: 'running', progress: 10 });
  server.pushUpdate(2, { taskId: 2, status: 'running', progress: 10 });
  await vi.waitFor(() => expect(wrapper.findAll('li')[1]?.text()).toBe('running 10'));
  const before = { 1: renders.get('1'), 2: renders.get('2') };

  server.pushUpdate(2, { taskId: 1, status: 'running', progress: 50 });
  await vi.waitFor(() => expect(wrapper.findAll('li')[0]?.text()).toBe('running 50'));
  expect(renders.get('1')).toBe((before[1] ?? 0) + 1);
  expect(renders.get('2')).toBe(before[2]);
  wrapper.unmount();
});

it('follows a task id given as a ref', async () => {
  const taskId = ref<TaskId | null>(null);
  const Probe = defineComponent({
    setup() {
      provideTaskStatus({ options: options() });
      return () => h(Inner);
    },
  });
  const Inner = defineComponent({
    setup() {
      const task = useTask(taskId);
      const { state } = useTaskStatus();
      return () => h('p', `${state.value} ${task.value?.status ?? 'none'}`);
    },
  });
  const wrapper = mount(Probe);
  await vi.waitFor(() => expect(wrapper.text()).toBe('open none'));
  server.pushUpdate(2, { taskId: 7, status: 'completed' });
  await flushPromises();
  expect(wrapper.text()).toBe('open none');
  taskId.value = '7';
  await nextTick();
  expect(wrapper.text()).toBe('open completed');
  wrapper.unmount();
});

it('shows a client the app passes as it is once mounted, the tasks it holds included', async () => {
  const client = new TaskStatusClient(options());
  await client.connect();
  server.pushUpdate(2, { taskId: 7, status: 'running' });
  await vi.waitFor(() => expect(client.getTask(7)).toBeDefined());
  const Inner = defineComponent({
    setup() {
      const task = useTask(7);
      const { state, tasks } = useTaskStatus();
      return () => h('p', `${state.value} ${tasks.value.size} ${task.value?.status ?? 'none'}`);
    },
  });
  const Root = defineComponent({
    setup() {
      provideTaskStatus({ client });
      return () => h(Inner);
    },
  });
  const wrapper = mount(Root);
  await nextTick();
  expect(wrapper.text()).toBe('open 1 running');
  wrapper.unmount();
  await client.close();
});

it('shows AUTH_FAILED and the closed state when the token is refused', async () => {
  const wrapper = mount(Status, {
    global: { plugins: [createTaskStatusPlugin({ options: options('wrong') })] },
  });
  await vi.waitFor(() => expect(wrapper.text()).toBe('closed [] AUTH_FAILED'));
  wrapper.unmount();
});

it('keeps one client while consumers come and go, and lets it go after the last', async () => {
  const shown = ref(true);
  const Shell = defineComponent({
    setup() {
      return () => (shown.value ? h(Status) : h('p', 'hidden'));
    },
  });
  const wrapper = mount(Shell, {
    global: { plugins: [createTaskStatusPlugin({ options: options() })] },
  });
  await vi.waitFor(() => expect(wrapper.text()).toBe('open [] -'));
  shown.value = false;
  await nextTick();
  await vi.waitFor(() => expect(server.clients).toHaveLength(0));
  shown.value = true;
  await nextTick();
  await vi.waitFor(() => expect(server.clients.map((c) => c.state)).toEqual(['open']));
  expect(sockets).toHaveLength(2);
  wrapper.unmount();
});

it('keeps the socket when one consumer replaces another in the same render', async () => {
  const first = ref(true);
  const Other = defineComponent({
    setup() {
      const { state } = useTaskStatus();
      return () => h('p', `other ${state.value}`);
    },
  });
  const Shell = defineComponent({
    setup() {
      return () => (first.value ? h(Status) : h(Other));
    },
  });
  const wrapper = mount(Shell, {
    global: { plugins: [createTaskStatusPlugin({ options: options() })] },
  });
  await vi.waitFor(() => expect(wrapper.text()).toBe('open [] -'));
  first.value = false;
  await nextTick();
  await afterZeroDelayTimers();
  expect(wrapper.text()).toBe('other open');
  expect(sockets).toHaveLength(1);
  expect(server.clients.map((c) => c.state)).toEqual(['open']);
  wrapper.unmount();
});

it('renders the TaskRow of docs/vue.md', async () => {
  const TaskRow = defineComponent({
    props: { taskId: { type: Number, required: true } },
    setup(props) {
      const task = useTask(() => props.taskId);
      return () => (task.value ? h('li', `${task.value.status} ${task.value.progress}`) : null);
    },
  });
  const backend = await startTaskStatusServer({ tokens: { t2: 2 }, snapshotOnConnect: true });
  backend.pushUpdate(2, { taskId: 42, status: 'running', progress: 40 });
  const wrapper = mount(TaskRow, {
    props: { taskId: 42 },
    global: {
      plugins: [
        createTaskStatusPlugin({ options: { baseUrl: backend.url, userId: 2, token: 't2' } }),
      ],
    },
  });
  await vi.waitFor(() => expect(wrapper.text()).toContain('running 40'));
  wrapper.unmount();
  await backend.close();
});

it('throws a clear error when nothing provides a client', () => {
  const handler = vi.fn();
  expect(() => mount(Status, { global: { config: { warnHandler: handler } } })).toThrow(
    expect.objectContaining({
      name: 'TaskStatusError',
      code: 'NO_PROVIDER',
      message: expect.stringContaining('useTaskStatus() needs a task-status client'),
    }),
  );
});

it('throws the same clear error outside any component or app, as in a store tested alone', () => {
  // Vue warns that inject() needs a component; the error that follows is the one that helps.
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
  const scope = effectScope();
  try {
    expect(() => scope.run(() => useTaskStatus())).toThrow(
      'useTaskStatus() needs a task-status client',
    );
  } finally {
    scope.stop();
    warn.mockRestore();
  }
});

it('hands out refs that a consumer cannot write to, as docs/vue.md says', async () => {
  let refs: ReturnType<typeof useTaskStatus> | undefined;
  const Probe = defineComponent({
    setup() {
      refs = useTaskStatus();
      return () => h('p', refs?.state.value);
    },
  });
  const wrapper = mount(Probe, {
    global: { plugins: [createTaskStatusPlugin({ options: options() })] },
  });
  await vi.waitFor(() => expect(wrapper.text()).toBe('open'));
  const seen = refs as ReturnType<typeof useTaskStatus>;
  const client = seen.client.value;
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
  for (const name of ['state', 'tasks', 'error', 'client'] as const) {
    (seen[name] as { value: unknown }).value = 'overwritten';
  }
  warn.mockRestore();
  expect(seen.state.value).toBe('open');
  expect(seen.tasks.value).toBeInstanceOf(Map);
  expect(seen.error.value).toBeUndefined();
  expect(seen.client.value).toBe(client);
  // The client itself is handed out as it is, not behind a proxy.
  await expect(seen.client.value?.connect()).resolves.toBeUndefined();
  wrapper.unmount();
});

it('passes invalid options to app.config.errorHandler at mount, with INVALID_OPTIONS', () => {
  const caught: unknown[] = [];
  // A user id not known yet, before sign-in.
  const plugin = createTaskStatusPlugin({ options: { ...options(), userId: undefined as never } });
  const app = createApp(Status).use(plugin);
  app.config.errorHandler = (error) => caught.push(error);
  app.mount(document.createElement('div'));
  expect(caught).toMatchObject([{ code: 'INVALID_OPTIONS' }]);
  expect(sockets).toEqual([]);
  app.unmount();
});

it('holds the client in an effect scope outside a component, as a Pinia setup store runs', async () => {
  const app = createApp(Status).use(createTaskStatusPlugin({ options: options() }));
  const scope = effectScope();
  // Pinia runs a setup store in the app's context, in an effect scope of its own.
  const refs = app.runWithContext(() => scope.run(() => useTaskStatus()));
  await vi.waitFor(() => expect(refs?.state.value).toBe('open'));
  expect(sockets).toHaveLength(1);
  server.pushUpdate(2, { taskId: 5, status: 'running' });
  await vi.waitFor(() => expect([...(refs?.tasks.value.keys() ?? [])]).toEqual([5]));

  scope.stop();
  await vi.waitFor(() => expect(server.clients).toHaveLength(0));
  expect(server.connections[0]?.closeCode).toBe(1000);
  expect(refs?.state.value).toBe('closed');
});

it('does not hold the client with neither a component nor an effect scope to let it go', () => {
  const app = createApp(Status).use(createTaskStatusPlugin({ options: options() }));
  const refs = app.runWithContext(() => useTaskStatus());
  expect(refs.client.value).toBeUndefined();
  expect(refs.state.value).toBe('idle');
  expect(sockets).toEqual([]);
});

it('lets go of a hold in an effect scope whose client threw, so a later holder tries again', () => {
  const plugin = createTaskStatusPlugin({ options: { ...options(), userId: undefined as never } });
  const app = createApp(Status).use(plugin);
  const caught: unknown[] = [];
  app.config.errorHandler = (error) => caught.push(error);
  const scope = effectScope();
  expect(() => app.runWithContext(() => scope.run(() => useTaskStatus()))).toThrow(
    expect.objectContaining({ code: 'INVALID_OPTIONS' }),
  );
  scope.stop();
  // The component's hold is the first again: it meets the same invalid options, not silence.
  app.mount(document.createElement('div'));
  expect(caught).toMatchObject([{ code: 'INVALID_OPTIONS' }]);
  expect(sockets).toEqual([]);
  app.unmount();
});
