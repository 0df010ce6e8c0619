import { setImmediate as nextTurn } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
// A context made after the flag is set has `gc`, whatever flags the process started with.
const gc = runInNewContext('gc') as () => void;

/**
 * Whether what `make` returns is garbage once `make` is done with it: nothing else keeps it.
 * A `WeakRef` holds its target until the current turn ends, so the collection waits for the next.
 */
export async function isCollectable(make: () => object): Promise<boolean> {
  const ref = new WeakRef(make());
  await nextTurn();
  gc();
  return ref.deref() === undefined;
}
