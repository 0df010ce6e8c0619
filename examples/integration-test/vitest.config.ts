import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Only inside this repository: use the package's sources, so no build is needed first.
    // In your app, `npm install task-status-client msw` and drop this alias.
    alias: [
      { find: /^task-status-client\/testing$/, replacement: source('testing/index.ts') },
      { find: /^task-status-client$/, replacement: source('index.ts') },
    ],
  },
  test: {
    name: 'examples',
    environment: 'node',
    include: ['**/*.test.ts'],
  },
});

function source(file: string): string {
  return fileURLToPath(new URL(`../../src/${file}`, import.meta.url));
}
