// Peak resident memory of `urgate lm train` at H = 1024, V = 8000 (SentencePiece on the embedded
// corpus, B = 32, T = 128, a few steps, then its validation and test scoring), printed beside
// the arithmetic size of what training must hold: the native model object's four arenas
// (parameters, gradients, Adam m and v: exactly 16 bytes per parameter) and the activations a
// step keeps for its backward pass (lmTrainingBytes, the trainer's own estimate), and beside the
// peak of a process that only starts the command (`lm train --help`: Node.js and the modules).
// It runs the built command (this package's bin: `npm run build` first).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machine } from '@urgate/bench';
import { lmTensorShapes } from '@urgate/contract';
import { type LmArchitecture, lmTrainingBytes } from '@urgate/train/lm';

const bin = fileURLToPath(new URL('../bin/urgate.mjs', import.meta.url));
const work = join(tmpdir(), 'urgate-lm-memory-bench');
const cache = join(work, 'cache');
const MB = 2 ** 20;
// Reports the process's peak resident set (kB) as its last stderr line.
const REPORT =
  'data:text/javascript,process.on("exit",()=>process.stderr.write("\\nmaxRSS "+process.resourceUsage().maxRSS+"\\n"))';

function peakRss(args: string[]): number {
  const r = spawnSync(process.execPath, ['--import', REPORT, bin, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`urgate ${args.join(' ')} failed:\n${r.stderr}`);
  const kb = /maxRSS (\d+)\s*$/.exec(r.stderr)?.[1];
  if (kb === undefined) throw new Error('the child did not report its peak RSS');
  return Number(kb) * 1024;
}

if (!existsSync(join(cache, 'tokenizer.json')))
  execFileSync(
    process.execPath,
    [bin, 'lm', 'prepare', '--tokenizer', 'sentencepiece', '--vocab-size', '8000', '--out', cache],
    { stdio: 'inherit' },
  );
const [B, T, H, V] = [32, 128, 1024, 8000];
const arch: LmArchitecture = {
  core: 'lstm',
  mechanism: 'UR-',
  numLayers: 1,
  vocabSize: V,
  embeddingSize: H,
  hiddenSize: H,
  layerNorm: false,
  tiedEmbeddings: true,
};
const parameters = lmTensorShapes(arch).reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
const arenas = 16 * parameters;
const { activations } = lmTrainingBytes(arch, { batch: B, steps: T });
const base = peakRss(['lm', 'train', '--help']);
const train = peakRss([
  ...['lm', 'train', '--cache', cache, '--out', join(work, 'run'), '--mechanism', 'UR-'],
  ...['--hidden-size', `${H}`, '--batch-size', `${B}`, '--bptt', `${T}`, '--steps', '3'],
]);
const sum = arenas + activations;
console.log(
  `urgate lm train, UR-LSTM H=${H} V=${V} B=${B} T=${T}, 3 steps + validation and test scoring; ${machine()}:`,
);
console.log(
  `  arithmetic: arenas ${(arenas / MB).toFixed(0)} MB (${parameters} parameters x 4 arenas x 4 bytes) + activations ${(activations / MB).toFixed(0)} MB = ${(sum / MB).toFixed(0)} MB`,
);
console.log(
  `  peak RSS ${(train / MB).toFixed(0)} MB = ${(train / sum).toFixed(2)}x the arithmetic size; a process that only starts the command peaks at ${(base / MB).toFixed(0)} MB; (peak - that) / arithmetic = ${((train - base) / sum).toFixed(2)}x`,
);
