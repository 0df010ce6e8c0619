import { fileURLToPath } from 'node:url';
import { defineConfig } from 'tsup';

const external = ['eventemitter3', 'zod', 'isomorphic-ws', 'ws'];

export default defineConfig([
  {
    entry: { index: 'src/index.ts', schemas: 'src/schemas.ts' },
    format: ['esm', 'cjs'],
    // TypeScript 6 rejects the baseUrl that tsup's dts step sets unless told to.
    dts: { compilerOptions: { ignoreDeprecations: '6.0' } },
    sourcemap: true,
    clean: false,
    target: 'es2022',
    platform: 'node',
    splitting: false,
    treeshake: true,
    external,
    outDir: 'dist',
  },
  {
    // Browser build: the native WebSocket replaces isomorphic-ws so no Node module is reachable.
    entry: { index: 'src/index.ts' },
    format: ['esm'],
    dts: false,
    sourcemap: true,
    clean: false,
    target: 'es2022',
    platform: 'browser',
    treeshake: true,
    outDir: 'dist/browser',
    external: ['eventemitter3', 'zod'],
    noExternal: ['isomorphic-ws'],
    esbuildOptions(options) {
      options.alias = {
        'isomorphic-ws': fileURLToPath(new URL('./src/transport/ws-browser.ts', import.meta.url)),
      };
    },
  },
]);
