// Starts the server in this process (a child of a test or the benchmark) with the model path and
// optional JSON options from argv, prints its URL, and on "stop" on stdin closes it and prints the
// CommonJS modules the main thread loaded.
import { createRequire } from 'node:module';
import { startServer } from '../../src/index.js';

const options = process.argv[3] ? JSON.parse(process.argv[3]) : {};
const server = await startServer({ modelPath: process.argv[2], port: 0, ...options });
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
process.stdin.once('data', async () => {
  await server.close();
  const cjs = Object.keys(createRequire(import.meta.url).cache);
  process.stdout.write(`${JSON.stringify({ closed: true, cjs })}\n`);
  process.exit(0);
});
