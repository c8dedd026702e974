import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests import sibling packages from their TypeScript sources (the
// "@urgate/source" export condition), so `npm test` needs no prior build.
export default defineConfig({
  resolve: { conditions: ['@urgate/source', 'import', 'node', 'default'] },
  ssr: { resolve: { conditions: ['@urgate/source', 'import', 'node', 'default'] } },
  test: {
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    include: ['test/**/*.test.ts'],
    globalSetup: [fileURLToPath(new URL('./vitest.tmpdir.ts', import.meta.url))],
  },
});
