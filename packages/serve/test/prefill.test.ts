// The worker's fast paths give the same bits as the plain calls: the sequence graph opened with
// only its states (`prefillStates`, no output layer over every prompt token) and the step graph
// writing into reused buffers (`StepBuffers`).
import {
  openModel,
  prefillRows,
  prefillStates,
  type RowState,
  STATE_OUTPUTS,
  StepBuffers,
  stepRows,
  type UrgateModel,
  zeroRowState,
} from '@urgate/onnx/runtime';
import { type TinyModel, tinyModel } from '@urgate/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let model: TinyModel;
let step: UrgateModel;
let scoring: UrgateModel;
let reading: UrgateModel;

beforeAll(async () => {
  model = await tinyModel();
  step = await openModel(model.step);
  scoring = await openModel(model.sequence);
  reading = await openModel(model.sequence, { outputs: STATE_OUTPUTS });
});

afterAll(async () => {
  for (const m of [step, scoring, reading]) await m.close();
});

const bits = (s: RowState) => [...s.h, ...(s.c ?? [])].map((x) => new Float32Array([x])[0]);
const V = 16;
const stream = (n: number, k: number) => Array.from({ length: n }, (_, i) => (i * k + 3) % V);

describe('prefillStates', () => {
  it('reads without scoring: the session has no targets input and no nll output', () => {
    expect(reading.session.inputNames).not.toContain('targets');
    expect([...reading.session.outputNames].sort()).toEqual(['c_out', 'h_out']);
    expect(scoring.session.outputNames).toContain('nll');
  });

  it('reaches the states of prefillRows and of the step graph bit for bit, shorter pieces padded', async () => {
    const texts = [stream(9, 5), stream(4, 7), stream(1, 3)];
    const read = await prefillStates(
      reading,
      texts.map((tokens) => ({ state: null, tokens })),
    );
    const scored = await prefillRows(
      scoring,
      texts.map((tokens) => ({ state: null, tokens, targets: tokens })),
    );
    const stepped = texts.map(() => zeroRowState(step));
    for (const [b, tokens] of texts.entries())
      for (const t of tokens) await stepRows(step, [t], [stepped[b]]);
    texts.forEach((_, b) => {
      expect(bits(read[b])).toEqual(bits(scored.states[b]));
      expect(bits(read[b])).toEqual(bits(stepped[b]));
    });
    // A second piece from those states, as the worker's next chunk.
    const next = await prefillStates(reading, [{ state: read[0], tokens: stream(3, 2) }]);
    for (const t of stream(3, 2)) await stepRows(step, [t], [stepped[0]]);
    expect(bits(next[0])).toEqual(bits(stepped[0]));
  });

  it('refuses a session of the other kind, saying which call to use', async () => {
    await expect(prefillStates(scoring, [{ state: null, tokens: [1] }])).rejects.toThrow(
      /opened with its scores \(nll\); open it with outputs h_out, c_out/,
    );
    await expect(
      prefillRows(reading, [{ state: null, tokens: [1], targets: [2] }]),
    ).rejects.toThrow(/opened without its scores \(nll\); use prefillStates/);
    await expect(openModel(model.sequence, { outputs: ['logits'] })).rejects.toThrow(
      /tiny\.sequence\.onnx: the graph has none of the outputs logits/,
    );
  });
});

describe('stepRows with StepBuffers', () => {
  it('gives the logits and states of fresh outputs while the batch grows and shrinks', async () => {
    const buffers = new StepBuffers();
    const plain = Array.from({ length: 7 }, () => zeroRowState(step));
    const reused = Array.from({ length: 7 }, () => zeroRowState(step));
    for (const B of [7, 2, 5, 7, 1]) {
      const tokens = stream(B, B + 1);
      const a = await stepRows(step, tokens, plain.slice(0, B));
      const b = await stepRows(step, tokens, reused.slice(0, B), buffers);
      expect(b.length).toBe(B * V);
      expect([...b]).toEqual([...a]);
      for (let r = 0; r < B; r++) expect(bits(reused[r])).toEqual(bits(plain[r]));
    }
  });
});
