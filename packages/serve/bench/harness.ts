// What the serving benchmarks share: the model they serve (URGATE_BENCH_MODEL, an exported
// *.step.onnx with its *.sequence.onnx beside it, e.g. the demo's; else random UR-LSTM weights
// over the word vocabulary <unk>, <eos>, w2 .. wV, sized by URGATE_BENCH_VOCAB / HIDDEN / LAYERS)
// and a server in a child process (its own event loop, as deployed) that stops when told.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { benchSize } from '@urgate/bench';
import { fromSource } from '@urgate/source-hooks';
import { lmModel } from '@urgate/test-support';
import { WordTokenizer } from '@urgate/wikitext';

export const V = benchSize('VOCAB', 8000);
export const HIDDEN = benchSize('HIDDEN', 256);
export const LAYERS = benchSize('LAYERS', 2);

export const words = ['<unk>', '<eos>', ...Array.from({ length: V - 2 }, (_, k) => `w${k + 2}`)];

/** The benchmark model's step graph (what the servers load) and sequence graph. */
export async function benchModel(): Promise<{ step: string; sequence: string }> {
  const given = process.env.URGATE_BENCH_MODEL;
  if (given) return { step: given, sequence: given.replace(/\.step\.onnx$/, '.sequence.onnx') };
  return lmModel({ tokenizer: new WordTokenizer(words), hiddenSize: HIDDEN, numLayers: LAYERS });
}

export interface ServerProcess {
  url: string;
  stop(): Promise<void>;
}

/** `test/child/serve.ts` serving `modelPath` with these server options, from the sources. */
export async function serverProcess(modelPath: string, options: object): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    [
      ...fromSource,
      fileURLToPath(new URL('../test/child/serve.ts', import.meta.url)),
      modelPath,
      JSON.stringify(options),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const { url } = JSON.parse((await lines.next()).value) as { url: string };
  return {
    url,
    stop: async () => {
      child.stdin.write('stop\n');
      await lines.next();
    },
  };
}
