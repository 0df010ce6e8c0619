import { hasNetworkEvents, listenNetwork, waitsForOnline } from './online.js';
import { Timer } from './timers.js';

/**
 * The wait before a reconnect attempt: a timer, except that in a browser that is offline it waits
 * for the `online` event instead, and `online` always cuts a wait short. The `offline` event
 * stops the timer of a wait under way, which then lasts until `online`. One at a time.
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
    if (hasNetworkEvents()) {
      this.#stopListening = listenNetwork((event) => {
        if (event.type === 'online') done();
        // Gone offline mid-wait: an attempt now would fail, so the rest of the wait is for
        // `online`. Only if `navigator.onLine` says so too, or nothing might ever fire `online`.
        else if (waitsForOnline()) this.#timer.clear();
      });
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
