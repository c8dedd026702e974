// The worker thread of `POST /gates`: runs the gates graph (src/gates.ts) so that session.run blocks
// this thread, not the server's event loop. One text at a time; the server thread queues the rest.
import { parentPort, workerData } from 'node:worker_threads';
import { forgetGates, openModel, type Provider } from '@urgate/onnx/runtime';

export interface GatesWorkerConfig {
  path: string;
  provider: Provider;
  intraOpThreads: number;
}

export type GatesWorkerMessage =
  | { type: 'ready'; metadata: import('@urgate/onnx/runtime').UrgateOnnxMetadata }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; values: Float32Array; dims: [number, number, number] }
  | { type: 'error'; id: number; message: string };

export interface GatesWorkerRequest {
  id: number;
  tokens: number[];
}

const port = parentPort;
if (!port) throw new Error('@urgate/serve gates worker must run in a worker thread');
const post = (m: GatesWorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
const config = workerData as GatesWorkerConfig;

try {
  const model = await openModel(config.path, {
    provider: config.provider,
    intraOpThreads: config.intraOpThreads,
  });
  port.on('message', async ({ id, tokens }: GatesWorkerRequest) => {
    try {
      const r = await forgetGates(model, tokens);
      const values = r.values.slice(); // own buffer, transferred without a copy
      post({ type: 'result', id, values, dims: [r.layers, r.steps, r.units] }, [values.buffer]);
    } catch (e) {
      post({ type: 'error', id, message: (e as Error).message });
    }
  });
  post({ type: 'ready', metadata: model.metadata });
} catch (e) {
  post({ type: 'failed', message: (e as Error).message });
}
