import type { EventEmitter } from 'eventemitter3';
import { describe, expectTypeOf, it } from 'vitest';
import { WebSocket as WsWebSocket } from 'ws';
import * as z from 'zod';
import {
  type ConnectionState,
  isTaskStatusError,
  type MessageFrame,
  type ParsedFrame,
  TaskStatusClient,
  type TaskStatusError,
  type TaskStatusErrorCode,
  type TaskUpdate,
  type TaskUpdateIterator,
  type UpdatesOptions,
  type WebSocketConstructor,
} from '../src/index.js';
import { taskUpdateSchema } from '../src/schemas.js';

const options = { baseUrl: 'http://127.0.0.1:1', userId: 1, token: 't' };

describe('public types', () => {
  it("takes the DOM's WebSocket and ws's as the WebSocket option, with no cast", () => {
    expectTypeOf(globalThis.WebSocket).toExtend<WebSocketConstructor>();
    expectTypeOf(WsWebSocket).toExtend<WebSocketConstructor>();
    expectTypeOf<{ WebSocket: typeof WsWebSocket }>().toExtend<
      Pick<ConstructorParameters<typeof TaskStatusClient>[0], 'WebSocket'>
    >();
  });

  it('types event listeners from the event map', () => {
    const client = new TaskStatusClient(options);
    client.on('task', (update) => expectTypeOf(update).toEqualTypeOf<TaskUpdate>());
    client.on('state', (state, previous) => {
      expectTypeOf(state).toEqualTypeOf<ConnectionState>();
      expectTypeOf(previous).toEqualTypeOf<ConnectionState>();
    });
    client.on('error', (error) => expectTypeOf(error).toEqualTypeOf<TaskStatusError>());
    client.on('message', (frame) => {
      expectTypeOf(frame).toEqualTypeOf<MessageFrame>();
      // Error, unknown and invalid frames are reported as `error`, never as `message`.
      expectTypeOf(frame.kind).toEqualTypeOf<
        'connected' | 'task_update' | 'ping' | 'pong' | 'text'
      >();
      expectTypeOf<MessageFrame>().toExtend<ParsedFrame>();
    });
    client.on('close', (info) => expectTypeOf(info.willReconnect).toBeBoolean());
    client.on('reconnecting', (info) => expectTypeOf(info.delayMs).toBeNumber());
    // @ts-expect-error: not an event of the client
    client.on('tasks', () => {});
    // @ts-expect-error: the listener's argument is a TaskUpdate, not a string
    client.on('task', (update: string) => update);
  });

  it('types emit from the event map, and a client is still an EventEmitter', () => {
    const client = new TaskStatusClient(options);
    expectTypeOf(client.emit('heartbeat', { rttMs: 1 })).toBeBoolean();
    // @ts-expect-error: not an event of the client
    client.emit('tasks');
    // @ts-expect-error: a heartbeat carries its round trip
    client.emit('heartbeat', 'fast');
    expectTypeOf(client).toExtend<EventEmitter>();
  });

  it('follows the user schema through the generic parameter', () => {
    const mySchema = taskUpdateSchema.extend({ result: z.object({ url: z.string() }).nullable() });
    const client = new TaskStatusClient({ ...options, taskSchema: mySchema });
    client.on('task', (update) =>
      expectTypeOf(update.result).toEqualTypeOf<{ url: string } | null>(),
    );
    expectTypeOf(client.getTask(1)).toEqualTypeOf<z.output<typeof mySchema> | undefined>();
    expectTypeOf(client.waitForTask(1)).resolves.toHaveProperty('result');
    expectTypeOf(client.updates()).toEqualTypeOf<TaskUpdateIterator<z.output<typeof mySchema>>>();
    expectTypeOf(client.watchTask(1)).toExtend<AsyncIterableIterator<z.output<typeof mySchema>>>();
    expectTypeOf(client.updates().dropped).toBeNumber();
  });

  it('types an iterator that ended as done with undefined, never any, and return() as present', () => {
    // Compile-time only: the calls are type-checked, not run.
    void (async () => {
      const iterator = new TaskStatusClient(options).updates();
      const result = await iterator.next();
      expectTypeOf(result.value).toEqualTypeOf<TaskUpdate | undefined>();
      if (result.done) expectTypeOf(result.value).toEqualTypeOf<undefined>();
      expectTypeOf(await iterator.return()).toEqualTypeOf<IteratorResult<TaskUpdate, undefined>>();
      expectTypeOf(iterator.throw).toBeFunction();
      expectTypeOf(iterator[Symbol.asyncIterator]()).toEqualTypeOf<TaskUpdateIterator>();
    });
  });

  it('writes TaskUpdate out as a type equal to the output of taskUpdateSchema', () => {
    expectTypeOf<TaskUpdate>().toEqualTypeOf<z.output<typeof taskUpdateSchema>>();
    // An interface of the same fields would not be: it has no index signature.
    expectTypeOf<TaskUpdate>().toExtend<Record<string, unknown>>();
  });

  it('types task ids and statuses as the server sends them', () => {
    expectTypeOf<TaskUpdate['taskId']>().toEqualTypeOf<number | string>();
    expectTypeOf<'running'>().toExtend<TaskUpdate['status']>();
    expectTypeOf<'anything-else'>().toExtend<TaskUpdate['status']>();
  });

  it('narrows an error to the code it was checked for', () => {
    const caught: unknown = new Error('x');
    if (isTaskStatusError(caught, 'AUTH_FAILED')) {
      expectTypeOf(caught.code).toEqualTypeOf<'AUTH_FAILED'>();
    }
    if (isTaskStatusError(caught)) expectTypeOf(caught.code).toEqualTypeOf<TaskStatusErrorCode>();
  });

  it('takes an explicit undefined wherever an option may be left out', () => {
    const passed: { signal?: AbortSignal | undefined } = {};
    // Compile-time only: the calls are type-checked, not run.
    void (() => {
      const client = new TaskStatusClient({
        ...options,
        signal: passed.signal,
        heartbeat: { intervalMs: undefined },
        reconnect: undefined,
        WebSocket: undefined,
      });
      void client.updates({ signal: passed.signal, taskId: undefined });
      void client.watchTask(1, { bufferSize: undefined });
      void client.waitForTask(1, { signal: passed.signal, timeoutMs: undefined });
    });
    expectTypeOf<{ signal: undefined }>().toExtend<UpdatesOptions>();
  });

  it('rejects unknown options and wrong option types at compile time', () => {
    // @ts-expect-error: unknown option
    void (() => new TaskStatusClient({ ...options, bogus: 1 }));
    // @ts-expect-error: jitter must be full, equal or none
    void (() => new TaskStatusClient({ ...options, reconnect: { jitter: 'half' } }));
    void (() =>
      new TaskStatusClient({ ...options, reconnect: { maxDelayMs: 5000 }, heartbeat: false }));
  });
});
