// Exports the checkpoint argv[2] into argv[3] in this process (a child of the test), then prints
// the CommonJS modules it loaded.
import { createRequire } from 'node:module';
import { exportCheckpoint } from '../../src/index.js';

await exportCheckpoint(process.argv[2], process.argv[3]);
process.stdout.write(
  `${JSON.stringify({ cjs: Object.keys(createRequire(import.meta.url).cache) })}\n`,
);
