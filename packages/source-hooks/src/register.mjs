// `node --import @urgate/source-hooks/register --conditions=@urgate/source file.ts` runs TypeScript sources.
import { register } from 'node:module';

register('./source-hooks.mjs', import.meta.url);
