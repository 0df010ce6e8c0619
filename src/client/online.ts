/** The browser's network signals (`navigator.onLine` and the window's `online` and `offline` events). */

/** Whether there are window events such as `online`: in a browser, not in Node. */
export function hasWindowEvents(): boolean {
  return typeof (globalThis as { addEventListener?: unknown }).addEventListener === 'function';
}

/** True in a browser that is offline, where a wait lasts until the `online` event. */
export function waitsForOnline(): boolean {
  const { navigator } = globalThis as { navigator?: { onLine?: unknown } };
  return hasWindowEvents() && navigator?.onLine === false;
}

/** Calls `listener` on every one of the window's `events` until the returned function is called. */
export function listenWindow(events: readonly string[], listener: () => void): () => void {
  for (const event of events) globalThis.addEventListener(event, listener);
  return () => {
    for (const event of events) globalThis.removeEventListener(event, listener);
  };
}
