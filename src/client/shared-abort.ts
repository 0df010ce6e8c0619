import { rethrowLater } from './rethrow.js';

/** The one `abort` listener on a signal, and the handlers it calls. */
interface Subscription {
  readonly listener: () => void;
  readonly handlers: Set<() => void>;
}

const SUBSCRIPTIONS = new WeakMap<AbortSignal, Subscription>();

/**
 * Calls `handler` when `signal` aborts, until the returned function is called. However many
 * clients, iterators and waits share a signal (a service's one shutdown signal for hundreds of
 * clients), the signal holds a single listener: Node warns of a possible leak past 10 listeners
 * on an `AbortSignal`.
 */
export function onAbort(signal: AbortSignal, handler: () => void): () => void {
  let subscription = SUBSCRIPTIONS.get(signal);
  if (subscription === undefined) {
    const handlers = new Set<() => void>();
    const listener = () => {
      SUBSCRIPTIONS.delete(signal);
      signal.removeEventListener('abort', listener);
      // A copy: each handler unsubscribes as it runs.
      for (const each of [...handlers]) {
        try {
          each();
        } catch (error) {
          rethrowLater(error);
        }
      }
    };
    subscription = { listener, handlers };
    SUBSCRIPTIONS.set(signal, subscription);
    signal.addEventListener('abort', listener);
  }
  const { listener, handlers } = subscription;
  handlers.add(handler);
  return () => {
    handlers.delete(handler);
    if (handlers.size !== 0 || SUBSCRIPTIONS.get(signal) !== subscription) return;
    SUBSCRIPTIONS.delete(signal);
    signal.removeEventListener('abort', listener);
  };
}
