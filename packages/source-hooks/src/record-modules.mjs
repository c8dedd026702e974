// `node --import @urgate/source-hooks/record-modules ...`: appends every module URL resolved by ESM `import`, in
// every thread of the process (workers inherit the flag), to the file named by URGATE_MODULE_LOG.
import { register } from 'node:module';

register('./record-hooks.mjs', import.meta.url, { data: process.env.URGATE_MODULE_LOG });
