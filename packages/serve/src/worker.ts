// One inference worker: its own onnxruntime sessions, one task at a time (session.run blocks this
// thread, not the server's event loop).
import { parentPort, workerData } from 'node:worker_threads';
import { generate, openModel, scoreTokens, type UrgateModel } from '@urgate/onnx/runtime';
import type { Task, TaskOutput, WorkerConfig, WorkerMessage, WorkerRequest } from './protocol.js';

const port = parentPort;
if (!port) throw new Error('@urgate/serve worker must run in a worker thread');
const post = (m: WorkerMessage) => port.postMessage(m);
const config = workerData as WorkerConfig;

async function open(path: string): Promise<UrgateModel> {
  return openModel(path, { provider: config.provider, intraOpThreads: config.intraOpThreads });
}

async function run(
  step: UrgateModel,
  sequence: UrgateModel | null,
  task: Task,
): Promise<TaskOutput> {
  if (task.kind === 'generate') {
    const { prompt, kind: _, ...options } = task;
    const [tokens] = await generate(step, [prompt], options);
    return tokens;
  }
  if (!sequence) throw new Error('this server has no sequence model to score with');
  const r = await scoreTokens(sequence, task.tokens, { words: task.words });
  return {
    tokens: r.tokens,
    nll: r.nll,
    tokenPerplexity: r.tokenPerplexity,
    wordPerplexity: r.wordPerplexity,
  };
}

try {
  const step = await open(config.stepPath);
  const sequence = config.sequencePath ? await open(config.sequencePath) : null;
  port.on('message', async ({ id, task }: WorkerRequest) => {
    try {
      post({ type: 'result', id, output: await run(step, sequence, task) });
    } catch (e) {
      post({ type: 'error', id, message: (e as Error).message });
    }
  });
  post({ type: 'ready', step: step.metadata, sequence: sequence?.metadata ?? null });
} catch (e) {
  post({ type: 'failed', message: (e as Error).message });
}
