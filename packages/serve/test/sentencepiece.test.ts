import { spawnSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate, openModel, scoreTokens } from '@urgate/onnx/runtime';
import { loadSentencePiece, trainSentencePiece } from '@urgate/wikitext';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../src/index.js';
import { lmModel, type TinyModel } from './fixture.js';

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

    it('encodes prompts and texts with the SentencePiece model from the metadata, decodes the samples', async () => {
      const tok = model.tokenizer;
      const info = (await (await fetch(`${server.url}/v1/model`)).json()) as Json;
      expect(info.tokenizer).toMatchObject({
        kind: 'sentencepiece',
        checksum: tok.identity.checksum,
        vocabSize: 60,
      });
      const post = async (path: string, body: unknown): Promise<Json> =>
        (
          await fetch(`${server.url}${path}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
          })
        ).json();

      const g = await post('/v1/generate', {
        prompt: 'the president said',
        maxTokens: 10,
        seed: 4,
      });
      const prompt = [tok.eosId, ...tok.encodeLine('the president said')];
      expect(g.promptTokens).toBe(prompt.length);
      const step = await openModel(model.step);
      const [direct] = await generate(step, [prompt], { maxTokens: 10, seed: 4 });
      expect(g.tokens).toEqual(direct);
      expect(g.text).toBe(tok.decode(direct));

      const s = await post('/v1/score', { text: 'the nation agreed .' });
      const ids = [tok.eosId, ...tok.encodeLine('the nation agreed .'), tok.eosId];
      const sequence = await openModel(model.sequence);
      const expected = await scoreTokens(sequence, ids, { words: 5 });
      expect(s.tokens).toBe(ids.length - 1);
      expect(s.words).toBe(5);
      expect(s.nll).toBeCloseTo(expected.nll, 10);
      expect(s.wordPerplexity).toBeCloseTo(Math.exp(expected.nll / 5), 10);
      await step.close();
      await sequence.close();
    });
  },
);
