/**
 * What a user installs with the package: the four runtime dependencies chosen for it, nothing
 * they pull in besides, no install scripts, and a lockfile that agrees with package.json.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const RUNTIME = ['eventemitter3', 'isomorphic-ws', 'ws', 'zod'];

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
function runtimeClosure(): Map<string, LockEntry> {
  const seen = new Map<string, LockEntry>();
  const queue = Object.keys(lock.packages['']?.dependencies ?? {}).map((name) => ({
    name,
    from: '',
  }));
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
  it('depends at runtime on exactly eventemitter3, isomorphic-ws, ws and zod', () => {
    expect(Object.keys(manifest.dependencies ?? {}).sort()).toEqual(RUNTIME);
  });

  it('keeps the lockfile in step with the runtime dependencies of package.json', () => {
    expect(lock.packages['']?.dependencies).toEqual(manifest.dependencies);
  });

  it('installs nothing else with them: their whole tree is the same four packages', () => {
    const names = [...runtimeClosure().keys()].map((path) => path.split('node_modules/').at(-1));
    expect(names.sort()).toEqual(RUNTIME);
  });

  it('runs no install script from any runtime package', () => {
    const scripted = [...runtimeClosure()].filter(([, entry]) => entry.hasInstallScript === true);
    expect(scripted.map(([path]) => path)).toEqual([]);
  });
});
