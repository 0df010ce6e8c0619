import type { TaskStatusError } from '../errors.js';
import type { ParsedFrame } from '../protocol/parse.js';
import type { TaskUpdate } from '../protocol/types.js';

/** A frame as `message` listeners get it: the kinds of {@link ParsedFrame} the client delivers. */
export type MessageFrame = Extract<
  ParsedFrame,
  { readonly kind: 'connected' | 'task_update' | 'ping' | 'pong' | 'text' }
>;

/**
 * Where the client is in its life:
 * `idle → connecting → open → reconnecting → open → … → closed`.
 */
export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** Payload of the `open` event. */
export interface OpenInfo {
  /** The URL connected to, token masked. */
  readonly url: string;
  /** True when this is not the first successful connection of this client. */
  readonly reconnected: boolean;
}

/** Payload of the `close` event: an open socket closed. */
export interface CloseEventInfo {
  /** The WebSocket close code (1006 when the link dropped without a close frame). */
  readonly code: number;
  /** The close reason, token masked; `''` when none was given. */
  readonly reason: string;
  /** Whether the closing handshake completed. */
  readonly wasClean: boolean;
  /** Whether the client will try again. */
  readonly willReconnect: boolean;
}

/** Payload of the `reconnecting` event. */
export interface ReconnectingInfo {
  /** 1 for the first retry after a failure, 2 for the next, … */
  readonly attempt: number;
  /** How long the client waits before this attempt, unless `offline`. */
  readonly delayMs: number;
  /**
   * The browser is offline (`navigator.onLine` is false): the client makes no attempt until the
   * `online` event, however long that takes, and then tries at once. `delayMs` does not apply.
   * Always `false` where no `online` event fires: Node, and a Web Worker in Chromium.
   */
  readonly offline: boolean;
  /** The failure that led here. */
  readonly reason: TaskStatusError;
}

/** Payload of the `authError` event: the server refused the token. */
export interface AuthErrorInfo {
  /** The server's error code (`auth_failed`, `token_expired`, …) if it sent one. */
  readonly code: string | null;
  /** The server's message (token masked), if any: its error frame's, or else the close reason. */
  readonly message: string | null;
  /** The close code, if the verdict came as a close. */
  readonly closeCode: number | undefined;
  /** HTTP status of a refused upgrade (Node only). */
  readonly httpStatus: number | undefined;
  /** True when the client will ask the token function for a fresh token and try once more. */
  readonly willRetry: boolean;
}

/** Payload of the `resynced` event. */
export interface ResyncedInfo {
  /** Updates from `resync` that changed the table (each also emitted as `task`). */
  readonly applied: number;
  /** Updates from `resync` that were older than, or the same as, what the table held. */
  readonly stale: number;
}

/** Payload of the `heartbeat` event. */
export interface HeartbeatInfo {
  /** Time from ping to pong. */
  readonly rttMs: number;
}

/**
 * Every event of the client and its arguments, for eventemitter3's typed `on`/`once`/`off`.
 */
export interface TaskStatusEvents<TUpdate extends TaskUpdate = TaskUpdate> {
  /** The state changed. */
  state: [state: ConnectionState, previous: ConnectionState];
  /** The server accepted the token; updates flow. */
  open: [info: OpenInfo];
  /** An open socket closed. */
  close: [info: CloseEventInfo];
  /** A reconnect attempt is scheduled. */
  reconnecting: [info: ReconnectingInfo];
  /** The server refused the token. */
  authError: [info: AuthErrorInfo];
  /** Any failure, fatal or not; see `TaskStatusError.code`. Unlistened errors are harmless. */
  error: [error: TaskStatusError];
  /** A heartbeat round trip completed. */
  heartbeat: [info: HeartbeatInfo];
  /**
   * Every valid frame, heartbeats included, and plain text after the auth verdict. Error,
   * unknown and invalid frames are reported as `error` instead.
   */
  message: [frame: MessageFrame];
  /** A task update that changed the task table (stale and duplicate ones are not emitted). */
  task: [update: TUpdate];
  /** A `resync` after a reconnect finished. */
  resynced: [info: ResyncedInfo];
}
