import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

/**
 * `vitest run` runs every project; `vitest run --project unit` runs the fast suite alone (that is
 * what `npm run test:node24` does under Node 24, with `UNIT_WITHOUT_CLI=1`: the CLI's tests drive
 * the commands rather than the runtime, and take a third of the suite's time).
 */
const withoutCli = process.env['UNIT_WITHOUT_CLI'] === '1' ? ['test/cli/**'] : [];

export default defineConfig({
  resolve: {
    // The React and Vue bindings import the client by the package's name (so that an app
    // bundles one copy of it); in the repository that name is the sources.
    alias: [
      {
        find: /^task-status-client$/,
        replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)),
      },
    ],
  },
  test: {
    testTimeout: 15_000,
    hookTimeout: 15_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          environment: 'node',
          // .tsx: the React bindings' component tests.
          include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
          exclude: [...configDefaults.exclude, 'test/e2e/**', 'test/package/**', ...withoutCli],
        },
      },
      {
        // Builds and packs the package once (in the background: test/package/pack.setup.ts),
        // then loads the tarball the way consumers do: Node 20 and 24, ESM and CJS, three
        // TypeScript resolution modes, a browser bundle; and with the oldest React, Vue and
        // TypeScript it supports, from the npm registry.
        extends: true,
        test: {
          name: 'package',
          environment: 'node',
          include: ['test/package/**/*.test.ts'],
          globalSetup: ['test/package/pack.setup.ts'],
          // Each file's beforeAll waits for the build and `npm pack`, and then fetches Node 24
          // or installs the oldest versions from the registry (only the first run downloads).
          hookTimeout: 180_000,
          testTimeout: 60_000,
        },
      },
      {
        // The example apps in Debian's Chromium (/usr/bin/chromium), each served by a Vite dev
        // server whose /api proxy forwards to a real task-status backend; the client, from
        // Node and from Chromium, against a FastAPI backend on uvicorn (Debian's python3-fastapi
        // and python3-uvicorn); and the client across a link that fails in the kernel, with the
        // server in a network namespace (root and iproute2); and the client through a real forward
        // proxy (Debian's tinyproxy). Fails with the install command, or what is needed, when
        // any of these is missing.
        extends: true,
        test: {
          name: 'e2e',
          environment: 'node',
          include: ['test/e2e/**/*.test.ts'],
          hookTimeout: 60_000,
          testTimeout: 60_000,
        },
      },
      // examples/integration-test is a user's test suite of its own (with its own config).
      'examples/integration-test/vitest.config.ts',
    ],
  },
});
