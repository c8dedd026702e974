#!/usr/bin/env node
import { Command } from 'commander';
import { gatesCommand } from './commands/gates.js';
import { sweepCommand } from './commands/sweep.js';
import { trainCommand } from './commands/train.js';

// The registry of subcommands: each lives in src/commands/<name>.ts and returns a Command.
const program = new Command('urgate')
  .description(
    'Gated recurrent sequence models (UR-LSTM and relatives): train, evaluate, export, serve, analyse',
  )
  .addCommand(gatesCommand())
  .addCommand(trainCommand())
  .addCommand(sweepCommand());

await program.parseAsync(process.argv);
