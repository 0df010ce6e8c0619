import { Timer } from './timers.js';

/** True in a browser that is offline, where a wait lasts until the `online` event. */
export function waitsForOnline(): boolean {
  const target = globalThis as { addEventListener?: unknown; navigator?: { onLine?: unknown } };
  return typeof target.addEventListener === 'function' && target.navigator?.onLine === false;
}

/**
 * The wait before a reconnect attempt: a timer, except that in a browser that is offline it waits
 * for the `online` event instead, and `online` always cuts a wait short. One at a time.
 */
export class RetryWait {
  readonly #timer = new Timer();
  #stopListening: (() => void) | undefined;

  /** True while a wait is under way. */
  get pending(): boolean {
    return this.#timer.pending || this.#stopListening !== undefined;
  }

  start(delayMs: number, go: () => void): void {
    this.cancel();
    const done = () => {
      this.cancel();
      go();
    };
    if (typeof (globalThis as { addEventListener?: unknown }).addEventListener === 'function') {
      globalThis.addEventListener('online', done);
      this.#stopListening = () => globalThis.removeEventListener('online', done);
      if (waitsForOnline()) return;
    }
    this.#timer.start(delayMs, done);
  }

  cancel(): void {
    this.#timer.clear();
    this.#stopListening?.();
    this.#stopListening = undefined;
  }
}
