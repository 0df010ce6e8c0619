import { afterAll, beforeAll } from 'vitest';
import NodeWebSocket from 'ws';

/**
 * msw intercepts only the global `WebSocket`, and Node 20 has none: lends it `ws`'s class for this
 * file (Node 22+'s own is left as it is). Call it before the hook that starts msw listening.
 */
export function lendGlobalWebSocket(): void {
  let lent = false;
  beforeAll(() => {
    if (typeof globalThis.WebSocket === 'function') return;
    globalThis.WebSocket = NodeWebSocket as unknown as typeof globalThis.WebSocket;
    lent = true;
  });
  afterAll(() => {
    if (lent) Reflect.deleteProperty(globalThis, 'WebSocket');
  });
}
