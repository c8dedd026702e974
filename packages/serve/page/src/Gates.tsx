import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiFailure, fetchGates, type GatesResponse } from './api.js';
import { ErrorAlert, TextField } from './controls.js';
import {
  histogram,
  type InitialDecay,
  initialMass,
  type LayerSummary,
  logBins,
  summarizeLayer,
} from './decay.js';

// viridis at 0, ¼, ½, ¾, 1: forget gate 0 (forgets at once) dark, 1 (keeps) bright.
const STOPS = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];

function colour(f: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, f)) * (STOPS.length - 1);
  const k = Math.min(STOPS.length - 2, Math.floor(x));
  const w = x - k;
  const [a, b] = [STOPS[k], STOPS[k + 1]];
  return [a[0] + w * (b[0] - a[0]), a[1] + w * (b[1] - a[1]), a[2] + w * (b[2] - a[2])];
}

const css = (f: number) => `rgb(${colour(f).map(Math.round).join(',')})`;
const shown = (text: string) => (text === '\n' ? '⏎' : text === '' ? '¶' : text);
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const fmt = (d: number) => (d >= 100 ? d.toFixed(0) : d.toPrecision(3));

interface Hover {
  unit: number;
  token: number;
}

function HeatMap(props: {
  forget: number[][];
  summary: LayerSummary;
  layer: number;
  onHover: (h: Hover | null) => void;
}) {
  const { forget, summary, layer, onHover } = props;
  const canvas = useRef<HTMLCanvasElement>(null);
  const T = forget.length;
  const d = summary.order.length;
  const { cw, rh } = cellSize(T, d);
  useEffect(() => {
    const ctx = canvas.current?.getContext('2d');
    if (!ctx) return;
    // One pixel per (token, unit), scaled up by CSS: a 1,000-token text is one putImageData.
    const image = ctx.createImageData(T, d);
    summary.order.forEach((unit, row) => {
      for (let t = 0; t < T; t++) {
        const [r, g, b] = colour(forget[t][unit]);
        const p = 4 * (row * T + t);
        image.data[p] = r;
        image.data[p + 1] = g;
        image.data[p + 2] = b;
        image.data[p + 3] = 255;
      }
    });
    ctx.putImageData(image, 0, 0);
  }, [forget, summary, T, d]);
  const move = (e: MouseEvent) => {
    const row = clamp(Math.floor(e.offsetY / rh), 0, d - 1);
    onHover({ unit: summary.order[row], token: clamp(Math.floor(e.offsetX / cw), 0, T - 1) });
  };
  return (
    <div class="heat-scroll">
      <canvas
        ref={canvas}
        class="heatmap"
        data-layer={layer}
        width={T}
        height={d}
        style={{ width: `${T * cw}px`, height: `${d * rh}px` }}
        onMouseMove={move}
        onMouseLeave={() => onHover(null)}
        aria-label={`layer ${layer}: effective forget gate of ${d} units (rows, longest mean decay period first) over ${T} tokens (columns)`}
      />
    </div>
  );
}

function Histogram({ summary, initial }: { summary: LayerSummary; initial: InitialDecay }) {
  const largest = Math.max(
    ...summary.meanDecay,
    initial.kind === 'point' ? initial.at : initial.to,
  );
  const edges = logBins(largest);
  const text = histogram(summary.meanDecay, edges);
  const init = initialMass(initial, edges);
  const top = Math.max(...text, ...init, 1e-9);
  const [W, H, pad] = [300, 150, 18];
  const bw = W / text.length;
  const y = (v: number) => H - pad - (v / top) * (H - 2 * pad);
  const step = init
    .map((v, k) => `${k === 0 ? 'M' : 'L'}${k * bw},${y(v)} L${(k + 1) * bw},${y(v)}`)
    .join(' ');
  return (
    <figure class="histogram">
      <svg viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img">
        <title>
          Units by mean decay period over this text (bars) against the initial distribution (line)
        </title>
        {text.map((v, k) => (
          <rect
            key={k}
            class="bar"
            x={k * bw + 0.5}
            y={y(v)}
            width={Math.max(0, bw - 1)}
            height={H - pad - y(v)}
          >
            <title>{`D in [${fmt(edges[k])}, ${fmt(edges[k + 1])}): ${(100 * v).toFixed(1)}% of units (initial ${(100 * init[k]).toFixed(1)}%)`}</title>
          </rect>
        ))}
        <path class="initial" d={step} />
        {edges.map((e, k) =>
          Number.isInteger(Math.log10(e)) ? (
            <text key={e} x={k * bw} y={H - 4} class="axis">
              {fmt(e)}
            </text>
          ) : null,
        )}
      </svg>
      <figcaption>
        Mean decay period D = 1/(1−f) per unit over the text (bars, log bins) against the model's
        initial distribution (line: {initial.description}).
      </figcaption>
    </figure>
  );
}

/** The heat map's column width and row height, in CSS pixels, for T tokens and d units. */
function cellSize(T: number, d: number): { cw: number; rh: number } {
  return { cw: clamp(Math.floor(880 / T), 1, 24), rh: clamp(Math.floor(256 / d), 1, 12) };
}

function UnitTrace({
  forget,
  tokens,
  hover,
}: {
  forget: number[][];
  tokens: string[];
  hover: Hover;
}) {
  const values = forget.map((row) => row[hover.unit]);
  // Aligned with the heat map's columns above it.
  const { cw } = cellSize(values.length, forget[0].length);
  const W = values.length * cw;
  const H = 60;
  const x = (t: number) => (t + 0.5) * cw;
  const points = values.map((v, t) => `${x(t).toFixed(1)},${(H - v * H).toFixed(1)}`).join(' ');
  return (
    <div class="trace">
      <p>
        unit {hover.unit}: f at token {hover.token} ({JSON.stringify(tokens[hover.token])}) ={' '}
        {values[hover.token].toFixed(4)}, mean{' '}
        {(values.reduce((a, b) => a + b, 0) / values.length).toFixed(4)}
      </p>
      <svg viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img">
        <title>{`unit ${hover.unit}'s forget gate over the text`}</title>
        <polyline class="trace-line" points={points} />
        <line class="cursor" x1={x(hover.token)} x2={x(hover.token)} y1={0} y2={H} />
      </svg>
      <p class="tinted">
        {tokens.map((t, k) => (
          <span
            key={k}
            style={{ background: css(values[k]), color: values[k] > 0.6 ? '#000' : '#fff' }}
          >
            {shown(t)}
          </span>
        ))}
      </p>
    </div>
  );
}

function Layer(props: {
  layer: number;
  forget: number[][];
  tokens: string[];
  initial: InitialDecay;
}) {
  const { layer, forget, tokens, initial } = props;
  const summary = useMemo(() => summarizeLayer(forget), [forget]);
  const [hover, setHover] = useState<Hover | null>(null);
  return (
    <section class="layer">
      <h3>layer {layer}</h3>
      <div class="layer-row">
        <HeatMap forget={forget} summary={summary} layer={layer} onHover={setHover} />
        <Histogram summary={summary} initial={initial} />
      </div>
      {hover ? (
        <UnitTrace forget={forget} tokens={tokens} hover={hover} />
      ) : (
        <p class="hint">Hover over the heat map: a unit's gate over the text.</p>
      )}
    </section>
  );
}

interface Props {
  text: string;
  setText: (text: string) => void;
  /** Changes when another view asks for this text's gates. */
  request: number;
  maxTokens: number;
}

export function Gates({ text, setText, request, maxTokens }: Props) {
  const [result, setResult] = useState<GatesResponse | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const running = useRef<AbortController | null>(null);

  const show = async (which: string) => {
    running.current?.abort();
    const controller = new AbortController();
    running.current = controller;
    setBusy(true);
    setError(null);
    try {
      const r = await fetchGates(which, controller.signal);
      performance.mark('gates-response');
      setResult(r);
    } catch (err) {
      if ((err as Error).name !== 'AbortError')
        setError(err instanceof ApiFailure ? err.message : `error: ${(err as Error).message}`);
    } finally {
      if (running.current === controller) {
        running.current = null;
        setBusy(false);
      }
    }
  };
  useEffect(() => {
    if (request > 0 && text !== '') void show(text);
  }, [request]);
  useEffect(() => {
    if (result) performance.mark('gates-rendered');
  }, [result]);

  return (
    <section class="view" aria-label="gates">
      <form
        class="controls"
        onSubmit={(e) => {
          e.preventDefault();
          void show(text);
        }}
      >
        <TextField
          label={`text (at most ${maxTokens} tokens)`}
          name="text"
          value={text}
          onValue={setText}
        />
        <div class="buttons">
          <button type="submit" disabled={busy || text === ''}>
            Show gates
          </button>
        </div>
      </form>
      <ErrorAlert error={error} />
      {busy && <p class="status">reading the text…</p>}
      {result && (
        <div class="gates" data-tokens={result.tokens.length}>
          <p class="legend">
            Effective forget gate f (the gate the mechanism applies to the state) of every unit
            (rows, longest mean decay period at the top) at every token (columns,{' '}
            {result.tokens.length} tokens).
          </p>
          <p class="scale">
            f = 0 (forgets at once) <span class="gradient" /> f = 1 (keeps)
          </p>
          {result.forget.map((forget, l) => (
            <Layer
              key={l}
              layer={l}
              forget={forget}
              tokens={result.tokens}
              initial={result.initial}
            />
          ))}
        </div>
      )}
    </section>
  );
}
