import { spawnSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate, openModel, scoreTokens } from '@urgate/onnx/runtime';
import { lmModel, type TinyModel } from '@urgate/test-support';
import { loadSentencePiece, trainSentencePiece } from '@urgate/wikitext';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detokenize, type RunningServer, startServer } from '../src/index.js';

// biome-ignore lint/suspicious/noExplicitAny: the tests read response bodies field by field
type Json = any;

const noSpm =
  spawnSync('spm_train', ['--help']).error === undefined
    ? null
    : 'spm_train is not installed (apt-get install sentencepiece)';

const CORPUS = [
  ' the president said that the state of the union is strong . ',
  ' the congress passed the law and the people of the nation agreed . ',
  ' we will build roads , schools and hospitals for the people . ',
  ' the economy grew and the nation prospered under the new law . ',
];

describe.skipIf(noSpm !== null)(
  `@urgate/serve with a SentencePiece model${noSpm ? ` (skipped: ${noSpm})` : ''}`,
  () => {
    let model: TinyModel;
    let server: RunningServer;
    beforeAll(async () => {
      const lines = Array.from({ length: 20 }, () => CORPUS).flat();
      const dir = await mkdtemp(join(tmpdir(), 'urgate-spm-'));
      const trained = await trainSentencePiece(
        (async function* () {
          yield* lines;
        })(),
        { modelPrefix: join(dir, 'spm'), vocabSize: 60, modelType: 'bpe' },
      );
      model = await lmModel({
        tokenizer: await loadSentencePiece(trained.modelPath),
        hiddenSize: 8,
        numLayers: 1,
      });
      server = await startServer({ modelPath: model.step, port: 0, workers: 1 });
    });
    afterAll(async () => {
      await server?.close();
    });

    it('encodes prompts with the SentencePiece model from the metadata, decodes the samples, scores the echo', async () => {
      const tok = model.tokenizer;
      const models = (await (await fetch(`${server.url}/v1/models`)).json()) as Json;
      expect(models.data[0].urgate.tokenizer).toMatchObject({
        kind: 'sentencepiece',
        checksum: tok.identity.checksum,
        vocabSize: 60,
      });
      const post = async (body: object): Promise<Json> =>
        (
          await fetch(`${server.url}/v1/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ model: 'tiny', ...body }),
          })
        ).json();

      const g = await post({
        prompt: 'the president said',
        max_tokens: 10,
        seed: 4,
        // the unknown pieces may be sampled, as generate() samples them
        logit_bias: Object.fromEntries(tok.unknownIds.map((id) => [id, 0])),
      });
      const prompt = [tok.eosId, ...tok.encodeLine('the president said')];
      expect(g.usage.prompt_tokens).toBe(prompt.length);
      const step = await openModel(model.step);
      const [direct] = await generate(step, [prompt], { maxTokens: 10, seed: 4 });
      const before = detokenize(tok, prompt);
      expect(g.choices[0].text).toBe(detokenize(tok, [...prompt, ...direct]).slice(before.length));

      const text = 'the nation agreed .';
      const ids = [tok.eosId, ...tok.encodeLine(text)];
      const s = await post({ prompt: text, max_tokens: 0, echo: true, logprobs: 0 });
      const lp = s.choices[0].logprobs;
      expect(s.choices[0].text).toBe('the nation agreed.');
      expect(lp.tokens.join('')).toBe(s.choices[0].text);
      const sequence = await openModel(model.sequence);
      const expected = await scoreTokens(sequence, ids);
      const sum = lp.token_logprobs.slice(1).reduce((a: number, b: number) => a + b, 0);
      expect(sum).toBeCloseTo(-expected.nll, 4);
      await step.close();
      await sequence.close();
    });

    it("never samples WikiText's <unk> piece, a user-defined piece apart from SentencePiece's own unknown, unless logit_bias names it", async () => {
      const tok = model.tokenizer;
      const wikiUnk = tok.unknownIds.find((id) => id !== tok.unkId);
      expect(wikiUnk).toBeDefined();
      expect(tok.encodeLine('<unk>')).toContain(wikiUnk);
      const pieces = async (logitBias: object): Promise<string[]> => {
        const response = await fetch(`${server.url}/v1/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            model: 'tiny',
            prompt: 'the',
            max_tokens: 300,
            temperature: 2,
            seed: 5,
            logprobs: 0,
            logit_bias: logitBias,
          }),
        });
        return ((await response.json()) as Json).choices[0].logprobs.tokens;
      };
      expect((await pieces({})).filter((p) => p.includes('<unk>'))).toEqual([]);
      // 300 draws at temperature 2 over 60 pieces: named, it comes up
      expect((await pieces({ [String(wikiUnk)]: 0 })).some((p) => p.includes('<unk>'))).toBe(true);
    });
  },
);
