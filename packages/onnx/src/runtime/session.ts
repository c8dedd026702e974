import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { verifyInitializers } from './integrity.js';
import { METADATA_KEY, type UrgateOnnxMetadata } from './metadata.js';
import { keepOutputs } from './prune.js';

export type Provider = 'cpu' | 'cuda';

export interface OpenOptions {
  /** Execution provider; `cuda` needs an onnxruntime-node install with the CUDA provider files. */
  provider?: Provider;
  /** Threads used inside one operator (onnxruntime's default: all cores). */
  intraOpThreads?: number;
  /**
   * Only these outputs (those of them the graph has): the nodes they do not need, and the inputs
   * only those read, are left out of the session — onnxruntime would run them on every call. E.g.
   * `STATE_OUTPUTS` of a sequence graph for a prefill that scores nothing (`prefillStates`).
   */
  outputs?: readonly string[];
}

/** An exported urgate graph opened in onnxruntime. `session.run` blocks the JS thread while it runs. */
export interface UrgateModel {
  path: string;
  session: ort.InferenceSession;
  metadata: UrgateOnnxMetadata;
  provider: Provider;
  close(): Promise<void>;
}

// The CPU build of onnxruntime-node lists `cuda` (bundled: false) but ships without the provider
// library, which its install script would otherwise download next to the binding.
function cudaProviderInstalled(): boolean {
  const backend = ort.listSupportedBackends().find((b) => b.name === 'cuda');
  if (!backend) return false;
  if (backend.bundled) return true;
  const entry = createRequire(import.meta.url).resolve('onnxruntime-node');
  const binDir = join(dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch);
  return existsSync(
    join(
      binDir,
      process.platform === 'win32'
        ? 'onnxruntime_providers_cuda.dll'
        : 'libonnxruntime_providers_cuda.so',
    ),
  );
}

function readMetadata(path: string, bytes: Uint8Array): UrgateOnnxMetadata {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnxProto.onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new Error(
      `openModel: ${path} is not a readable ONNX model (truncated or not ONNX: ${(e as Error).message})`,
    );
  }
  const entry = model.metadataProps.find((p) => p.key === METADATA_KEY);
  if (!model.graph || !entry)
    throw new Error(`openModel: ${path} is not an urgate export (no "${METADATA_KEY}" metadata)`);
  let meta: UrgateOnnxMetadata;
  try {
    meta = JSON.parse(entry.value ?? '');
  } catch {
    throw new Error(`openModel: ${path}: metadata "${METADATA_KEY}" is not JSON`);
  }
  if (meta.format !== 'urgate-onnx' || meta.version !== 1) {
    throw new Error(
      `openModel: ${path}: unknown urgate ONNX metadata ${JSON.stringify(meta.format)} version ${JSON.stringify(meta.version)} (expected "urgate-onnx" version 1)`,
    );
  }
  return meta;
}

export async function openModel(onnxPath: string, opts: OpenOptions = {}): Promise<UrgateModel> {
  const provider = opts.provider ?? 'cpu';
  if (provider !== 'cpu' && provider !== 'cuda')
    throw new Error(`openModel: provider must be "cpu" or "cuda", got ${JSON.stringify(provider)}`);
  if (provider === 'cuda' && !cudaProviderInstalled()) {
    throw new Error(
      'openModel: provider "cuda" is not available in the installed onnxruntime-node (CPU build; install it with its CUDA provider files, CUDA 12 + cuDNN 9), use provider "cpu"',
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = await readFile(onnxPath);
  } catch (e) {
    throw new Error(`openModel: cannot read ${onnxPath}: ${(e as Error).message}`);
  }
  const metadata = readMetadata(onnxPath, bytes);
  verifyInitializers(onnxPath, bytes);
  const options: ort.InferenceSession.SessionOptions = { executionProviders: [provider] };
  if (opts.intraOpThreads !== undefined) options.intraOpNumThreads = opts.intraOpThreads;
  const graph = opts.outputs ? keepOutputs(bytes, opts.outputs, `openModel: ${onnxPath}`) : bytes;
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(graph, options);
  } catch (e) {
    throw new Error(
      `openModel: onnxruntime cannot load ${onnxPath} with provider ${provider}: ${(e as Error).message.split('\n')[0]}`,
    );
  }
  return { path: onnxPath, session, metadata, provider, close: () => session.release() };
}

/** Zero state `[L, B, d]` for one state input. */
export function zeroStateTensor(model: UrgateModel, batch: number): ort.Tensor {
  const { numLayers: L, hiddenSize: d } = model.metadata.model;
  return new ort.Tensor('float32', new Float32Array(L * batch * d), [L, batch, d]);
}

export function hasCellState(model: UrgateModel): boolean {
  return model.metadata.model.core === 'lstm';
}

export function requireGraph(
  model: UrgateModel,
  graph: UrgateOnnxMetadata['graph'],
  caller: string,
): void {
  if (model.metadata.graph !== graph) {
    throw new Error(
      `${caller}: ${model.path} is a ${model.metadata.graph} graph, expected ${graph}`,
    );
  }
}

/** Checks a token id against the vocabulary before any tensor work; `where` is only built on failure. */
export function checkToken(
  model: UrgateModel,
  token: number,
  where: () => string,
  caller: string,
): void {
  const V = model.metadata.model.vocabSize as number;
  if (!(Number.isInteger(token) && token >= 0 && token < V)) {
    throw new Error(`${caller}: token ${token} at ${where()} is outside the vocabulary [0, ${V})`);
  }
}
