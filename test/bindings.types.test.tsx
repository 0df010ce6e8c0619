import type { ReactElement, ReactNode } from 'react';
import { describe, expectTypeOf, it } from 'vitest';
import { type ComputedRef, createApp, type Plugin, type Ref } from 'vue';
import type {
  ConnectionState,
  TaskId,
  TaskStatusClient,
  TaskStatusError,
  TaskUpdate,
} from '../src/index.js';
import {
  TaskStatusProvider,
  type TaskStatusProviderProps,
  type TaskStatusSnapshot,
  useTask,
  useTaskStatus,
} from '../src/react/index.js';
import * as vue from '../src/vue/index.js';

interface ReportTask extends TaskUpdate {
  result: { url: string } | null;
}

const options = { baseUrl: '', userId: 1, token: () => 't' };

describe('React binding types', () => {
  it('types the snapshot of useTaskStatus', () => {
    expectTypeOf(useTaskStatus).returns.toEqualTypeOf<TaskStatusSnapshot>();
    expectTypeOf<TaskStatusSnapshot['state']>().toEqualTypeOf<ConnectionState>();
    expectTypeOf<TaskStatusSnapshot['tasks']>().toEqualTypeOf<ReadonlyMap<TaskId, TaskUpdate>>();
    expectTypeOf<TaskStatusSnapshot['error']>().toEqualTypeOf<TaskStatusError | undefined>();
    expectTypeOf<TaskStatusSnapshot['client']>().toEqualTypeOf<TaskStatusClient | undefined>();
  });

  it('follows the update type given to the hooks', () => {
    expectTypeOf(useTask<ReportTask>).returns.toEqualTypeOf<ReportTask | undefined>();
    expectTypeOf(useTaskStatus<ReportTask>).returns.toEqualTypeOf<TaskStatusSnapshot<ReportTask>>();
    expectTypeOf(useTask).parameter(0).toEqualTypeOf<TaskId | null | undefined>();
  });

  it('takes options or a client, never both, never neither', () => {
    // Not `ReactNode`: older @types/react and TypeScript take only an element from a component.
    expectTypeOf(TaskStatusProvider).returns.toEqualTypeOf<ReactElement>();
    expectTypeOf<{ options: typeof options }>().toExtend<TaskStatusProviderProps>();
    expectTypeOf<{ client: TaskStatusClient }>().toExtend<TaskStatusProviderProps>();
    expectTypeOf<{
      options: typeof options;
      client: TaskStatusClient;
    }>().not.toExtend<TaskStatusProviderProps>();
    expectTypeOf<{ children: ReactNode }>().not.toExtend<TaskStatusProviderProps>();
  });
});

describe('Vue binding types', () => {
  it('returns read-only refs from useTaskStatus and a computed ref from useTask', () => {
    type Refs = ReturnType<typeof vue.useTaskStatus>;
    expectTypeOf<Refs['state']>().toEqualTypeOf<Readonly<Ref<ConnectionState>>>();
    expectTypeOf<Refs['tasks']['value']>().toEqualTypeOf<ReadonlyMap<TaskId, TaskUpdate>>();
    expectTypeOf<Refs['error']['value']>().toEqualTypeOf<TaskStatusError | undefined>();
    expectTypeOf<Refs['client']['value']>().toEqualTypeOf<TaskStatusClient | undefined>();
    expectTypeOf(vue.useTask<ReportTask>).returns.toEqualTypeOf<
      ComputedRef<ReportTask | undefined>
    >();
  });

  it('takes an id, a ref or a getter in useTask', () => {
    expectTypeOf<number>().toExtend<Parameters<typeof vue.useTask>[0]>();
    expectTypeOf<Ref<string | null>>().toExtend<Parameters<typeof vue.useTask>[0]>();
    expectTypeOf<() => TaskId>().toExtend<Parameters<typeof vue.useTask>[0]>();
  });

  it('makes a plugin from options or a client', () => {
    // `Plugin` alone is `Plugin<any[]>`: `app.use(plugin, anything)` would compile.
    expectTypeOf(vue.createTaskStatusPlugin).returns.toEqualTypeOf<Plugin<[]>>();
    expectTypeOf(vue.createTaskStatusPlugin).returns.toExtend<Plugin>();
    void (() => {
      const app = createApp({});
      app.use(vue.createTaskStatusPlugin({ options }));
      // @ts-expect-error: the plugin takes no install options
      app.use(vue.createTaskStatusPlugin({ options }), { userId: 2 });
    });
    expectTypeOf(vue.createTaskStatusPlugin).parameter(0).toEqualTypeOf<vue.TaskStatusSource>();
    expectTypeOf(vue.provideTaskStatus<ReportTask>).returns.toEqualTypeOf<
      vue.TaskStatusRefs<ReportTask>
    >();
  });
});
