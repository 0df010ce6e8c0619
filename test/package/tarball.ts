import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { inject } from 'vitest';
import { PACK_RESULT } from './pack.setup.js';

/**
 * The tarball that `npm pack` made of the package for this run (see `./pack.setup.ts`), once the
 * pack is over; rejects with `npm pack`'s output when it failed. Several test files may wait at
 * once: the package is packed once.
 */
export async function packedTarball(): Promise<string> {
  const file = path.join(inject('packDirectory'), PACK_RESULT);
  for (;;) {
    const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (text !== undefined) {
      const result = JSON.parse(text) as { tarball: string } | { error: string };
      if ('error' in result) throw new Error(result.error);
      return result.tarball;
    }
    await sleep(100);
  }
}
