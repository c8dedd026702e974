import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { recordedModules, recordingModules } from '@urgate/source-hooks';
import { type TinyModel, tinyModel } from '@urgate/test-support';
import { beforeAll, describe, expect, it } from 'vitest';
import { runServe, serveCommand } from '../src/commands/serve.js';
import { urgateBin } from './runCommand.js';

// biome-ignore lint/suspicious/noExplicitAny: the tests read response bodies field by field
type Json = any;

describe('urgate serve', () => {
  let tiny: TinyModel;
  beforeAll(async () => {
    tiny = await tinyModel();
  });

  it('serves the model (sibling sequence graph found for prefill) with the limits given', async () => {
    const server = await runServe({
      onnx: tiny.step,
      host: '127.0.0.1',
      port: 0,
      workers: 1,
      provider: 'cpu',
      maxTokensLimit: 64,
      maxQueue: 3,
      maxQueueWait: 1.5,
      requestTimeout: 2.5,
    });
    try {
      const [info] = ((await (await fetch(`${server.url}/v1/models`)).json()) as Json).data;
      expect(info.id).toBe('tiny');
      expect(info.urgate.prefill).toBe('sequence graph');
      expect(info.urgate.limits).toMatchObject({
        maxTokens: 64,
        requestTimeout: 2500,
        maxQueueWait: 1500,
      });
    } finally {
      await server.close();
    }
  });

  it('a bad model file: one line on stderr, exit code 1', async () => {
    const r = { out: '', err: '', code: 0 };
    const io = {
      out: (t: string) => (r.out += t),
      err: (t: string) => (r.err += t),
      fail: (c: number) => (r.code = c),
    };
    await serveCommand(io)
      .exitOverride()
      .parseAsync(['--onnx', tiny.sequence, '--port', '0'], { from: 'user' });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /^urgate serve: modelPath .* is a lm-sequence graph; serving needs a language model's step graph/,
    );
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
  });

  it('`urgate serve` (the bin) loads no tfjs, cells or kernels, and stops on SIGTERM', async () => {
    const log = `${tiny.dir}/cli-modules.log`;
    const recording = recordingModules(log);
    const child = spawn(
      process.execPath,
      [
        ...recording.args,
        urgateBin,
        'serve',
        '--onnx',
        tiny.step,
        '--port',
        '0',
        '--workers',
        '1',
        '--max-tokens-limit',
        '20000',
      ],
      { env: recording.env, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const first = (await lines.next()).value as string;
    const url = /at (http:\/\/\S+)$/.exec(first)?.[1] as string;
    expect(first).toMatch(
      /^serving .*tiny\.step\.onnx as "tiny" \(lstm UR-, 2 layers, vocabulary 16\) at http/,
    );
    expect((await lines.next()).value).toBe(
      `page: ${url}/ (generate, and the forget gates over a text)`,
    );
    expect((await fetch(`${url}/`)).headers.get('content-type')).toMatch(/^text\/html/);
    const complete = (max_tokens: number) =>
      fetch(`${url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'tiny', prompt: 'the cat', max_tokens, seed: 2 }),
      }).then(async (r) => ({ status: r.status, json: (await r.json()) as Json }));
    expect((await complete(4)).json.usage.completion_tokens).toBe(4);
    // SIGTERM drains: a request that runs when it arrives still finishes, then the process exits 0.
    const running = complete(20_000);
    for (;;) {
      const metrics = await (await fetch(`${url}/metrics`)).text();
      if (/^urgate_active_sequences 1$/m.test(metrics)) break;
    }
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const r = await running;
    expect([r.status, r.json.usage.completion_tokens]).toEqual([200, 20_000]);
    expect(await exited).toBe(0);
    const esm = recordedModules(log);
    expect(esm.some((u) => u.includes('/onnxruntime-node/'))).toBe(true);
    expect(esm.some((u) => u.includes('/packages/cli/src/commands/serve.ts'))).toBe(true);
    expect(
      esm.filter((u) =>
        /@tensorflow|\/packages\/(cells|kernels|train)\/|@urgate\/(cells|kernels|train)/.test(u),
      ),
    ).toEqual([]);
  });
});
