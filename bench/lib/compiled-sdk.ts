/**
 * The SDK compiled the way the package build compiles it (esbuild, no `keepNames`), for the heap
 * benchmark. Under tsx every function keeps its name through `__name(fn, 'name')`, which gives
 * each closure its own property store (about 256 bytes on V8); a client creates a few dozen
 * closures, so heap figures taken through tsx overstate what a user of the package pays.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { ROOT } from './child.js';

let compiled: Promise<string> | undefined;

/**
 * Bundles `src/index.ts` (dependencies left external) into node_modules/.cache; returns its URL.
 * Once per run: the throughput and idle-heap benchmarks share the build.
 */
export function compileSdk(): Promise<string> {
  compiled ??= buildSdk();
  return compiled;
}

async function buildSdk(): Promise<string> {
  const outdir = fileURLToPath(
    new URL('node_modules/.cache/task-status-bench/', pathToFileURL(ROOT)),
  );
  mkdirSync(outdir, { recursive: true });
  const outfile = `${outdir}sdk.mjs`;
  await build({
    entryPoints: [fileURLToPath(new URL('src/index.ts', pathToFileURL(ROOT)))],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'es2022',
    packages: 'external',
    outfile,
    logLevel: 'error',
  });
  return pathToFileURL(outfile).href;
}
