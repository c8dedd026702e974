import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The page of `urgate serve`, bundled into ../dist/page at build time (preact, JSX by esbuild):
// the server serves these files as they are and nothing is loaded from elsewhere at run time.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  publicDir: false,
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: fileURLToPath(new URL('../dist/page', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: false,
  },
  logLevel: 'warn',
});
