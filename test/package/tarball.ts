import { readFileSync, watch } from 'node:fs';
import path from 'node:path';
import { inject } from 'vitest';
import { PACK_RESULT } from './pack.setup.js';

/**
 * The tarball that `npm pack` made of the package for this run (see `./pack.setup.ts`), once the
 * pack is over; rejects with `npm pack`'s output when it failed. Several test files may wait at
 * once: the package is packed once.
 */
export function packedTarball(): Promise<string> {
  const directory = inject('packDirectory');
  const file = path.join(directory, PACK_RESULT);
  return new Promise((resolve, reject) => {
    let done = false;
    const check = () => {
      if (done) return;
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        text = JSON.stringify({ error: String(error) });
      }
      done = true;
      watcher.close();
      const result = JSON.parse(text) as { tarball: string } | { error: string };
      if ('error' in result) reject(new Error(result.error));
      else resolve(result.tarball);
    };
    // Watched before the first look, so that a result renamed into place in between is seen.
    const watcher = watch(directory, check);
    check();
  });
}
