#!/usr/bin/env node
import { urgateProgram } from './program.js';

await urgateProgram().parseAsync(process.argv);
