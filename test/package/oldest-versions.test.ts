/**
 * The oldest versions the package supports, as a consumer installs them from the npm registry:
 * React 18.0 with @types/react 18.0, Vue 3.3.0 and TypeScript 5.4. A scratch project installs
 * them with the packed tarball, type-checks a React and a Vue consumer with that TypeScript, and
 * runs the provider, the plugin and the hooks and composables against the testing kit's real
 * server in happy-dom. The repository itself develops against the newest of each.
 */
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { exec, repo } from './exec.js';
import { packedTarball } from './tarball.js';

/** What the scratch project installs: the lowest of each range the package claims. */
const OLDEST = {
  react: '18.0.0',
  'react-dom': '18.0.0',
  // The last types of React 18.0. Before 18.2.8 they take a component as JSX only if it returns
  // an element (or null), a rule the newer types dropped.
  '@types/react': '18.0.38',
  // @types/react before 18.3 imports `scheduler/tracing`, which @types/scheduler dropped in
  // 0.23, and asks for any version: a project on those types pins the last that has it.
  '@types/scheduler': '0.16.8',
  vue: '3.3.0',
  // The oldest TypeScript the README names. zod's declarations use `NoInfer`, new in 5.4.
  typescript: '5.4.5',
} as const;

/** Tools the scratch project takes from the repository, whatever their version. */
const LINKED = ['happy-dom'];

/** The lowest version that a range of the form `>=18`, `>=3.3` or `^2.15.0` allows. */
function lowestOf(range: string): string {
  const match = /^(?:>=|\^)(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(range);
  if (!match) throw new Error(`a range this test cannot read: ${range}`);
  return `${match[1]}.${match[2] ?? 0}.${match[3] ?? 0}`;
}

// A consumer under the strict options of consumer.test.ts, with no @types/node (a browser app).
// Two programs: Vue 3.3 declares a global JSX namespace that clashes with React's.
const tsconfig = (file: string, jsx: boolean) => ({
  compilerOptions: {
    module: 'esnext',
    moduleResolution: 'bundler',
    target: 'es2022',
    lib: ['es2022', 'dom'],
    types: [],
    ...(jsx ? { jsx: 'react-jsx' } : {}),
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    skipLibCheck: false,
    skipDefaultLibCheck: true,
    noEmit: true,
  },
  files: [file],
});

/** `exact<A, B>(true)` compiles only when A is exactly B (not `any`). */
const EXACT = `type Exact<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function exact<A, B>(check: Exact<A, B>): Exact<A, B> {
  return check;
}`;

const REACT_CONSUMER = `import { memo, StrictMode } from 'react';
import { TaskStatusClient, type TaskUpdate } from 'task-status-client';
import { serverFrameSchema } from 'task-status-client/schemas';
import {
  TaskStatusProvider,
  type TaskStatusSnapshot,
  useTask,
  useTaskStatus,
} from 'task-status-client/react';

${EXACT}
exact<ReturnType<typeof useTaskStatus>, TaskStatusSnapshot>(true);
exact<ReturnType<typeof useTask>, TaskUpdate | undefined>(true);
export const ping: boolean = serverFrameSchema.safeParse({ type: 'ping' }).success;

function State() {
  const { state, tasks, client } = useTaskStatus();
  return <button onClick={() => client?.reconnect()}>{state} {tasks.size}</button>;
}

const Row = memo(function Row({ taskId }: { taskId: number }) {
  const task = useTask(taskId);
  return <p>{task?.status ?? 'waiting'}</p>;
});

const client = new TaskStatusClient({ baseUrl: 'https://example.com', userId: 2, token: 't' });

export const apps = [
  <StrictMode key="options">
    <TaskStatusProvider options={{ baseUrl: '', userId: 2, token: () => 't' }}>
      <State />
      <Row taskId={42} />
    </TaskStatusProvider>
  </StrictMode>,
  <TaskStatusProvider key="client" client={client}>
    <State />
  </TaskStatusProvider>,
  // @ts-expect-error: options or a client, not both
  <TaskStatusProvider key="both" options={{ baseUrl: '', userId: 2 }} client={client} />,
];
`;

const VUE_CONSUMER = `import type { TaskUpdate } from 'task-status-client';
import {
  createTaskStatusPlugin,
  provideTaskStatus,
  type TaskStatusRefs,
  useTask,
  useTaskStatus,
} from 'task-status-client/vue';
import { type ComputedRef, createApp, defineComponent, h, ref } from 'vue';

${EXACT}
exact<ReturnType<typeof useTaskStatus>, TaskStatusRefs>(true);
exact<ReturnType<typeof useTask>, ComputedRef<TaskUpdate | undefined>>(true);

const Row = defineComponent({
  props: { taskId: { type: Number, required: true } },
  setup(props) {
    const task = useTask(() => props.taskId);
    return () => h('p', task.value?.status ?? 'waiting');
  },
});

const Layout = defineComponent({
  setup() {
    const { state } = provideTaskStatus({ options: { baseUrl: '', userId: 2, token: () => 't' } });
    const selected = ref<number | null>(null);
    const picked = useTask(selected);
    return () => h('div', [state.value, picked.value?.status, h(Row, { taskId: 42 })]);
  },
});

const plugin = createTaskStatusPlugin({ options: { baseUrl: '', userId: 2, token: () => 't' } });
createApp(Layout).use(plugin);
// @ts-expect-error: the plugin takes no install options
createApp(Layout).use(plugin, { userId: 2 });
export const state = () => useTaskStatus().state.value;
`;

/**
 * What both runtime scripts start with: a happy-dom window as the DOM, the testing kit's real
 * server with task 42 running, a wait for the page to show something, and every warning and
 * error that React or Vue logs. The scripts import React and Vue after it, with `import()`: both
 * look for the DOM when their modules load.
 */
const RUNTIME_PRELUDE = `import { Window } from 'happy-dom';
import { startTaskStatusServer } from 'task-status-client/testing/server';

const window = new Window({ url: 'http://localhost/' });
const names = ['window', 'document', 'navigator', 'Node', 'Element', 'HTMLElement', 'SVGElement'];
for (const name of names) {
  if (name === 'window' || name === 'document' || !(name in globalThis)) {
    const value = name === 'window' ? window : window[name];
    Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
  }
}
const logged = [];
console.error = (...args) => logged.push(args.join(' '));
console.warn = (...args) => logged.push(args.join(' '));

const server = await startTaskStatusServer({ tokens: { t2: 2 }, snapshotOnConnect: true });
server.pushUpdate(2, { taskId: 42, status: 'running', progress: 40 });
const options = { baseUrl: server.url, userId: 2, token: () => 't2' };

async function until(check, what) {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(\`no \${what}: \${document.body.innerHTML}\`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
function mountPoint(html = '') {
  const element = document.createElement('div');
  element.innerHTML = html;
  document.body.append(element);
  return element;
}
`;

const REACT_RUNTIME = `${RUNTIME_PRELUDE}
const { createElement: h, StrictMode, version } = await import('react');
const { createRoot, hydrateRoot } = await import('react-dom/client');
const { renderToString } = await import('react-dom/server');
const { TaskStatusClient } = await import('task-status-client');
const { TaskStatusProvider, useTask, useTaskStatus } = await import('task-status-client/react');

function State() {
  const { state, tasks } = useTaskStatus();
  return h('p', null, \`\${state} \${tasks.size}|\`);
}
function Row({ taskId }) {
  const task = useTask(taskId);
  return h('p', null, task ? \`\${task.status} \${task.progress}\` : 'waiting');
}
const app = (props) =>
  h(StrictMode, null, h(TaskStatusProvider, props, h(State), h(Row, { taskId: 42 })));

const report = { version };
report.ssr = renderToString(app({ options }));
const element = mountPoint(report.ssr);
const root = hydrateRoot(element, app({ options }));
await until(() => element.textContent === 'open 1|running 40', 'task after hydration');
server.pushUpdate(2, { taskId: 42, status: 'completed', progress: 100 });
await until(() => element.textContent === 'open 1|completed 100', 'update');
report.sockets = server.connections.length;
root.unmount();
await until(() => server.clients.length === 0, 'close on unmount');

const client = new TaskStatusClient(options);
const owned = mountPoint();
const ownedRoot = createRoot(owned);
ownedRoot.render(app({ client }));
await until(() => owned.textContent === 'open 1|completed 100', 'owned client');
ownedRoot.unmount();
// A client the app gave the provider stays open after it: it still receives the next update.
server.pushUpdate(2, { taskId: 43, status: 'queued', progress: 0 });
await until(() => client.tasks.has(43), 'update to the owned client after unmount');
report.ownedAfterUnmount = client.state;
await client.close();
await server.close();
report.logged = logged;
console.log(JSON.stringify(report));
`;

const VUE_RUNTIME = `${RUNTIME_PRELUDE}
const { createApp, createSSRApp, defineComponent, h, ref, version } = await import('vue');
const { renderToString } = await import('vue/server-renderer');
const { createTaskStatusPlugin, provideTaskStatus, useTask, useTaskStatus } = await import(
  'task-status-client/vue'
);

const State = defineComponent({
  setup() {
    const { state, tasks } = useTaskStatus();
    return () => h('p', \`\${state.value} \${tasks.value.size}|\`);
  },
});
const Row = defineComponent({
  props: { taskId: { type: Number, required: true } },
  setup(props) {
    const task = useTask(() => props.taskId);
    return () => h('p', task.value ? \`\${task.value.status} \${task.value.progress}\` : 'waiting');
  },
});
const selected = ref(42);
const App = defineComponent({
  setup: () => () => h('div', [h(State), h(Row, { taskId: selected.value })]),
});

const report = { version };
report.ssr = await renderToString(createSSRApp(App).use(createTaskStatusPlugin({ options })));
const element = mountPoint(report.ssr);
const app = createSSRApp(App).use(createTaskStatusPlugin({ options }));
app.mount(element);
await until(() => element.textContent === 'open 1|running 40', 'task after hydration');
server.pushUpdate(2, { taskId: 42, status: 'completed', progress: 100 });
await until(() => element.textContent === 'open 1|completed 100', 'update');
selected.value = 7;
await until(() => element.textContent === 'open 1|waiting', 'another task id');
app.unmount();
await until(() => server.clients.length === 0, 'close on unmount');

const Layout = defineComponent({
  setup() {
    const { state } = provideTaskStatus({ options });
    return () => h('div', [\`\${state.value}|\`, h(Row, { taskId: 42 })]);
  },
});
const provided = mountPoint();
const layout = createApp(Layout);
layout.mount(provided);
await until(() => provided.textContent === 'open|completed 100', 'task through provideTaskStatus');
layout.unmount();
await until(() => server.clients.length === 0, 'close on unmount of provideTaskStatus');
report.sockets = server.connections.length;
await server.close();
report.logged = logged;
console.log(JSON.stringify(report));
`;

let scratch: string;

beforeAll(async () => {
  const tarball = await packedTarball();
  scratch = await mkdtemp(path.join(tmpdir(), 'task-status-client-oldest-'));
  await writeFile(
    path.join(scratch, 'package.json'),
    JSON.stringify({ name: 'oldest-versions', private: true, type: 'module' }),
  );
  // The package's own dependencies come from the registry too, as the tarball asks for them.
  const specs = Object.entries(OLDEST).map(([name, version]) => `${name}@${version}`);
  await exec(
    'npm',
    [
      'install',
      '--prefix',
      scratch,
      '--no-package-lock',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      '--prefer-offline',
      '--loglevel=error',
      tarball,
      ...specs,
    ],
    scratch,
  );
  for (const name of LINKED) {
    await symlink(path.join(repo, 'node_modules', name), path.join(scratch, 'node_modules', name));
  }
  const files: Record<string, string> = {
    'react.tsx': REACT_CONSUMER,
    'vue.ts': VUE_CONSUMER,
    'tsconfig.react.json': JSON.stringify(tsconfig('react.tsx', true)),
    'tsconfig.vue.json': JSON.stringify(tsconfig('vue.ts', false)),
    'react.mjs': REACT_RUNTIME,
    'vue.mjs': VUE_RUNTIME,
  };
  for (const [name, text] of Object.entries(files)) {
    await writeFile(path.join(scratch, name), text);
  }
});

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

it('installs the lowest React and Vue that package.json allows', async () => {
  const manifest = JSON.parse(await readFile(path.join(repo, 'package.json'), 'utf8')) as {
    peerDependencies: { react: string; vue: string };
  };
  expect(lowestOf(manifest.peerDependencies.react)).toBe(OLDEST.react);
  expect(lowestOf(manifest.peerDependencies.vue)).toBe(OLDEST.vue);
  const installed: Record<string, string> = {};
  for (const name of Object.keys(OLDEST)) {
    const file = path.join(scratch, 'node_modules', name, 'package.json');
    installed[name] = (JSON.parse(await readFile(file, 'utf8')) as { version: string }).version;
  }
  expect(installed).toEqual(OLDEST);
});

/** Type-checks a project of the scratch directory with its TypeScript, `OLDEST.typescript`. */
const tsc = (project: string) =>
  exec(
    process.execPath,
    [path.join(scratch, 'node_modules/typescript/bin/tsc'), '-p', project],
    scratch,
  );

// All four at once: the type checks take the CPU, the scripts little of it, and the Vue one
// waits for devtools for 3 s before it can end (a timer of Vue's development build).
it.concurrent(`type-checks a React consumer with @types/react ${OLDEST['@types/react']}`, () =>
  tsc('tsconfig.react.json'));

it.concurrent(`type-checks a Vue ${OLDEST.vue} consumer`, () => tsc('tsconfig.vue.json'));

interface RuntimeReport {
  version: string;
  ssr: string;
  sockets: number;
  ownedAfterUnmount?: string;
  logged: string[];
}

const run = async (script: string): Promise<RuntimeReport> =>
  JSON.parse((await exec(process.execPath, [script], scratch)).stdout) as RuntimeReport;

it.concurrent(`renders the React provider and hooks on React ${OLDEST.react}`, async () => {
  const report = await run('react.mjs');
  // React 18.0.0 gives its version with a build suffix.
  expect(report.version.split('-')[0]).toBe(OLDEST.react);
  expect(report.ssr).toBe('<p>idle 0|</p><p>waiting</p>');
  // StrictMode mounts twice; the provider opens one socket.
  expect(report.sockets).toBe(1);
  expect(report.ownedAfterUnmount).toBe('open');
  expect(report.logged).toEqual([]);
});

it.concurrent(`renders the Vue plugin and composables on Vue ${OLDEST.vue}`, async () => {
  const report = await run('vue.mjs');
  expect(report.version).toBe(OLDEST.vue);
  expect(report.ssr).toBe('<div><p>idle 0|</p><p>waiting</p></div>');
  // One socket for the plugin's app, one for provideTaskStatus.
  expect(report.sockets).toBe(2);
  expect(report.logged).toEqual([]);
});
