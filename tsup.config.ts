import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { defineConfig, type Options } from 'tsup';

const external = ['eventemitter3', 'zod', 'isomorphic-ws', 'ws'];
const browserWebSocket = fileURLToPath(new URL('./src/transport/ws-browser.ts', import.meta.url));

/**
 * Browser build of `/testing`: the real server (node:http, ws) is swapped for a stub that rejects
 * with a clear message, so browser bundlers never meet a Node module.
 */
const realServerStub: Plugin = {
  name: 'real-server-stub',
  setup(build) {
    build.onResolve({ filter: /\/real-server\.js$/ }, () => ({
      path: fileURLToPath(new URL('./src/testing/real-server-browser.ts', import.meta.url)),
    }));
  },
};

/**
 * Keeps the imports between the sources' own modules as imports, so that each module of the
 * browser build is a file of its own.
 */
const ownModulesExternal: Plugin = {
  name: 'own-modules-external',
  setup(build) {
    build.onResolve({ filter: /^\.\.?\// }, (args) =>
      args.kind === 'entry-point' ? undefined : { path: args.path, external: true },
    );
  },
};

/**
 * The modules the root entry reaches in the browser, as tsup entries (`client/client` →
 * `src/client/client.ts`). Type-only modules are not reached, so they get no empty file.
 */
async function browserRootModules(): Promise<Record<string, string>> {
  const result = await build({
    entryPoints: ['src/index.ts'],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'browser',
    format: 'esm',
    logLevel: 'silent',
    external: ['eventemitter3', 'zod'],
    alias: { 'isomorphic-ws': browserWebSocket },
  });
  const modules: Record<string, string> = {};
  for (const input of Object.keys(result.metafile.inputs)) {
    const file = fileURLToPath(new URL(input, new URL('./', import.meta.url)));
    if (file === browserWebSocket) continue; // bundled into the transport module
    modules[relative('src', input).replace(/\.ts$/, '')] = input;
  }
  return modules;
}

/** What both browser builds share: ESM for browsers, with the native WebSocket for isomorphic-ws. */
const browser = {
  format: ['esm'],
  dts: false,
  sourcemap: true,
  clean: false,
  target: 'es2022',
  platform: 'browser',
  splitting: false,
  outDir: 'dist/browser',
  noExternal: ['isomorphic-ws'],
  esbuildOptions(options) {
    options.alias = { 'isomorphic-ws': browserWebSocket };
  },
} satisfies Options;

/** What the Node and bundler builds of the library entries share: ESM and CJS, with types. */
const library = {
  format: ['esm', 'cjs'],
  // TypeScript 6 rejects the baseUrl that tsup's dts step sets unless told to.
  dts: { compilerOptions: { ignoreDeprecations: '6.0' } },
  sourcemap: true,
  clean: false,
  target: 'es2022',
  platform: 'node',
  splitting: false,
  treeshake: true,
  // msw, react and vue are optional peer dependencies of their entries: never bundled. The
  // bindings import the client as `task-status-client`, left as is, so that an app bundles
  // one copy of the client (the browser build, under bundlers) whichever entries it uses. The
  // testing kit imports `TaskStatusError` so too: its errors are then the root entry's class,
  // and `instanceof` and `toThrow(TaskStatusError)` hold for them.
  external: [...external, 'msw', 'react', 'react-dom', 'vue', 'task-status-client'],
  outDir: 'dist',
} satisfies Options;

export default defineConfig(async () => [
  {
    ...library,
    entry: {
      index: 'src/index.ts',
      schemas: 'src/schemas.ts',
      testing: 'src/testing/index.ts',
      'testing/server': 'src/testing/server.ts',
      vue: 'src/vue/index.ts',
    },
  },
  {
    // The React bindings hold state and effects: under React Server Components (Next.js's App
    // Router) the directive makes their module a client module, so that a server component
    // such as a layout can render the provider.
    ...library,
    entry: { react: 'src/react/index.ts' },
    banner: { js: "'use client';" },
    // Rollup's tree shaking drops module directives; esbuild's own keeps the banner.
    treeshake: false,
  },
  {
    // Browser build of the root entry, one file per module (`index.js`, `client/client.js`, …):
    // with `sideEffects: false`, an app's bundler then leaves out every module the app does not
    // use. In one file, the client's `class … extends EventEmitter` stays in any bundle that
    // imports only `buildTaskStatusUrl` or the error helpers. The native WebSocket replaces
    // isomorphic-ws, so no Node module is reachable.
    ...browser,
    entry: await browserRootModules(),
    treeshake: false,
    external: ['eventemitter3', 'zod'],
    esbuildPlugins: [ownModulesExternal],
  },
  {
    // Browser build of /testing, one file. `task-status-client` (the kit's import of the error
    // class) resolves to the browser build's index.js under the `browser` condition.
    ...browser,
    entry: { testing: 'src/testing/index.ts' },
    treeshake: true,
    external: ['eventemitter3', 'zod', 'msw', 'task-status-client'],
    esbuildPlugins: [realServerStub],
  },
  {
    // The `task-status` command (package.json `bin`): Node only, one ESM file with a shebang.
    // Nothing in the library or browser builds imports it; its own dependencies (commander,
    // log-update, picocolors) stay external like the library's.
    entry: { cli: 'src/cli/index.ts' },
    format: ['esm'],
    dts: false,
    sourcemap: true,
    clean: false,
    target: 'node20',
    platform: 'node',
    splitting: false,
    banner: { js: '#!/usr/bin/env node' },
    external: [...external, 'msw', 'commander', 'log-update', 'picocolors'],
    outDir: 'dist',
  },
]);
