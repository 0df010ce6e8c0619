/** The browser's network signals (`navigator.onLine` and the window's `online` event). */

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
