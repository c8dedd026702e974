import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Same source resolution as the tests (vitest.shared.js), but only the benchmark files, run one at a time.
export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  resolve: { conditions: ['@urgate/source', 'import', 'node', 'default'] },
  ssr: { resolve: { conditions: ['@urgate/source', 'import', 'node', 'default'] } },
  test: {
    environment: 'node',
    include: ['bench/**/*.bench.ts'],
    testTimeout: 900_000,
    hookTimeout: 900_000,
    fileParallelism: false,
  },
});
