/**
 * A WebSocket double driven by hand, with no test-runner import: test files and the child-process
 * fixtures use it alike.
 */
import type { MessageEventLike, WebSocketConstructor, WebSocketLike } from '../../../src/index.js';

/** A hand-driven WebSocket double: the test opens it, feeds it frames and drops it. */
export interface FakeSocket extends WebSocketLike {
  readonly url: string;
  /** Frames the client sent. */
  readonly sent: string[];
  /** Completes the opening handshake. */
  open(): void;
  /** Delivers one frame, exactly as a platform WebSocket would call `onmessage`. */
  receive(data: unknown): void;
  /**
   * Resolves once the client has handled every frame received so far: it handles them in a
   * microtask queued at the first, and this one is queued after it.
   */
  handled(): Promise<void>;
  /** Ends the socket from the network side. */
  drop(code?: number, reason?: string): void;
}

/** A fresh WebSocket class per test, remembering every socket it made. */
export function fakeWebSocket(): { WebSocket: WebSocketConstructor; sockets: FakeSocket[] } {
  const sockets: FakeSocket[] = [];
  class Fake implements FakeSocket {
    readonly sent: string[] = [];
    readyState = 0;
    binaryType = 'blob';
    onopen: WebSocketLike['onopen'] = null;
    onmessage: WebSocketLike['onmessage'] = null;
    onclose: WebSocketLike['onclose'] = null;
    onerror: WebSocketLike['onerror'] = null;

    constructor(readonly url: string) {
      sockets.push(this);
    }

    open(): void {
      this.readyState = 1;
      this.onopen?.({});
    }

    receive(data: unknown): void {
      const event: MessageEventLike = { data };
      this.onmessage?.(event);
    }

    handled(): Promise<void> {
      return new Promise((resolve) => queueMicrotask(resolve));
    }

    drop(code = 1006, reason = ''): void {
      if (this.readyState === 3) return;
      this.readyState = 3;
      this.onclose?.({ code, reason, wasClean: code !== 1006 });
    }

    send(data: string): void {
      this.sent.push(data);
    }

    close(code = 1000, reason = ''): void {
      this.drop(code, reason);
    }
  }
  return { WebSocket: Fake, sockets };
}
