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

const NETWORK_EVENTS = ['online', 'offline'];

/** Calls `listener` on every `online` and `offline` event until the returned function is called. */
export function listenNetwork(listener: (event: Event) => void): () => void {
  for (const type of NETWORK_EVENTS) globalThis.addEventListener(type, listener);
  return () => {
    for (const type of NETWORK_EVENTS) globalThis.removeEventListener(type, listener);
  };
}
