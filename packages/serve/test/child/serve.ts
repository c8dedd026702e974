// Starts the server in this process (a child of the test), prints its URL, and on "stop" on stdin
// closes it and prints the CommonJS modules the main thread loaded.
import { createRequire } from 'node:module';
import { startServer } from '../../src/index.js';

const server = await startServer({ modelPath: process.argv[2], port: 0, workers: 1 });
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
process.stdin.once('data', async () => {
  await server.close();
  const cjs = Object.keys(createRequire(import.meta.url).cache);
  process.stdout.write(`${JSON.stringify({ closed: true, cjs })}\n`);
  process.exit(0);
});
