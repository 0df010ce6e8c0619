import { configDefaults, defineConfig } from 'vitest/config';

/**
 * `vitest run` runs every project; `vitest run --project unit` runs the fast suite alone (that is
 * what `npm run test:node24` does under Node 24).
 */
export default defineConfig({
  test: {
    testTimeout: 15_000,
    hookTimeout: 15_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          environment: 'node',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/e2e/**', 'test/package/**'],
        },
      },
      {
        // Builds and packs the package once, then loads the tarball the way consumers do:
        // Node 20 and 24, ESM and CJS, three TypeScript resolution modes, a browser bundle.
        extends: true,
        test: {
          name: 'package',
          environment: 'node',
          include: ['test/package/**/*.test.ts'],
          // The build, `npm pack` and a first fetch of Node 24 happen in beforeAll.
          hookTimeout: 180_000,
          testTimeout: 60_000,
        },
      },
    ],
  },
});
