// @vitest-environment happy-dom
/**
 * The Vue binding against the testing kit's msw mock, through the environment's own
 * `WebSocket` (happy-dom's), as an app's component test would run it.
 */
import { mount } from '@vue/test-utils';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest';
import { defineComponent, h } from 'vue';
import { createMockTaskServer } from '../src/testing/index.js';
import { createTaskStatusPlugin, useTask, useTaskStatus } from '../src/vue/index.js';

const baseUrl = 'http://localhost:8000';
const backend = createMockTaskServer({ baseUrl, tokens: { t2: 2 } });
const msw = setupServer(...backend.handlers);

beforeAll(() => msw.listen({ onUnhandledRequest: 'error' }));
afterEach(() => backend.reset());
afterAll(() => msw.close());

const Progress = defineComponent({
  setup() {
    const { state } = useTaskStatus();
    const task = useTask(42);
    return () =>
      h('p', `${state.value}: ${task.value?.status ?? '-'} ${task.value?.progress ?? ''}`);
  },
});

it('renders the updates of the mocked backend', async () => {
  const wrapper = mount(Progress, {
    global: { plugins: [createTaskStatusPlugin({ options: { baseUrl, userId: 2, token: 't2' } })] },
  });
  await vi.waitFor(() => expect(wrapper.text()).toBe('open: -'));
  backend.pushUpdate(2, { taskId: 42, status: 'running', progress: 30 });
  await vi.waitFor(() => expect(wrapper.text()).toBe('open: running 30'));
  backend.completeTask(2, 42);
  await vi.waitFor(() => expect(wrapper.text()).toBe('open: completed 100'));
  wrapper.unmount();
  await vi.waitFor(() => expect(backend.clients).toHaveLength(0));
});
