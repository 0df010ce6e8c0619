/**
 * What a user installs with the package: the library's four runtime dependencies and nothing
 * they pull in besides, the `task-status` command's own seven (which no library entry imports),
 * no install scripts, and a lockfile that agrees with package.json.
 */
import { readFileSync } from 'node:fs';
import * as esbuild from 'esbuild';
import { describe, expect, it } from 'vitest';

const RUNTIME = ['eventemitter3', 'isomorphic-ws', 'ws', 'zod'];
/**
 * The CLI's argument parser, terminal redraw, colours, display widths for cutting lines to the
 * terminal (already in log-update's own tree), and the choice of a proxy and the tunnel through
 * it: see docs/decisions/0003.
 */
const CLI_ONLY = [
  'commander',
  'https-proxy-agent',
  'log-update',
  'picocolors',
  'proxy-from-env',
  'slice-ansi',
  'string-width',
];
const LIBRARY_ENTRIES = [
  'src/index.ts',
  'src/schemas.ts',
  'src/testing/index.ts',
  'src/react/index.ts',
  'src/vue/index.ts',
];

interface LockEntry {
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  hasInstallScript?: boolean;
  dev?: boolean;
}

const read = <T>(file: string): T =>
  JSON.parse(readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8')) as T;
const manifest = read<{ dependencies?: Record<string, string> }>('package.json');
const lock = read<{ packages: Record<string, LockEntry> }>('package-lock.json');

/** The lockfile path a `require(name)` from the package at `from` resolves to. */
function resolve(name: string, from: string): string | undefined {
  for (let dir = from; ; dir = dir.slice(0, Math.max(0, dir.lastIndexOf('/node_modules/')))) {
    const candidate = `${dir === '' ? '' : `${dir}/`}node_modules/${name}`;
    if (lock.packages[candidate] !== undefined) return candidate;
    if (dir === '') return undefined;
  }
}

/** Every installed package reachable from the root's runtime dependencies, by name. */
function runtimeClosure(roots: readonly string[]): Map<string, LockEntry> {
  const seen = new Map<string, LockEntry>();
  const queue = roots.map((name) => ({ name, from: '' }));
  for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
    const path = resolve(item.name, item.from);
    const entry = path === undefined ? undefined : lock.packages[path];
    if (path === undefined || entry === undefined || seen.has(path)) continue;
    seen.set(path, entry);
    const required = [
      ...Object.keys(entry.dependencies ?? {}),
      ...Object.keys(entry.optionalDependencies ?? {}),
      ...Object.keys(entry.peerDependencies ?? {}).filter(
        (peer) => entry.peerDependenciesMeta?.[peer]?.optional !== true,
      ),
    ];
    for (const name of required) queue.push({ name, from: path });
  }
  return seen;
}

describe('supply chain', () => {
  it('depends at runtime on eventemitter3, isomorphic-ws, ws and zod, plus the CLI seven', () => {
    expect(Object.keys(manifest.dependencies ?? {}).sort()).toEqual(
      [...RUNTIME, ...CLI_ONLY].sort(),
    );
  });

  it('imports none of the CLI dependencies from any library entry', async () => {
    const result = await esbuild.build({
      entryPoints: LIBRARY_ENTRIES,
      bundle: true,
      write: false,
      outdir: 'out',
      platform: 'node',
      format: 'esm',
      metafile: true,
      external: ['react', 'react-dom', 'vue', 'msw', 'ws', 'zod', 'eventemitter3', 'isomorphic-ws'],
      alias: { 'task-status-client': './src/index.ts' },
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    for (const name of CLI_ONLY)
      expect(inputs.filter((path) => path.includes(`node_modules/${name}/`))).toEqual([]);
  });

  it('keeps the lockfile in step with the runtime dependencies of package.json', () => {
    expect(lock.packages['']?.dependencies).toEqual(manifest.dependencies);
  });

  it("installs nothing else with the library's four: their whole tree is the same four", () => {
    const names = [...runtimeClosure(RUNTIME).keys()].map((path) =>
      path.split('node_modules/').at(-1),
    );
    expect(names.sort()).toEqual(RUNTIME);
  });

  it('runs no install script from any runtime package, the CLI ones included', () => {
    const all = Object.keys(lock.packages['']?.dependencies ?? {});
    const scripted = [...runtimeClosure(all)].filter(
      ([, entry]) => entry.hasInstallScript === true,
    );
    expect(scripted.map(([path]) => path)).toEqual([]);
  });
});
