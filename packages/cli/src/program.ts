import { Command } from 'commander';
import { processIO } from './commands/common.js';
import { demoCommand } from './commands/demo.js';
import { evalCommand } from './commands/eval.js';
import { exportCommand } from './commands/export.js';
import { gatesCommand } from './commands/gates.js';
import { generateCommand } from './commands/generate.js';
import { lmCommand, trainCommand as lmTrainCommand } from './commands/lm.js';
import { reproCommand } from './commands/repro.js';
import { serveCommand } from './commands/serve.js';
import { sweepCommand } from './commands/sweep.js';
import { trainCommand } from './commands/train.js';

// The registry of subcommands: each lives in src/commands/<name>.ts and returns a Command.
/** The `urgate` command line. */
export function urgateProgram(): Command {
  return (
    new Command('urgate')
      .description(
        'Gated recurrent sequence models (UR-LSTM and relatives): train, evaluate, export, serve, analyse',
      )
      .addCommand(gatesCommand())
      // One shape for training: `urgate train <task>`; the language model is `urgate train lm`.
      // Positional options: after `train lm` every option is the LM trainer's, not train's own.
      .enablePositionalOptions()
      .addCommand(
        trainCommand().enablePositionalOptions().addCommand(lmTrainCommand(processIO).name('lm')),
      )
      .addCommand(sweepCommand())
      .addCommand(reproCommand())
      .addCommand(exportCommand())
      .addCommand(evalCommand())
      .addCommand(generateCommand())
      .addCommand(serveCommand())
      .addCommand(lmCommand())
      .addCommand(demoCommand())
  );
}
