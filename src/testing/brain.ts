/**
 * The server side of the task-status protocol, with no socket of its own: accept, authenticate,
 * acknowledge or refuse, answer pings, send pings, stream task updates. Each transport (msw's
 * `ws.link`, a real `ws` server) hands it an open socket as a `send`/`close` pair and feeds it
 * what the socket receives, so both behave the same by construction.
 */

import {
  CloseCode,
  PING_FRAME,
  PONG_FRAME,
  parseServerFrame,
  type TaskId,
  TaskStatusError,
  type TaskUpdateFrame,
} from 'task-status-client';
import { Timer } from '../client/timers.js';
import { instant } from '../protocol/date-time.js';
import { checkObject, checkString, invalid, shown } from './checks.js';
import {
  type ResolvedSimulation,
  resolveSimulation,
  type Simulation,
  type SimulationOptions,
  startSimulation,
} from './simulator.js';
import {
  type AuthRejection,
  checkCloseCode,
  type ResolvedTaskServerOptions,
  resolveTaskServerOptions,
  type ServerClient,
  type ServerClientState,
  type TaskServerControls,
  type TaskServerOptions,
  type TaskUpdateInput,
  type UserId,
} from './types.js';

/** An open server-side socket, as a transport exposes it to the brain. */
export interface BrainSocket {
  /** Sends a text frame, or a binary frame for bytes. */
  send(data: string | Uint8Array): void;
  close(code: number, reason: string): void;
}

/** What the transport knows about a new connection. */
export interface ConnectionRequest {
  /** Path and query (a full URL works too). */
  readonly url: string;
  /** The user id from the path, percent-decoded. */
  readonly userId: string;
}

/** How a transport reports what happens on a socket it handed to the brain. */
export interface BrainConnection {
  /** A text frame arrived from the client. */
  receive(text: string): void;
  /** The socket closed, whoever closed it. */
  closed(code: number, reason: string): void;
}

interface Rejection {
  readonly code: string;
  readonly message: string;
  readonly closeCode: number;
}

type Verdict = { readonly ok: true; readonly userId: UserId } | Rejection;

interface TaskEntry {
  frame: TaskUpdateFrame;
  time: number;
}

interface OptionRun {
  readonly options: ResolvedSimulation;
  runs: number;
  current: Simulation | undefined;
}

/** One connection: the public {@link ServerClient} view plus the socket and its ping timer. */
class ClientRecord implements ServerClient {
  state: ServerClientState = 'authenticating';
  silenced = false;
  closeCode: number | null = null;
  closeReason: string | null = null;
  readonly received: string[] = [];
  readonly #socket: BrainSocket;
  readonly #pinger = new Timer();

  constructor(
    readonly id: number,
    readonly userId: string,
    readonly token: string | null,
    readonly url: string,
    socket: BrainSocket,
  ) {
    this.#socket = socket;
  }

  get live(): boolean {
    return this.state === 'authenticating' || this.state === 'open';
  }

  send(data: string | Uint8Array): void {
    if (this.state === 'open' && !this.silenced) this.#socket.send(data);
  }

  sendNow(text: string): void {
    this.#socket.send(text);
  }

  /** Runs `ping` after `ms` (replacing a pending one); cleared by `stopPinging` and `close`. */
  pingAfter(ms: number, ping: () => void): void {
    this.#pinger.start(ms, ping);
  }

  stopPinging(): void {
    this.#pinger.clear();
  }

  close(state: 'closed' | 'rejected', code: number, reason: string): void {
    this.#pinger.clear();
    this.state = state;
    this.closeCode = code;
    this.closeReason = reason;
    this.#socket.close(code, reason);
  }
}

/**
 * The transport-agnostic protocol brain. Transports extend it and call {@link accept} for each
 * socket they open; everything a test calls is a {@link TaskServerControls} method.
 */
export class TaskServerBrain implements TaskServerControls {
  protected readonly options: ResolvedTaskServerOptions;
  #nextId = 1;
  #records: ClientRecord[] = [];
  /** Per user, the latest update of each task, by `String(taskId)`: `42` and `'42'` are one. */
  readonly #tables = new Map<string, Map<string, TaskEntry>>();
  readonly #rejections: Rejection[] = [];
  readonly #simulations = new Set<Simulation>();
  readonly #optionRuns: OptionRun[];

  constructor(options: TaskServerOptions, transportKeys: readonly string[]) {
    this.options = resolveTaskServerOptions(options, transportKeys);
    this.#optionRuns = this.options.simulate.map((sim) => ({
      options: sim,
      runs: 0,
      current: undefined,
    }));
  }

  /** Transport-facing: a socket is open (server side). Authentication starts at once. */
  accept(socket: BrainSocket, request: ConnectionRequest): BrainConnection {
    const token = new URL(request.url, 'ws://localhost').searchParams.get('token');
    const record = new ClientRecord(this.#nextId++, request.userId, token, request.url, socket);
    this.#records.push(record);
    const queued = this.#rejections.shift();
    void this.#authenticate(record, queued);
    return {
      receive: (text) => this.#receive(record, text),
      closed: (code, reason) => {
        record.stopPinging();
        if (record.live) record.state = 'closed';
        record.closeCode ??= code;
        record.closeReason ??= reason;
      },
    };
  }

  get clients(): readonly ServerClient[] {
    return this.#records.filter((record) => record.live);
  }

  get connections(): readonly ServerClient[] {
    return [...this.#records];
  }

  tasks(userId: UserId): readonly TaskUpdateFrame[] {
    return [...(this.#tables.get(String(userId))?.values() ?? [])].map((entry) => entry.frame);
  }

  pushUpdate(userId: UserId, update: TaskUpdateInput): TaskUpdateFrame {
    checkUpdate(update);
    const table = this.#table(userId);
    const previous = table.get(String(update.taskId));
    const { time, iso } = updateTime(update.updatedAt, previous?.time);
    const frame: TaskUpdateFrame = {
      type: 'task_update',
      task_id: update.taskId,
      status: update.status,
      progress: update.progress ?? null,
      message: update.message ?? null,
      result: update.result ?? null,
      error: update.error ?? null,
      updated_at: iso,
    };
    let text: string;
    try {
      text = JSON.stringify(frame);
    } catch (cause) {
      const why = cause instanceof Error ? cause.message : String(cause);
      throw new TaskStatusError('INVALID_OPTIONS', `pushUpdate: not writable as JSON (${why})`);
    }
    const parsed = parseServerFrame(text);
    if (parsed.kind !== 'task_update') {
      const why = parsed.kind === 'invalid' ? parsed.error.message : parsed.kind;
      throw new TaskStatusError('INVALID_OPTIONS', `pushUpdate: not a valid update (${why})`);
    }
    if (!Number.isFinite(time)) {
      const why = `updatedAt ${iso} is not a time this engine can read`;
      throw new TaskStatusError('INVALID_OPTIONS', `pushUpdate: ${why}`);
    }
    table.set(String(update.taskId), { frame, time });
    this.#broadcast(userId, text);
    return frame;
  }

  completeTask(userId: UserId, taskId: TaskId, result: unknown = null): TaskUpdateFrame {
    return this.pushUpdate(userId, { taskId, status: 'completed', progress: 100, result });
  }

  failTask(userId: UserId, taskId: TaskId, error: unknown = 'Task failed'): TaskUpdateFrame {
    const held = this.#tables.get(String(userId))?.get(String(taskId));
    const progress = held?.frame.progress ?? null;
    return this.pushUpdate(userId, { taskId, status: 'failed', progress, error });
  }

  sendRaw(userId: UserId, frame: string | ArrayBuffer | ArrayBufferView | object): void {
    let data: string | Uint8Array;
    if (typeof frame === 'string') data = frame;
    else if (frame instanceof ArrayBuffer) data = new Uint8Array(frame);
    else if (ArrayBuffer.isView(frame)) {
      data = new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength);
    } else data = rawJson(frame);
    this.#broadcast(userId, data);
  }

  closeAll(code: number = CloseCode.Normal, reason = ''): void {
    checkCloseCode(code, 'closeAll(code)');
    if (typeof reason !== 'string') {
      throw invalid('closeAll(reason)', `must be a string, got ${shown(reason)}`);
    }
    if (new TextEncoder().encode(reason).length > MAX_REASON_BYTES) {
      throw invalid('closeAll(reason)', 'must be at most 123 bytes of UTF-8');
    }
    for (const record of this.#records) {
      if (record.live) record.close('closed', code, reason);
    }
  }

  silence(userId?: UserId): void {
    for (const record of this.#records) {
      if (!record.live || (userId !== undefined && record.userId !== String(userId))) continue;
      record.silenced = true;
      record.stopPinging();
    }
  }

  rejectNextAuth(rejection: string | AuthRejection = {}): void {
    const where = 'rejectNextAuth(rejection)';
    if (typeof rejection !== 'string' && (typeof rejection !== 'object' || rejection === null)) {
      throw invalid(
        where,
        `must be a code or { code, message, closeCode }, got ${shown(rejection)}`,
      );
    }
    const given = typeof rejection === 'string' ? { code: rejection } : rejection;
    this.#rejections.push(this.#rejection(given, where, (key) => `${where}.${key}`));
  }

  /** An {@link AuthRejection} checked and with its defaults; `where` and `keyName` name a bad part. */
  #rejection(given: unknown, where: string, keyName: (key: string) => string): Rejection {
    checkObject(given, where, REJECTION_KEYS, keyName);
    const { code, message, closeCode = this.options.errorCloseCode } = given;
    checkString(code, keyName('code'));
    checkString(message, keyName('message'));
    checkCloseCode(closeCode, keyName('closeCode'));
    return {
      code: code ?? 'auth_failed',
      message: message ?? 'Authentication failed',
      closeCode,
    };
  }

  simulate(options: SimulationOptions): Simulation {
    return this.#startSimulation(resolveSimulation(options));
  }

  reset(): void {
    this.#stopActivity(CloseCode.GoingAway, 'server reset');
    this.#records = [];
    this.#tables.clear();
    this.#rejections.length = 0;
    for (const run of this.#optionRuns) run.runs = 0;
  }

  /** Closes every connection and stops every simulation, keeping the tables (restart, close). */
  protected stopActivity(code: number, reason: string): void {
    this.#stopActivity(code, reason);
  }

  #stopActivity(code: number, reason: string): void {
    for (const simulation of this.#simulations) simulation.stop();
    this.#simulations.clear();
    for (const run of this.#optionRuns) run.current = undefined;
    this.closeAll(code, reason);
  }

  async #authenticate(record: ClientRecord, queued: Rejection | undefined): Promise<void> {
    const verdict = queued ?? (await this.#verify(record));
    if (record.state !== 'authenticating') return;
    if (!('ok' in verdict)) {
      record.sendNow(this.#errorFrame(verdict.code, verdict.message));
      record.close('rejected', verdict.closeCode, closeReason(verdict.code));
      return;
    }
    record.state = 'open';
    const { ack, snapshotOnConnect } = this.options;
    if (ack) record.send(JSON.stringify({ type: 'connected', user_id: verdict.userId }));
    if (snapshotOnConnect) {
      for (const frame of this.tasks(record.userId)) record.send(JSON.stringify(frame));
    }
    this.#schedulePing(record);
    this.#startOptionRuns(record.userId);
  }

  async #verify(record: ClientRecord): Promise<Verdict> {
    const { token, userId } = record;
    const closeCode = this.options.errorCloseCode;
    if (token === null || token === '') {
      return { code: 'auth_failed', message: 'Authentication failed: missing token', closeCode };
    }
    let result: Awaited<ReturnType<ResolvedTaskServerOptions['verify']>>;
    try {
      result = await this.options.verify(token, { userId });
      // A refusal of the verifier's own; a bad close code in it is the verifier's error.
      if (typeof result === 'object' && result !== null) {
        const where = 'a rejection from tokens()';
        return this.#rejection(result, where, (key) => `the ${key} of ${where}`);
      }
    } catch (error) {
      const message = `Token verification failed: ${error instanceof Error ? error.message : String(error)}`;
      return { code: 'internal_error', message, closeCode: CloseCode.InternalError };
    }
    if (result === true) return { ok: true, userId: naturalUserId(userId) };
    if (result === false || result === null || result === undefined) {
      const message = 'Authentication failed: invalid or expired token';
      return { code: 'auth_failed', message, closeCode };
    }
    if (String(result) !== userId) {
      const message = `Forbidden: the token does not grant access to user ${userId}`;
      return { code: 'forbidden', message, closeCode };
    }
    return { ok: true, userId: result };
  }

  #errorFrame(code: string, message: string): string {
    const format = this.options.errorFormat;
    if (format === 'text') return message;
    return JSON.stringify(
      format === 'detail' ? { detail: message } : { type: 'error', code, message },
    );
  }

  #receive(record: ClientRecord, text: string): void {
    record.received.push(text);
    const trimmed = text.trim();
    if (trimmed === 'ping') record.send('pong');
    else if (trimmed.startsWith('{') && isJsonPing(trimmed)) record.send(PONG_FRAME);
  }

  #schedulePing(record: ClientRecord): void {
    const heartbeat = this.options.heartbeat;
    if (heartbeat === false) return;
    record.pingAfter(heartbeat.intervalMs, () => {
      if (record.state !== 'open' || record.silenced) return;
      record.send(heartbeat.format === 'text' ? 'ping' : PING_FRAME);
      this.#schedulePing(record);
    });
  }

  #broadcast(userId: UserId, data: string | Uint8Array): void {
    const key = String(userId);
    for (const record of this.#records) {
      if (record.userId === key) record.send(data);
    }
  }

  #table(userId: UserId): Map<string, TaskEntry> {
    const key = String(userId);
    let table = this.#tables.get(key);
    if (table === undefined) {
      table = new Map();
      this.#tables.set(key, table);
    }
    return table;
  }

  #startOptionRuns(userId: string): void {
    for (const run of this.#optionRuns) {
      if (String(run.options.userId) !== userId || run.current?.running) continue;
      const firstTaskId = run.options.firstTaskId + run.runs * run.options.tasks;
      run.runs += 1;
      run.current = this.#startSimulation({ ...run.options, firstTaskId });
    }
  }

  #startSimulation(options: ResolvedSimulation): Simulation {
    const simulation = startSimulation((user, update) => this.pushUpdate(user, update), options);
    this.#simulations.add(simulation);
    void simulation.done.then(() => this.#simulations.delete(simulation));
    return simulation;
  }
}

/** `'2'` → `2`, so the ack carries the id as the backend would; other strings stay strings. */
function naturalUserId(userId: string): UserId {
  const value = Number(userId);
  return /^\d+$/.test(userId) && Number.isSafeInteger(value) ? value : userId;
}

function isJsonPing(text: string): boolean {
  try {
    return (JSON.parse(text) as { type?: unknown } | null)?.type === 'ping';
  } catch {
    return false;
  }
}

const REJECTION_KEYS = ['code', 'message', 'closeCode'];

/**
 * What `pushUpdate` cannot leave to the client's frame check: a value JSON writes as something
 * else (`NaN` goes out as `null`), and an `updatedAt` that is neither a string nor a Date.
 */
function checkUpdate(update: unknown): asserts update is TaskUpdateInput {
  if (typeof update !== 'object' || update === null || Array.isArray(update)) {
    throw invalid(
      'pushUpdate(update)',
      `must be an object with taskId and status, got ${shown(update)}`,
    );
  }
  const { progress, updatedAt } = update as Record<string, unknown>;
  if (typeof progress === 'number' && !Number.isFinite(progress)) {
    throw invalid('pushUpdate(update).progress', `must be a finite number, got ${progress}`);
  }
  if (updatedAt !== undefined && typeof updatedAt !== 'string' && !(updatedAt instanceof Date)) {
    const got = shown(updatedAt);
    throw invalid(
      'pushUpdate(update).updatedAt',
      `must be an ISO-8601 string or a Date, got ${got}`,
    );
  }
}

/** `sendRaw`'s value as JSON text; one JSON cannot write (`undefined`, a BigInt) is refused. */
function rawJson(frame: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(frame);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw invalid('sendRaw(frame)', `not writable as JSON (${why})`);
  }
  if (text === undefined) {
    throw invalid('sendRaw(frame)', `must be a string, bytes or a JSON value, got ${shown(frame)}`);
  }
  return text;
}

/** A close frame's reason may hold 123 bytes of UTF-8. */
const MAX_REASON_BYTES = 123;

/** The refusal code as a close reason: cut to 123 bytes of UTF-8, at a character boundary. */
function closeReason(code: string): string {
  let bytes = 0;
  let end = 0;
  for (const char of code) {
    const point = char.codePointAt(0) ?? 0;
    bytes += point < 0x80 ? 1 : point < 0x800 ? 2 : point < 0x10000 ? 3 : 4;
    if (bytes > MAX_REASON_BYTES) return code.slice(0, end);
    end += char.length;
  }
  return code;
}

/** The frame's `updated_at`, and its time, kept strictly after the task's previous one. */
function updateTime(
  given: string | Date | undefined,
  previous: number | undefined,
): { time: number; iso: string } {
  if (given !== undefined) {
    if (typeof given !== 'string') {
      const iso = dateToIso(given);
      return { time: given.getTime(), iso };
    }
    // As the client reads it: `Date.parse` alone cannot read every date-time the client takes
    // (`+02`), and a NaN here would make every later default time of the task invalid.
    return { time: instant(given), iso: given };
  }
  const time = Math.max(Date.now(), previous === undefined ? 0 : previous + 1);
  return { time, iso: new Date(time).toISOString() };
}

function dateToIso(date: Date): string {
  if (Number.isNaN(date.getTime())) {
    throw new TaskStatusError('INVALID_OPTIONS', 'pushUpdate: updatedAt is an invalid Date');
  }
  return date.toISOString();
}
