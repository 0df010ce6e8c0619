/**
 * The bindings are opt-in: bundling the root entry pulls in neither React nor Vue, and each
 * binding pulls in only its own framework. Checked on the sources with esbuild's metafile.
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The files an app's browser bundle would contain for `code`, relative to the repository. */
async function bundledFiles(code: string): Promise<string[]> {
  const result = await build({
    stdin: { contents: code, resolveDir: root, loader: 'ts' },
    bundle: true,
    write: false,
    metafile: true,
    format: 'esm',
    platform: 'browser',
    logLevel: 'silent',
    alias: { 'task-status-client': './src/index.ts' },
  });
  return Object.keys(result.metafile.inputs);
}

const REACT = /^node_modules\/(react|react-dom|scheduler)\//;
const VUE = /^node_modules\/(vue|@vue)\//;

it('bundles the root entry without React or Vue', async () => {
  const files = await bundledFiles(
    "import { TaskStatusClient } from './src/index.ts'; new TaskStatusClient({ baseUrl: '', userId: 1, token: 't' });",
  );
  expect(files).toContain('src/client/client.ts');
  expect(files.filter((file) => REACT.test(file) || VUE.test(file))).toEqual([]);
  expect(
    files.filter((file) => file.startsWith('src/react/') || file.startsWith('src/vue/')),
  ).toEqual([]);
});

it('bundles the React binding without Vue, and the Vue binding without React', async () => {
  const react = await bundledFiles("export * from './src/react/index.ts';");
  expect(react.some((file) => REACT.test(file))).toBe(true);
  expect(react.filter((file) => VUE.test(file))).toEqual([]);

  const vue = await bundledFiles("export * from './src/vue/index.ts';");
  expect(vue.some((file) => VUE.test(file))).toBe(true);
  expect(vue.filter((file) => REACT.test(file))).toEqual([]);
});

it('shares one copy of the client between the root entry and a binding', async () => {
  const files = await bundledFiles(
    "export { TaskStatusClient } from 'task-status-client'; export * from './src/react/index.ts';",
  );
  expect(files.filter((file) => file.endsWith('client/client.ts'))).toEqual([
    'src/client/client.ts',
  ]);
});
