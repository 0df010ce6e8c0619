/**
 * A timeout with one owner: `start` replaces any pending run, `clear` is always safe. Every timer
 * of the client is one of these, so `close()` can clear them all.
 */
export class Timer {
  #handle: ReturnType<typeof setTimeout> | undefined;

  /** True while a callback is scheduled. */
  get pending(): boolean {
    return this.#handle !== undefined;
  }

  start(delayMs: number, callback: () => void): void {
    this.clear();
    this.#handle = setTimeout(() => {
      this.#handle = undefined;
      callback();
    }, delayMs);
  }

  clear(): void {
    if (this.#handle === undefined) return;
    clearTimeout(this.#handle);
    this.#handle = undefined;
  }
}
