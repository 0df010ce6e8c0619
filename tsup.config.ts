import { fileURLToPath } from 'node:url';
import type { Plugin } from 'esbuild';
import { defineConfig } from 'tsup';

const external = ['eventemitter3', 'zod', 'isomorphic-ws', 'ws'];

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

export default defineConfig([
  {
    entry: {
      index: 'src/index.ts',
      schemas: 'src/schemas.ts',
      testing: 'src/testing/index.ts',
      'testing/server': 'src/testing/server.ts',
      react: 'src/react/index.ts',
      vue: 'src/vue/index.ts',
    },
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
  },
  {
    // Browser build: the native WebSocket replaces isomorphic-ws so no Node module is reachable.
    entry: { index: 'src/index.ts', testing: 'src/testing/index.ts' },
    format: ['esm'],
    dts: false,
    sourcemap: true,
    clean: false,
    target: 'es2022',
    platform: 'browser',
    // One file per entry, as in the Node build (and as before /testing joined this build).
    splitting: false,
    treeshake: true,
    outDir: 'dist/browser',
    // `task-status-client` (the testing kit's import of the error class) resolves to this
    // build's index.js under the `browser` condition.
    external: ['eventemitter3', 'zod', 'msw', 'task-status-client'],
    noExternal: ['isomorphic-ws'],
    esbuildPlugins: [realServerStub],
    esbuildOptions(options) {
      options.alias = {
        'isomorphic-ws': fileURLToPath(new URL('./src/transport/ws-browser.ts', import.meta.url)),
      };
    },
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
