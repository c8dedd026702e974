import { defineConfig } from 'vitest/config';
import shared from '../../../vitest.shared.js';

// `npm run test:browser`: the page in Debian's chromium, driven by playwright-core.
export default defineConfig({
  ...shared,
  test: { ...shared.test, include: ['browser/**/*.test.ts'] },
});
