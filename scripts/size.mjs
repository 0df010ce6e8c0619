#!/usr/bin/env node
/**
 * Browser bundle size of the root entry, as a user's bundler would produce it: esbuild, bundle,
 * minify, ESM, platform browser, `isomorphic-ws` aliased to the native WebSocket, every
 * dependency bundled (eventemitter3 included). Prints minified, gzip -9 and brotli (q11) sizes
 * and the largest inputs, and exits 1 when the gzip size is over budget or the bundle holds
 * something it must not (`ws`, `isomorphic-ws/node`, a `node:` module, zod).
 *
 * Also measures `dist/browser/index.js` the same way when it exists (after `npm run build`).
 *
 * Usage: `npm run size` (or `node scripts/size.mjs [--json]`).
 */
import { readdirSync, statSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { build } from 'esbuild';

/** Budget for the gzip size of the root entry's browser bundle. */
export const GZIP_BUDGET_BYTES = 6 * 1024;

const root = fileURLToPath(new URL('..', import.meta.url));
const at = (/** @type {string} */ path) =>
  fileURLToPath(new URL(path, new URL('..', import.meta.url)));

/** Inputs that must never reach the browser bundle of the root entry, with the reason. */
const FORBIDDEN = [
  { test: /(^|\/)node_modules\/ws\//, why: 'the Node `ws` package' },
  {
    test: /(^|\/)node_modules\/isomorphic-ws\/node\.js$/,
    why: 'isomorphic-ws/node (it re-exports ws)',
  },
  { test: /^node:|(^|:)node:/, why: 'a node: built-in module' },
  { test: /(^|\/)node_modules\/zod\//, why: 'zod (the root entry must not pull in the schemas)' },
];

/**
 * @typedef {object} BundleReport
 * @property {string} label
 * @property {string} entry      entry file, relative to the repository
 * @property {number} minified   bytes
 * @property {number} gzip       bytes, gzip level 9
 * @property {number} brotli     bytes, brotli quality 11
 * @property {{ path: string, bytes: number }[]} inputs  bytes each input contributes, largest first
 * @property {string[]} problems forbidden inputs or imports found
 * @property {string | undefined} note
 */

/**
 * Bundles `entry` for the browser as a user's bundler would, in memory.
 * @param {string} entry absolute path
 * @param {import('esbuild').Plugin[]} [plugins] e.g. to swap modules out for an experiment
 */
export function bundleForBrowser(entry, plugins = []) {
  return build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    alias: { 'isomorphic-ws': at('src/transport/ws-browser.ts') },
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins,
  });
}

/**
 * Bundles `entry` for the browser and measures it.
 * @param {string} entry absolute path
 * @param {string} label
 * @returns {Promise<BundleReport>}
 */
export async function measureBundle(entry, label) {
  const result = await bundleForBrowser(entry);
  const file = result.outputFiles[0];
  if (file === undefined) throw new Error(`esbuild wrote nothing for ${entry}`);
  const code = file.contents;
  const [output] = Object.values(result.metafile.outputs);
  if (output === undefined) throw new Error(`no metafile output for ${entry}`);
  const inputs = Object.entries(output.inputs)
    .map(([path, info]) => ({ path, bytes: info.bytesInOutput }))
    .sort((a, b) => b.bytes - a.bytes);
  const problems = [];
  for (const rule of FORBIDDEN) {
    const hits = inputs.filter(({ path }) => rule.test.test(path));
    if (hits.length === 0) continue;
    const bytes = hits.reduce((sum, hit) => sum + hit.bytes, 0);
    const first = hits[0]?.path ?? '';
    problems.push(`${rule.why}: ${hits.length} file(s), ${bytes} B, e.g. ${first}`);
  }
  // Anything left as an import would be fetched at run time: it must not be a Node module either.
  for (const { path } of output.imports) {
    if (path === 'ws' || path.startsWith('node:') || path.startsWith('isomorphic-ws')) {
      problems.push(`import of "${path}" left in the bundle`);
    }
  }
  return {
    label,
    entry: relative(root, entry),
    minified: code.length,
    gzip: gzipSync(code, { level: 9 }).length,
    brotli: brotliCompressSync(code, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: 11,
        [constants.BROTLI_PARAM_SIZE_HINT]: code.length,
      },
    }).length,
    inputs,
    problems,
    note: undefined,
  };
}

/** Newest modification time of any file under `dir`. */
function newestMtime(/** @type {string} */ dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    newest = Math.max(newest, statSync(`${entry.parentPath}/${entry.name}`).mtimeMs);
  }
  return newest;
}

/** The root entry from source, and the built browser entry when there is one. */
export async function measureAll() {
  const reports = [await measureBundle(at('src/index.ts'), 'src/index.ts')];
  const built = at('dist/browser/index.js');
  let builtAt = 0;
  try {
    builtAt = statSync(built).mtimeMs;
  } catch {
    return reports;
  }
  const report = await measureBundle(built, 'dist/browser/index.js');
  if (builtAt < newestMtime(at('src'))) {
    report.note = 'older than src/: run `npm run build` for a current figure';
  }
  reports.push(report);
  return reports;
}

/** `bytes` as KiB with two decimals. */
export const kib = (/** @type {number} */ bytes) => `${(bytes / 1024).toFixed(2)} KiB`;

function print(/** @type {BundleReport[]} */ reports) {
  console.log(
    `Browser bundle of the root entry (esbuild minify, ESM, platform browser, all deps bundled)`,
  );
  console.log(`budget: gzip <= ${kib(GZIP_BUDGET_BYTES)} (${GZIP_BUDGET_BYTES} B)\n`);
  for (const report of reports) {
    const over = report.gzip - GZIP_BUDGET_BYTES;
    const verdict = over > 0 ? `FAIL (${over} B over)` : `PASS (${-over} B to spare)`;
    console.log(
      `${report.label.padEnd(24)} min ${String(report.minified).padStart(6)} B  ` +
        `gzip ${String(report.gzip).padStart(5)} B (${kib(report.gzip)})  ` +
        `br ${String(report.brotli).padStart(5)} B  ${verdict}`,
    );
    if (report.note !== undefined) console.log(`  note: ${report.note}`);
    for (const problem of report.problems) console.log(`  FORBIDDEN ${problem}`);
    console.log('  largest inputs (minified bytes in the output):');
    for (const input of report.inputs.slice(0, 12)) {
      console.log(`    ${String(input.bytes).padStart(6)}  ${input.path}`);
    }
    console.log('');
  }
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const reports = await measureAll();
  if (process.argv.includes('--json')) console.log(JSON.stringify(reports, null, 2));
  else print(reports);
  const failed = reports.filter((r) => r.gzip > GZIP_BUDGET_BYTES || r.problems.length > 0);
  if (failed.length > 0) {
    console.error(
      `size: ${failed.map((r) => r.label).join(', ')} over budget or holding forbidden modules ` +
        '(why the root bundle is over budget, and what 6 KiB would take: ' +
        'docs/decisions/0006-root-bundle-over-budget.md, `node scripts/size-floor.mjs`)',
    );
    process.exit(1);
  }
}
