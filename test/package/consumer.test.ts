/**
 * The published package, used the way consumers use it: the tarball from `npm pack` is unpacked
 * into a scratch project and loaded by real Node processes (ESM and CJS, the host Node and Node
 * 24), type-checked by `tsc` in three resolution modes, and bundled by esbuild for the browser.
 */
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec, repo } from './exec.js';
import { packedTarball } from './tarball.js';

const PACKAGE = 'task-status-client';
const node24Script = path.join(repo, 'scripts', 'node24.sh');
const fixtures = fileURLToPath(new URL('./fixtures', import.meta.url));

/** Tools the consumer project has besides the package's own dependencies. */
const CONSUMER_DEV_DEPENDENCIES = ['typescript', '@types/node'];

/** The fixture imports the sources by these paths; the consumer copies import the package. */
const SOURCE_TO_PACKAGE: Readonly<Record<string, string>> = {
  '../../../src/index.js': PACKAGE,
  '../../../src/schemas.js': `${PACKAGE}/schemas`,
};

/**
 * Prints what the package gives a plain JavaScript consumer, as JSON. The scripts live here rather
 * than as fixture files because the repo's typecheck would resolve their `task-status-client`
 * imports to a dist/ that a fresh clone does not have yet.
 */
const REPORT = `
const error = new root.TaskStatusError('AUTH_FAILED', 'token rejected');
const client = new root.TaskStatusClient({ baseUrl: 'https://example.com', userId: 2, token: 't' });
function echo(emitter) {
  let heard = null;
  emitter.once('probe', (value) => { heard = value; });
  emitter.emit('probe', 42);
  return heard;
}
// The testing kit's errors must be the root entry's class, not a copy bundled into the kit.
kit.startTaskStatusServer({ port: -1 }).then(
  () => ({ sameClass: null, code: null }),
  (failure) => ({ sameClass: failure instanceof root.TaskStatusError, code: failure.code }),
).then((kitError) => console.log(JSON.stringify({
  node: process.versions.node,
  webSocket: typeof globalThis.WebSocket,
  resolved,
  names: Object.keys(root).sort(),
  exports: {
    buildTaskStatusUrl: typeof root.buildTaskStatusUrl,
    TaskStatusError: typeof root.TaskStatusError,
    parseServerFrame: typeof root.parseServerFrame,
    TaskStatusClient: typeof root.TaskStatusClient,
    serverFrameSchema: typeof schemas.serverFrameSchema,
  },
  url: root.buildTaskStatusUrl({ baseUrl: 'https://example.com', userId: 2, token: 't' }),
  error: {
    isError: error instanceof Error,
    name: error.name,
    code: error.code,
    guard: root.isTaskStatusError(error, 'AUTH_FAILED'),
  },
  frame: root.parseServerFrame('{"type":"task_update","task_id":1,"status":"running"}').kind,
  schemaAccepts: schemas.serverFrameSchema.safeParse({ type: 'ping' }).success,
  client: { state: client.state, echo: echo(client) },
  kitError,
})));
`;

const LOAD_ESM = `import { fileURLToPath } from 'node:url';
import * as root from '${PACKAGE}';
import * as schemas from '${PACKAGE}/schemas';
import * as kit from '${PACKAGE}/testing/server';
const resolved = {
  root: fileURLToPath(import.meta.resolve('${PACKAGE}')),
  schemas: fileURLToPath(import.meta.resolve('${PACKAGE}/schemas')),
};
${REPORT}`;

const LOAD_CJS = `const root = require('${PACKAGE}');
const schemas = require('${PACKAGE}/schemas');
const kit = require('${PACKAGE}/testing/server');
const resolved = {
  root: require.resolve('${PACKAGE}'),
  schemas: require.resolve('${PACKAGE}/schemas'),
};
${REPORT}`;

let scratch: string;
let consumer: string;
let tarball: string;
let node24Fetch: Promise<unknown>;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'task-status-client-package-'));
  consumer = path.join(scratch, 'consumer');
  // The first run downloads Node 24; do that while the package builds. Errors surface later,
  // in the Node 24 tests, which run the script again.
  node24Fetch = exec(node24Script, ['node', '--version'], repo).catch(() => undefined);

  // `prepack` builds, so this is what a fresh build produces.
  tarball = await packedTarball();

  const installed = path.join(consumer, 'node_modules', PACKAGE);
  await mkdir(installed, { recursive: true });
  await exec('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1'], scratch);
  await writeFile(
    path.join(consumer, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  // Instead of a registry install, link the repo's copies of exactly the dependencies that the
  // packed package.json declares: a dependency it forgets is then missing here too.
  const manifest = JSON.parse(await readFile(path.join(installed, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  for (const name of [...Object.keys(manifest.dependencies ?? {}), ...CONSUMER_DEV_DEPENDENCIES]) {
    const link = path.join(consumer, 'node_modules', name);
    await mkdir(path.dirname(link), { recursive: true });
    await symlink(path.join(repo, 'node_modules', name), link, 'dir');
  }
  await writeConsumerFiles();
});

afterAll(async () => {
  await node24Fetch;
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function writeConsumerFiles(): Promise<void> {
  let usage = await readFile(path.join(fixtures, 'usage.ts'), 'utf8');
  for (const [source, published] of Object.entries(SOURCE_TO_PACKAGE)) {
    usage = usage.replaceAll(`'${source}'`, `'${published}'`);
  }
  const leftover = usage.match(/from '\.[^']*'/);
  if (leftover) throw new Error(`usage.ts imports ${leftover[0]}: map it in SOURCE_TO_PACKAGE`);
  for (const name of ['esm.mts', 'cjs.cts', 'bundler.ts']) {
    await writeFile(path.join(consumer, name), usage);
  }
  for (const name of ['tsconfig.nodenext.json', 'tsconfig.bundler.json']) {
    await copyFile(path.join(fixtures, name), path.join(consumer, name));
  }
  await writeFile(path.join(consumer, 'load.mjs'), LOAD_ESM);
  await writeFile(path.join(consumer, 'load.cjs'), LOAD_CJS);
  await writeFile(
    path.join(consumer, 'browser-entry.js'),
    [
      `export { buildTaskStatusUrl, parseServerFrame, TaskStatusClient } from '${PACKAGE}';`,
      `export { serverFrameSchema } from '${PACKAGE}/schemas';`,
    ].join('\n'),
  );
}

describe('the tarball', () => {
  it('holds only the build output, the docs and package metadata', async () => {
    const { stdout } = await exec('tar', ['-tzf', tarball], scratch);
    const entries = stdout.split('\n').filter((entry) => entry !== '');
    const unexpected = entries.filter(
      (entry) => !/^package\/(dist\/|docs\/|package\.json$|README|LICENSE|CHANGELOG)/i.test(entry),
    );
    expect(unexpected).toEqual([]);
    // `task-status --help` points to docs/cli.md in the package; the license is MIT.
    expect(entries).toEqual(expect.arrayContaining(['package/docs/cli.md', 'package/LICENSE']));
  });

  it('marks the React bindings as a client module, and nothing else', async () => {
    const dist = path.join(consumer, 'node_modules', PACKAGE, 'dist');
    const firstLine = async (file: string) =>
      (await readFile(path.join(dist, file), 'utf8')).split('\n', 1)[0];
    // React Server Components render the provider from a server component only so.
    expect(await firstLine('react.js')).toBe("'use client';");
    expect(await firstLine('react.cjs')).toBe("'use client';");
    expect(await firstLine('index.js')).not.toContain('use client');
    expect(await firstLine('vue.js')).not.toContain('use client');
  });
});

interface LoadReport {
  node: string;
  webSocket: string;
  resolved: { root: string; schemas: string };
  names: string[];
  exports: Record<string, string>;
  url: string;
  error: { isError: boolean; name: string; code: string; guard: boolean };
  frame: string;
  schemaAccepts: boolean;
  client: { state: string; echo: number | null };
  kitError: { sameClass: boolean | null; code: string | null };
}

const runtimes = [
  { name: `the host Node (${process.version})`, file: process.execPath, args: [], major: null },
  { name: 'Node 24', file: node24Script, args: ['node'], major: '24' },
] as const;

describe.each(runtimes)('under $name', ({ file, args, major }) => {
  const load = async (script: string): Promise<LoadReport> => {
    if (major !== null) await node24Fetch;
    const { stdout } = await exec(file, [...args, script], consumer);
    return JSON.parse(stdout) as LoadReport;
  };

  it.each([
    { how: 'import()', script: 'load.mjs', root: 'dist/index.js', schemas: 'dist/schemas.js' },
    { how: 'require()', script: 'load.cjs', root: 'dist/index.cjs', schemas: 'dist/schemas.cjs' },
  ])(
    'loads the package, its /schemas subpath and the kit of /testing/server with $how',
    async ({ script, root, schemas }) => {
      const report = await load(script);
      const nodeMajor = report.node.split('.')[0];
      expect(nodeMajor).toBe(major ?? process.versions.node.split('.')[0]);
      // Node 22 and later have a global WebSocket (left to mocks: the client takes ws); Node 20 none.
      expect(report.webSocket).toBe(Number(nodeMajor) >= 22 ? 'function' : 'undefined');
      expect(report.resolved.root).toMatch(new RegExp(`/node_modules/${PACKAGE}/${root}$`));
      expect(report.resolved.schemas).toMatch(new RegExp(`/node_modules/${PACKAGE}/${schemas}$`));
      expect(report.exports).toEqual({
        buildTaskStatusUrl: 'function',
        TaskStatusError: 'function',
        parseServerFrame: 'function',
        TaskStatusClient: 'function',
        serverFrameSchema: 'object',
      });
      expect(report.url).toBe('wss://example.com/api/v1/ws/tasks/2?token=t');
      expect(report.error).toEqual({
        isError: true,
        name: 'TaskStatusError',
        code: 'AUTH_FAILED',
        guard: true,
      });
      expect(report.frame).toBe('task_update');
      expect(report.schemaAccepts).toBe(true);
      // The client's EventEmitter base (eventemitter3) works in this module format.
      expect(report.client).toEqual({ state: 'idle', echo: 42 });
      expect(report.kitError).toEqual({ sameClass: true, code: 'INVALID_OPTIONS' });
    },
  );

  it('exports the same names from the ESM and the CJS build', async () => {
    const [esm, cjs] = await Promise.all([load('load.mjs'), load('load.cjs')]);
    expect(cjs.names).toEqual(esm.names);
  });
});

// The consumer tsconfigs (fixtures/tsconfig.*.json) are strict. nodenext has no DOM lib, so the
// public types cannot lean on DOM; bundler has no @types/node, so they cannot lean on Node either.
// Both set `skipLibCheck: false`: with it on, an import in our .d.ts that fails to resolve turns
// into a silent `any` that no check in usage.ts can see. That costs a few seconds of checking zod.
describe('the declarations', () => {
  const tsc = (...args: string[]) =>
    exec(
      process.execPath,
      [path.join(consumer, 'node_modules/typescript/bin/tsc'), ...args],
      consumer,
    );

  /**
   * Which declaration file each package import of the consumer's own files resolved to, as
   * `{ 'cjs.cts imports task-status-client': 'dist/index.d.cts' }`, from `tsc --explainFiles`.
   */
  async function resolutions(project: string): Promise<Record<string, string>> {
    const { stdout } = await tsc('-p', project, '--explainFiles', '--noCheck');
    const found: Record<string, string> = {};
    let file = '';
    for (const line of stdout.split('\n')) {
      if (!line.startsWith(' ')) file = line;
      const match = /^\s+Imported via '([^']+)' from file '([^'/]+)'/.exec(line);
      if (match && file.startsWith(`node_modules/${PACKAGE}/`)) {
        found[`${match[2]} imports ${match[1]}`] = file.slice(`node_modules/${PACKAGE}/`.length);
      }
    }
    return found;
  }

  it.concurrent('type-check a consumer under nodenext, as ESM (.mts) and as CJS (.cts)', async () => {
    const [, resolved] = await Promise.all([
      tsc('-p', 'tsconfig.nodenext.json'),
      resolutions('tsconfig.nodenext.json'),
    ]);
    expect(resolved).toEqual({
      [`esm.mts imports ${PACKAGE}`]: 'dist/index.d.ts',
      [`esm.mts imports ${PACKAGE}/schemas`]: 'dist/schemas.d.ts',
      [`cjs.cts imports ${PACKAGE}`]: 'dist/index.d.cts',
      [`cjs.cts imports ${PACKAGE}/schemas`]: 'dist/schemas.d.cts',
    });
  });

  it.concurrent('type-check a browser consumer under bundler resolution without @types/node', async () => {
    const [{ stdout }, resolved] = await Promise.all([
      tsc('-p', 'tsconfig.bundler.json', '--listFiles'),
      resolutions('tsconfig.bundler.json'),
    ]);
    expect(resolved).toEqual({
      [`bundler.ts imports ${PACKAGE}`]: 'dist/index.d.ts',
      [`bundler.ts imports ${PACKAGE}/schemas`]: 'dist/schemas.d.ts',
    });
    expect(stdout).not.toMatch(new RegExp(`/${PACKAGE}/.*\\.d\\.cts$`, 'm'));
    expect(stdout).not.toMatch(/\/@types\/node\//);
  });
});

describe('a browser bundle', () => {
  it('uses the browser build and reaches no Node module', async () => {
    const result = await build({
      absWorkingDir: consumer,
      entryPoints: ['browser-entry.js'],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs).toContain(`node_modules/${PACKAGE}/dist/browser/index.js`);
    expect(
      inputs.filter((input) => /node_modules\/(ws\/|isomorphic-ws\/node)/.test(input)),
    ).toEqual([]);
    const imports = [
      ...Object.values(result.metafile.inputs).flatMap((input) => input.imports),
      ...Object.values(result.metafile.outputs).flatMap((output) => output.imports),
    ].map((entry) => entry.path);
    expect(imports.filter((specifier) => specifier.startsWith('node:'))).toEqual([]);
  });

  it('leaves the client out of an app that imports only the URL and error helpers', async () => {
    const { kept } = await bundleOf(
      `export { buildTaskStatusUrl, isTaskStatusError, CloseCode } from '${PACKAGE}';`,
    );
    const files = kept.map((file) => file.replace(`node_modules/${PACKAGE}/dist/browser/`, ''));
    expect(files).toEqual(expect.arrayContaining(['url.js', 'errors.js']));
    expect(files.filter((file) => /client\/|eventemitter3|transport\//.test(file))).toEqual([]);
  });

  it('leaves zod out of an app that takes only withResult from /schemas, for another schema library', async () => {
    const { kept, bytes } = await bundleOf(`export { withResult } from '${PACKAGE}/schemas';`);
    expect(kept).toEqual([`node_modules/${PACKAGE}/dist/schemas.js`]);
    expect(bytes).toBeLessThan(2048);
  });
});

/** Bundles `contents` as an app's module for the browser, minified: the inputs kept, and the size. */
async function bundleOf(contents: string): Promise<{ kept: string[]; bytes: number }> {
  const result = await build({
    absWorkingDir: consumer,
    stdin: { contents, resolveDir: consumer },
    bundle: true,
    minify: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const [output] = Object.values(result.metafile.outputs);
  const kept = Object.entries(output?.inputs ?? {})
    .filter(([, input]) => input.bytesInOutput > 0)
    .map(([file]) => file);
  return { kept, bytes: output?.bytes ?? 0 };
}
