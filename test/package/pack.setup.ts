/**
 * Global setup of the `package` project: packs the package once for all of its test files. The
 * pack (whose `prepack` builds) runs in the background, so that the other projects' tests start
 * at once, as they did when one test file packed in its own `beforeAll`. A test file waits for
 * the tarball with `packedTarball()` from `./tarball.ts`.
 */
import { mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { exec, repo } from './exec.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where the pack's outcome appears: see `./tarball.ts`. */
    packDirectory: string;
  }
}

/** The file, in the pack directory, that holds `{ tarball }` or `{ error }` once the pack ends. */
export const PACK_RESULT = 'result.json';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const directory = await mkdtemp(path.join(tmpdir(), 'task-status-client-pack-'));
  project.provide('packDirectory', directory);
  const packing = pack(directory);
  return async () => {
    await packing;
    await rm(directory, { recursive: true, force: true });
  };
}

/** Packs into `directory/out`, then writes the outcome; never rejects. */
async function pack(directory: string): Promise<void> {
  const out = path.join(directory, 'out');
  let result: { tarball: string } | { error: string };
  try {
    await mkdir(out);
    await exec('npm', ['pack', '--pack-destination', out], repo);
    const packed = (await readdir(out)).filter((name) => name.endsWith('.tgz'));
    if (packed.length !== 1) throw new Error(`\`npm pack\` left ${packed.length} tarballs`);
    result = { tarball: path.join(out, packed[0] ?? '') };
  } catch (error) {
    result = { error: error instanceof Error ? error.message : String(error) };
  }
  // Written whole, then renamed: a test file never reads half of it.
  const file = path.join(directory, PACK_RESULT);
  await writeFile(`${file}.partial`, JSON.stringify(result));
  await rename(`${file}.partial`, file);
}
