import { Timer } from './timers.js';

/** Whether there are window events such as `online`: in a browser, not in Node. */
export function hasWindowEvents(): boolean {
  return typeof (globalThis as { addEventListener?: unknown }).addEventListener === 'function';
}

/** True in a browser that is offline, where a wait lasts until the `online` event. */
export function waitsForOnline(): boolean {
  const { navigator } = globalThis as { navigator?: { onLine?: unknown } };
  return hasWindowEvents() && navigator?.onLine === false;
}

/** Calls `listener` on every `online` event until the returned function is called. */
export function listenOnline(listener: () => void): () => void {
  globalThis.addEventListener('online', listener);
  return () => globalThis.removeEventListener('online', listener);
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
    if (hasWindowEvents()) {
      this.#stopListening = listenOnline(done);
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
