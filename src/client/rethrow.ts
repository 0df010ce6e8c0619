/**
 * Reports an error thrown by a user's listener without letting it interrupt the client: it is
 * thrown again from a microtask of its own, an uncaught exception, as a browser reports an event
 * listener's error.
 */
export function rethrowLater(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}
