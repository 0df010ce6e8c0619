/**
 * What the React and Vue bindings share: a client's lifetime as the UI holds it, and a
 * consistent, immutable view of it (state, task table, last error) that changes only on the
 * client's events. Framework-free, so both bindings behave the same way.
 *
 * The bindings reach the client through the package's public entry, by name, so that an app
 * bundles one copy of the client whichever entries it imports.
 */
import {
  type ConnectionState,
  createTaskStatusClient,
  type TaskId,
  type TaskStatusClient,
  type TaskStatusClientOptions,
  type TaskStatusError,
  type TaskUpdate,
} from 'task-status-client';

/**
 * Where a binding gets its client: options to create (and own) one when the UI mounts, or a
 * client the app created and owns.
 */
export type TaskStatusSource<TUpdate extends TaskUpdate = TaskUpdate> =
  | {
      /**
       * Options of the client the binding creates when it mounts and closes when it unmounts.
       * Nothing is created during server-side rendering.
       */
      readonly options: TaskStatusClientOptions<TUpdate>;
      /** Not with `options`. */
      readonly client?: never;
    }
  | {
      /** A client the app owns: the binding connects it when it mounts and never closes it. */
      readonly client: TaskStatusClient<TUpdate>;
      /** Not with `client`. */
      readonly options?: never;
    };

/** What the UI sees of a client at one moment. A new object whenever something changed. */
export interface TaskStatusSnapshot<TUpdate extends TaskUpdate = TaskUpdate> {
  /**
   * The connection state: `idle` during server rendering and hydration, and until the binding has
   * mounted when it creates the client itself.
   */
  readonly state: ConnectionState;
  /** The latest update per task, as of this snapshot; a new map after every change. */
  readonly tasks: ReadonlyMap<TaskId, TUpdate>;
  /** The last error the client reported since a connection was last accepted, else `undefined`. */
  readonly error: TaskStatusError | undefined;
  /** The client; `undefined` until the binding has mounted when it creates the client itself. */
  readonly client: TaskStatusClient<TUpdate> | undefined;
}

type Listener = () => void;

const ALL_TASKS = Symbol('all tasks');

/**
 * One client as a UI binding holds it. `acquire()`/`release()` count holders (a mounted
 * provider or component); the client is created and connected on the first acquire, and closed
 * a tick after the last release unless someone acquires it again in between: React StrictMode's
 * unmount-and-remount then reuses the one socket instead of opening a second.
 */
export class TaskStatusStore<TUpdate extends TaskUpdate = TaskUpdate> {
  readonly #options: TaskStatusClientOptions<TUpdate> | undefined;
  readonly #owned: boolean;
  #client: TaskStatusClient<TUpdate> | undefined;
  #holds = 0;
  #releaseTimer: ReturnType<typeof setTimeout> | undefined;
  #detach: (() => void) | undefined;
  #state: ConnectionState;
  #error: TaskStatusError | undefined;
  /** Bumped on every change of the task table; the tasks map is copied lazily per version. */
  #version = 0;
  #tasks: { version: number; map: ReadonlyMap<TaskId, TUpdate> } = { version: -1, map: new Map() };
  #snapshot: TaskStatusSnapshot<TUpdate> | undefined;
  readonly #initial: TaskStatusSnapshot<TUpdate>;
  readonly #listeners = new Set<Listener>();
  readonly #taskListeners = new Map<string, Set<Listener>>();

  /** Creates nothing and opens nothing: safe during server-side rendering. */
  constructor(source: TaskStatusSource<TUpdate>) {
    this.#owned = source.client === undefined;
    this.#options = source.options;
    this.#client = source.client;
    this.#state = source.client?.state ?? 'idle';
    // The same whatever the client has done: a server render and the hydration of its markup
    // must agree, and a client the app started before hydration would make them differ.
    this.#initial = Object.freeze({
      state: 'idle',
      tasks: new Map<TaskId, TUpdate>(),
      error: undefined,
      client: source.client,
    });
  }

  /** The client, once created. */
  get client(): TaskStatusClient<TUpdate> | undefined {
    return this.#client;
  }

  /** The connection state as of the last event seen. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** The last error reported since a connection was last accepted. */
  get error(): TaskStatusError | undefined {
    return this.#error;
  }

  /** A number that changes whenever the task table may have changed. */
  get version(): number {
    return this.#version;
  }

  /** Counts one more holder; the first creates the client if needed and connects it. */
  acquire(): void {
    this.#holds += 1;
    if (this.#releaseTimer !== undefined) {
      // Released and acquired again within a tick (StrictMode's remount, one consumer replacing
      // another): keep the client and its socket. With no client (its options threw), this
      // holder tries again below, and meets the error too.
      clearTimeout(this.#releaseTimer);
      this.#releaseTimer = undefined;
      if (this.#client !== undefined) return;
    }
    if (this.#holds > 1) return;
    this.#client ??= createTaskStatusClient(this.#options as TaskStatusClientOptions<TUpdate>);
    this.#attach(this.#client);
    void this.#client.connect();
  }

  /** Counts one holder less; after the last, the client is let go a tick later. */
  release(): void {
    if (this.#holds === 0) return;
    this.#holds -= 1;
    if (this.#holds > 0 || this.#releaseTimer !== undefined) return;
    this.#releaseTimer = setTimeout(() => {
      this.#releaseTimer = undefined;
      if (this.#holds === 0) this.#letGo();
    }, 0);
  }

  /** Lets the client go now, whoever holds it (an app being unmounted). */
  dispose(): void {
    if (this.#releaseTimer !== undefined) clearTimeout(this.#releaseTimer);
    this.#releaseTimer = undefined;
    this.#holds = 0;
    this.#letGo();
  }

  /** Subscribes to every change; returns the unsubscribe function. */
  readonly subscribe = (listener: Listener): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  /** Subscribes to the changes of one task (`42` and `'42'` are the same task). */
  subscribeTask(taskId: TaskId, listener: Listener): () => void {
    const key = String(taskId);
    let set = this.#taskListeners.get(key);
    if (set === undefined) {
      set = new Set();
      this.#taskListeners.set(key, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.#taskListeners.get(key) === set) this.#taskListeners.delete(key);
    };
  }

  /** The current snapshot: the same object until something changes. */
  readonly getSnapshot = (): TaskStatusSnapshot<TUpdate> => {
    this.#snapshot ??= Object.freeze({
      state: this.#state,
      tasks: this.tasks,
      error: this.#error,
      client: this.#client,
    });
    return this.#snapshot;
  };

  /** The snapshot before anything ran (`idle`, no task): what a server render and hydration see. */
  readonly getInitialSnapshot = (): TaskStatusSnapshot<TUpdate> => this.#initial;

  /** The latest update of a task, or `undefined`. */
  getTask(taskId: TaskId): TUpdate | undefined {
    return this.#client?.getTask(taskId);
  }

  /** A copy of the task table, taken at most once per change. */
  get tasks(): ReadonlyMap<TaskId, TUpdate> {
    if (this.#tasks.version !== this.#version) {
      this.#tasks = { version: this.#version, map: new Map(this.#client?.tasks ?? []) };
    }
    return this.#tasks.map;
  }

  #attach(client: TaskStatusClient<TUpdate>): void {
    const onState = (state: ConnectionState) => {
      this.#state = state;
      this.#changed();
    };
    const onError = (error: TaskStatusError) => {
      this.#error = error;
      this.#changed();
    };
    const onOpen = () => {
      if (this.#error === undefined) return;
      this.#error = undefined;
      this.#changed();
    };
    let forgotten = client.stats.forgotten;
    const onTask = (update: TUpdate) => {
      this.#version += 1;
      // A new task can make the table forget finished ones: their followers are told too.
      const before = forgotten;
      forgotten = client.stats.forgotten;
      this.#changed(forgotten === before ? String(update.taskId) : ALL_TASKS);
    };
    client.on('state', onState);
    client.on('error', onError);
    client.on('open', onOpen);
    client.on('task', onTask);
    this.#detach = () => {
      client.off('state', onState);
      client.off('error', onError);
      client.off('open', onOpen);
      client.off('task', onTask);
    };
    // The client may have changed while nobody held it (or before, if the app passed it in).
    this.#state = client.state;
    this.#version += 1;
    this.#changed(ALL_TASKS);
  }

  #letGo(): void {
    // Closed before detaching, so the last snapshot says `closed`.
    if (this.#owned) void this.#client?.close();
    this.#detach?.();
    this.#detach = undefined;
  }

  /** Tells the listeners of one task (or of all, or of none), then every general listener. */
  #changed(tasks?: string | typeof ALL_TASKS): void {
    this.#snapshot = undefined;
    let sets: Set<Listener>[] = [];
    if (tasks === ALL_TASKS) sets = [...this.#taskListeners.values()];
    else if (tasks !== undefined) sets = [this.#taskListeners.get(tasks) ?? new Set()];
    for (const set of sets) for (const listener of [...set]) listener();
    for (const listener of [...this.#listeners]) listener();
  }
}
