// The page at `/` (page/ in this package, bundled by vite into dist/page at build time): static
// files only, nothing fetched from elsewhere; it talks to this server's own API.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { ApiError } from './errors.js';

/** dist/page of this package, from src/ (tests) and from dist/ alike. */
export const PAGE_DIR = fileURLToPath(new URL('../dist/page/', import.meta.url));

/**
 * Serves the built page: `/` is index.html (revalidated every load), `/assets/*` the bundles, whose
 * names carry their content hash (cached for good). Without a build, `/` says how to make one.
 */
export async function pageRoutes(app: FastifyInstance, dir = PAGE_DIR): Promise<void> {
  if (!existsSync(`${dir}/index.html`)) {
    app.get('/', async () => {
      throw new ApiError(
        503,
        `the page is not built (${dir}index.html is missing): run \`npm run build\``,
        { code: 'page_not_built' },
      );
    });
    return;
  }
  await app.register(fastifyStatic, {
    root: dir,
    wildcard: false,
    index: 'index.html',
    cacheControl: false,
    setHeaders: (reply, path) => {
      reply.header(
        'cache-control',
        path.endsWith('.html') ? 'no-cache' : 'public, max-age=31536000, immutable',
      );
    },
  });
}
