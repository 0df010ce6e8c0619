import { createHook } from 'node:async_hooks';
import { onTestFinished } from 'vitest';

/** The pending timers a test made; `watchTimers()` starts the count. */
export interface TimerWatch {
  /** Ref'd timers (`setTimeout`/`setInterval`) made since the watch began and not yet done. */
  live(): number;
}

/**
 * A Node timer. `_destroyed` is set as it fires (once) or is cleared, in Node 20 and 24 alike;
 * the `destroy` hook comes later, in a batch.
 */
type Timer = NodeJS.Timeout & { _destroyed?: boolean };

/** Whether the code that called `setTimeout`/`setInterval` is the test runner's own. */
function madeByRunner(stack: string): boolean {
  const caller = stack
    .split('\n')
    .slice(1)
    .find((frame) => !frame.includes('node:') && !frame.includes('helpers/timers'));
  return caller !== undefined && /node_modules[\\/](?:@vitest|vitest)[\\/]/.test(caller);
}

/**
 * Counts the timers made from now to the end of the test, leaving out the test runner's own.
 *
 * A count of every live timer in the process also holds the runner's throttled report timer and
 * the close timers of earlier tests' sockets, which come and go on their own schedule: a before
 * and after comparison of that count fails now and then on a slow machine.
 */
export function watchTimers(): TimerWatch {
  const made = new Map<number, Timer>();
  const hook = createHook({
    init(asyncId, type, _trigger, resource) {
      if (type !== 'Timeout') return;
      if (madeByRunner(new Error().stack ?? '')) return;
      made.set(asyncId, resource as Timer);
    },
    // Node reports a timer's `destroy` some time after it has fired (once) or been cleared.
    destroy(asyncId) {
      made.delete(asyncId);
    },
  }).enable();
  onTestFinished(() => {
    hook.disable();
  });
  return {
    live() {
      let count = 0;
      for (const timer of made.values()) if (timer.hasRef() && timer._destroyed !== true) count++;
      return count;
    },
  };
}

/**
 * Resolves after every 0 ms timer set before the call has run: timers of one delay run in the
 * order they were set. A binding lets go of its client on such a timer (a tick after the last
 * holder), so awaiting this shows whether it did, with no guess at how long that takes.
 */
export function afterZeroDelayTimers(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
