import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generate, openModel } from '@urgate/onnx/runtime';
import { startServer } from '@urgate/serve';
import { type TinyModel, tinyModel, WORDS } from '@urgate/test-support';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateCommand, runGenerate } from '../src/commands/generate.js';
import { expectOneLineErrors, runCommand } from './runCommand.js';

/**
 * The text the server shows for a continuation of a prompt line, for the tiny vocabulary: words
 * after a space, `.` attached to the word before it, `<eos>` a line end.
 */
function rendered(tokens: number[]): string {
  let text = '';
  let lineStart = false;
  for (const t of tokens) {
    const word = WORDS[t];
    text += word === '<eos>' ? '\n' : word === '.' || lineStart ? word : ` ${word}`;
    lineStart = word === '<eos>';
  }
  return text;
}

function run(args: string[]) {
  return runCommand(generateCommand, args);
}

describe('urgate generate', () => {
  let tiny: TinyModel;
  beforeAll(async () => {
    tiny = await tinyModel();
  });

  it('encodes the prompt as <eos> + word ids and samples as onnx generate does with the same seed', async () => {
    const options = { maxTokens: 15, temperature: 0.7, topK: 5, topP: 0.9, seed: 3 };
    const r = await runGenerate({ onnx: tiny.step, prompt: 'the dog ran', ...options });
    const model = await openModel(tiny.step);
    const [direct] = await generate(model, [[1, 2, 8, 9]], {
      ...options,
      logitBias: [[0, Number.NEGATIVE_INFINITY]],
    });
    await model.close();
    expect(r.promptTokens).toEqual([1, 2, 8, 9]);
    expect(r.tokens).toEqual(direct);
    expect(r.text).toBe(rendered(direct));
    const cli = await run([
      '--onnx',
      tiny.step,
      '--prompt',
      'the dog ran',
      '--max-tokens',
      '15',
      '--temperature',
      '0.7',
      '--top-k',
      '5',
      '--top-p',
      '0.9',
      '--seed',
      '3',
      '--json',
    ]);
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.out)).toEqual(r);
  });

  it('never samples <unk> (the server bans it too), where the model alone does; renders as the server', async () => {
    const options = { maxTokens: 300, temperature: 3, seed: 5 };
    const model = await openModel(tiny.step);
    const [free] = await generate(model, [[1, 2]], options);
    await model.close();
    expect(free).toContain(0);
    const r = await runGenerate({ onnx: tiny.step, prompt: 'the', topK: 0, topP: 1, ...options });
    expect(r.tokens).toHaveLength(300);
    expect(r.tokens).not.toContain(0);
    expect(r.text).not.toContain('<unk>');
    // Rendered as the server renders: `.` attached, `<eos>` a line end (decode gives ` . ` and `<eos>`).
    expect(r.tokens).toContain(15);
    expect(r.tokens).toContain(1);
    expect(r.text).toBe(rendered(r.tokens));
  });

  it('gives the text /v1/completions of `urgate serve` gives for the same prompt and sampling', async () => {
    const server = await startServer({ modelPath: tiny.step, port: 0, workers: 1 });
    try {
      for (const seed of [1, 2, 3]) {
        const sampling = { temperature: 1.5, top_p: 0.9, seed };
        const body = { model: 'tiny', prompt: 'the cat sat', max_tokens: 40, ...sampling };
        const served = (await (
          await fetch(`${server.url}/v1/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
          })
        ).json()) as { choices: { text: string }[] };
        const r = await runGenerate({
          onnx: tiny.step,
          prompt: 'the cat sat',
          maxTokens: 40,
          temperature: 1.5,
          topK: 0,
          topP: 0.9,
          seed,
        });
        expect(r.text).toBe(served.choices[0].text);
      }
    } finally {
      await server.close();
    }
  });

  it('--tokens and greedy decoding; --stop-at-eos ends at the first <eos>', async () => {
    const cli = await run([
      '--onnx',
      tiny.step,
      '--tokens',
      '1 3 4',
      '--temperature',
      '0',
      '--max-tokens',
      '40',
      '--stop-at-eos',
      '--json',
    ]);
    const model = await openModel(tiny.step);
    const [direct] = await generate(model, [[1, 3, 4]], {
      maxTokens: 40,
      temperature: 0,
      stopToken: 1,
    });
    await model.close();
    expect(JSON.parse(cli.out).tokens).toEqual(direct);
  });

  it('bad input: one line on stderr, exit code 1, no stack trace', async () => {
    const notOnnx = join(tiny.dir, 'notes.onnx');
    await writeFile(notOnnx, 'this is not a model\n');
    const truncated = join(tiny.dir, 'truncated.step.onnx');
    const bytes = await readFile(tiny.step);
    await writeFile(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const bare = await tinyModel({ withTokenizer: false });
    const cases: [string[], RegExp][] = [
      [
        ['--onnx', join(tiny.dir, 'missing.onnx'), '--prompt', 'a'],
        /^urgate generate: openModel: cannot read .*missing\.onnx: ENOENT/,
      ],
      [['--onnx', notOnnx, '--prompt', 'a'], /^urgate generate: openModel: .*notes\.onnx is not/],
      [
        ['--onnx', truncated, '--prompt', 'a'],
        /^urgate generate: openModel: .*truncated\.step\.onnx is not a readable ONNX model \(truncated or not ONNX/,
      ],
      [
        ['--onnx', tiny.sequence, '--prompt', 'a'],
        /is a lm-sequence graph; generate needs a language model's step graph/,
      ],
      [
        ['--onnx', tiny.step, '--tokens', '1 16'],
        /^urgate generate: --tokens\[1\] = 16 is outside the vocabulary \[0, 16\)/,
      ],
      [
        ['--onnx', bare.step, '--prompt', 'the cat'],
        /^urgate generate: --prompt cannot be encoded: the model metadata carries no tokenizer; use --tokens/,
      ],
      [
        ['--onnx', tiny.step, '--prompt', 'a', '--tokens', '1'],
        /^urgate generate: give exactly one of --prompt TEXT or --tokens IDS/,
      ],
    ];
    await expectOneLineErrors(run, cases, { silent: true });
  });

  it('rejects malformed option values before opening the model', async () => {
    await expect(run(['--onnx', tiny.step, '--tokens', 'one two'])).rejects.toThrow(
      /expected token ids/,
    );
    await expect(run(['--onnx', tiny.step, '--prompt', 'a', '--top-p', '0'])).rejects.toThrow(
      /expected a number in \(0, 1\]/,
    );
  });
});
