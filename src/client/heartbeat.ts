import type { HeartbeatOptions } from './options.js';
import { Timer } from './timers.js';

/** What a heartbeat needs from its connection. */
export interface HeartbeatHooks {
  /** Send one ping frame. */
  ping(): void;
  /** Nothing arrived within `timeoutMs` of a ping: the link is dead. */
  timeout(): void;
  /** A pong came back after `rttMs`. */
  roundTrip(rttMs: number): void;
}

/**
 * Pings every `intervalMs` and expects any frame within `timeoutMs` of each ping. One timer
 * serves both waits, and an inbound frame costs a single field write (`seen`), because this
 * runs for every frame.
 */
export class Heartbeat {
  readonly #options: Readonly<Required<HeartbeatOptions>>;
  readonly #hooks: HeartbeatHooks;
  readonly #timer = new Timer();
  #alive = false;
  #awaitingPong = false;
  #sentAt = 0;

  constructor(options: Readonly<Required<HeartbeatOptions>>, hooks: HeartbeatHooks) {
    this.#options = options;
    this.#hooks = hooks;
  }

  start(): void {
    this.#timer.start(this.#options.intervalMs, this.#sendPing);
  }

  stop(): void {
    this.#timer.clear();
    this.#awaitingPong = false;
  }

  /** Any inbound frame proves the link is alive. */
  seen(): void {
    this.#alive = true;
  }

  /** A pong arrived: report the round trip and plan the next ping. */
  pong(): void {
    if (!this.#awaitingPong) return;
    this.#awaitingPong = false;
    const now = Date.now();
    this.#hooks.roundTrip(now - this.#sentAt);
    this.#timer.start(Math.max(0, this.#sentAt + this.#options.intervalMs - now), this.#sendPing);
  }

  readonly #sendPing = (): void => {
    this.#alive = false;
    this.#awaitingPong = true;
    this.#sentAt = Date.now();
    this.#timer.start(this.#options.timeoutMs, this.#checkDeadline);
    this.#hooks.ping();
  };

  readonly #checkDeadline = (): void => {
    if (!this.#alive) {
      this.#awaitingPong = false;
      this.#hooks.timeout();
      return;
    }
    // Frames kept coming though no pong did (a server that ignores pings): still alive.
    this.#awaitingPong = false;
    const rest = this.#options.intervalMs - this.#options.timeoutMs;
    this.#timer.start(Math.max(0, rest), this.#sendPing);
  };
}
