/**
 * The network signals of a browser: `navigator.onLine` and the `online` and `offline` events of
 * a window (and of a worker in Firefox and Safari).
 */

/**
 * Whether the global object fires `online` and `offline`: a window does, a Web Worker only where
 * it has the `ononline` handler (Firefox, Safari), and Node does not. A Chromium worker updates
 * `navigator.onLine` but fires neither event, so a wait for `online` there would never end.
 */
export function hasNetworkEvents(): boolean {
  return (
    typeof (globalThis as { addEventListener?: unknown }).addEventListener === 'function' &&
    'ononline' in globalThis
  );
}

/** True where the network is known to be gone and its return fires `online`. */
export function waitsForOnline(): boolean {
  const { navigator } = globalThis as { navigator?: { onLine?: unknown } };
  return hasNetworkEvents() && navigator?.onLine === false;
}

const NETWORK_EVENTS = ['online', 'offline'];

/** Calls `listener` on every `online` and `offline` event until the returned function is called. */
export function listenNetwork(listener: (event: Event) => void): () => void {
  for (const type of NETWORK_EVENTS) globalThis.addEventListener(type, listener);
  return () => {
    for (const type of NETWORK_EVENTS) globalThis.removeEventListener(type, listener);
  };
}
