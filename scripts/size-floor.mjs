#!/usr/bin/env node
/**
 * What the root bundle's 6 KiB budget would take (docs/decisions/0006): the gzip size of the
 * root entry's browser bundle with parts of the client taken out. Each variant is measured as
 * built and once more without its message text.
 *
 * - "without the iterators, the waits and resync": `update-stream.ts`, `wait-for-task.ts` and
 *   `resync.ts` are swapped for empty modules with the same exports;
 * - "with a minimal emitter": eventemitter3 is swapped for an emitter of a few lines;
 * - "no message text": every string literal longer than 12 characters, and every literal part
 *   of a template longer than 8, is replaced by one character (found with TypeScript's parser).
 *
 * The bundles are only measured, never run. Usage: `node scripts/size-floor.mjs`.
 */
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import ts from 'typescript';
import { bundleForBrowser, GZIP_BUDGET_BYTES, kib } from './size.mjs';

const ENTRY = fileURLToPath(new URL('../src/index.ts', import.meta.url));

/** Empty stand-ins, with the exports the client imports (a missing one fails the build). */
const EMPTY_FEATURES = {
  'update-stream.ts': 'export const DEFAULT_BUFFER_SIZE = 1024; export class UpdateStream {}',
  'wait-for-task.ts': 'export function waitForTask() {}',
  'resync.ts': 'export function normaliseResyncUpdate(update) { return update; }',
};

const MINIMAL_EMITTER = `
export class EventEmitter {
  #listeners = new Map();
  on(name, listener) { this.#listeners.set(name, [...this.listeners(name), listener]); return this; }
  once(name, listener) {
    const once = (...args) => { this.off(name, once); listener(...args); };
    return this.on(name, once);
  }
  off(name, listener) {
    this.#listeners.set(name, this.listeners(name).filter((l) => l !== listener));
    return this;
  }
  emit(name, ...args) {
    const listeners = this.listeners(name);
    for (const listener of listeners) listener(...args);
    return listeners.length > 0;
  }
  listeners(name) { return this.#listeners.get(name) ?? []; }
  listenerCount(name) { return this.listeners(name).length; }
  eventNames() { return [...this.#listeners.keys()].filter((name) => this.listenerCount(name) > 0); }
  removeAllListeners(name) { if (name === undefined) this.#listeners.clear(); else this.#listeners.delete(name); return this; }
}
export default EventEmitter;
`;

/** @type {import('esbuild').Plugin} */
const withoutFeatures = {
  name: 'without-features',
  setup(build) {
    build.onLoad({ filter: /client[\\/](update-stream|wait-for-task|resync)\.ts$/ }, (args) => ({
      contents:
        EMPTY_FEATURES[/** @type {keyof typeof EMPTY_FEATURES} */ (args.path.split(/[\\/]/).pop())],
      loader: 'ts',
    }));
  },
};

/** @type {import('esbuild').Plugin} */
const withMinimalEmitter = {
  name: 'minimal-emitter',
  setup(build) {
    build.onResolve({ filter: /^eventemitter3$/ }, () => ({
      path: 'emitter',
      namespace: 'emitter',
    }));
    build.onLoad({ filter: /.*/, namespace: 'emitter' }, () => ({
      contents: MINIMAL_EMITTER,
      loader: 'js',
    }));
  },
};

/** `code` with the text of its long string literals and template parts cut to one character. */
function withoutMessageText(/** @type {string} */ code) {
  const file = ts.createSourceFile(
    'bundle.js',
    code,
    ts.ScriptTarget.Latest,
    false,
    ts.ScriptKind.JS,
  );
  /** @type {[start: number, end: number][]} */
  const cuts = [];
  /** Cuts the literal text between `open` and `close` delimiters of `node`, if long. */
  const cut = (
    /** @type {ts.Node} */ node,
    /** @type {number} */ open,
    /** @type {number} */ close,
    /** @type {number} */ longerThan,
  ) => {
    const start = node.getStart(file) + open;
    const end = node.end - close;
    if (end - start > longerThan) cuts.push([start, end]);
  };
  const visit = (/** @type {ts.Node} */ node) => {
    if (ts.isStringLiteral(node)) cut(node, 1, 1, 10);
    else if (ts.isNoSubstitutionTemplateLiteral(node)) cut(node, 1, 1, 8);
    else if (ts.isTemplateHead(node)) cut(node, 1, 2, 8);
    else if (ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) {
      cut(node, 1, ts.isTemplateTail(node) ? 1 : 2, 8);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  let out = '';
  let at = 0;
  for (const [start, end] of cuts.sort((a, b) => a[0] - b[0])) {
    out += `${code.slice(at, start)}m`;
    at = end;
  }
  return out + code.slice(at);
}

const gzip = (/** @type {string} */ code) => gzipSync(code, { level: 9 }).length;

const variants = [
  ['as it is', []],
  ['without the iterators, the waits and resync', [withoutFeatures]],
  ['with a minimal emitter instead of eventemitter3', [withMinimalEmitter]],
  ['without either', [withoutFeatures, withMinimalEmitter]],
];

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  console.log(
    `Root entry bundle, gzip -9 (budget ${kib(GZIP_BUDGET_BYTES)}): as built | no message text`,
  );
  for (const [label, plugins] of variants) {
    const result = await bundleForBrowser(
      ENTRY,
      /** @type {import('esbuild').Plugin[]} */ (plugins),
    );
    const code = result.outputFiles[0]?.text ?? '';
    const bare = withoutMessageText(code);
    console.log(
      `  ${String(label).padEnd(48)} ${kib(gzip(code)).padStart(10)} | ${kib(gzip(bare)).padStart(10)}`,
    );
  }
}
