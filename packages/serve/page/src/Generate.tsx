import { Component } from 'preact';
import { useRef, useState } from 'preact/hooks';
import { ApiFailure, type ModelInfo, type StreamedToken, streamCompletion } from './api.js';
import { ErrorAlert, NumberField, TextField } from './controls.js';

/**
 * Background of a token by its probability, on a log scale (a small model's probabilities are
 * mostly far below ½): red at p ≤ e^-8 (0.03%) through yellow to green at p = 1.
 */
function probabilityColour(logprob: number | null): string {
  if (logprob === null) return 'transparent';
  const x = Math.min(1, Math.max(0, 1 + logprob / 8));
  return `hsla(${Math.round(120 * x)}, 85%, 50%, 0.35)`;
}

const percent = (logprob: number) => `${(100 * Math.exp(logprob)).toFixed(1)}%`;
const shown = (text: string) => (text === '\n' ? '⏎' : text.trim() === '' ? '␣' : text);

function Token({ token }: { token: StreamedToken }) {
  const top = [...token.top].sort((a, b) => b[1] - a[1]);
  const label =
    token.logprob === null
      ? token.text
      : `${JSON.stringify(token.text)} p = ${percent(token.logprob)}; ${top
          .map(([t, lp]) => `${JSON.stringify(t)} ${percent(lp)}`)
          .join(', ')}`;
  const lineEnd = token.text.endsWith('\n');
  return (
    <>
      {/* A button: focus shows the alternatives, as hover does. */}
      <button
        type="button"
        class="tok"
        style={{ background: probabilityColour(token.logprob) }}
        aria-label={label}
      >
        <span class="piece">{lineEnd ? `${token.text.slice(0, -1)}⏎` : token.text}</span>
        {top.length > 0 && (
          <span class="alts" role="tooltip">
            {top.map(([t, lp]) => (
              <span class={t === token.text ? 'alt chosen' : 'alt'} key={t}>
                <code>{shown(t)}</code> {percent(lp)}
              </span>
            ))}
          </span>
        )}
      </button>
      {lineEnd && '\n'}
    </>
  );
}

/** Tokens are shown in blocks of this many; a full block is never rendered again. */
const BLOCK = 256;
/**
 * Blocks kept on the page: beyond them the oldest leave it (their text is kept for the gate view),
 * so that an endless stream from a fast small model leaves the page as responsive as a short one.
 */
const SHOWN_BLOCKS = 8;

interface Block {
  id: number;
  tokens: StreamedToken[];
}

/** What a completion has streamed so far: the blocks on the page and what left it. */
interface Streamed {
  blocks: Block[];
  hidden: number;
  hiddenText: string;
}

const NOTHING: Streamed = { blocks: [], hidden: 0, hiddenText: '' };

/** A block of tokens: re-renders only when it changes (only the last block grows). */
class TokenBlock extends Component<{ block: Block }> {
  override shouldComponentUpdate(next: { block: Block }): boolean {
    return next.block !== this.props.block;
  }
  override render() {
    return this.props.block.tokens.map((t, k) => <Token token={t} key={k} />);
  }
}

/** Appends tokens, keeping every full block as it was and at most SHOWN_BLOCKS blocks. */
function append(s: Streamed, more: StreamedToken[]): Streamed {
  const blocks = s.blocks.slice();
  const open = blocks.length > 0 && blocks[blocks.length - 1].tokens.length < BLOCK;
  let last: Block = open
    ? { ...(blocks.pop() as Block) }
    : { id: (blocks[blocks.length - 1]?.id ?? -1) + 1, tokens: [] };
  last.tokens = last.tokens.slice();
  for (const t of more) {
    if (last.tokens.length === BLOCK) {
      blocks.push(last);
      last = { id: last.id + 1, tokens: [] };
    }
    last.tokens.push(t);
  }
  blocks.push(last);
  let { hidden, hiddenText } = s;
  while (blocks.length > SHOWN_BLOCKS) {
    const gone = (blocks.shift() as Block).tokens;
    hidden += gone.length;
    hiddenText += gone.map((t) => t.text).join('');
  }
  return { blocks, hidden, hiddenText };
}

/** Milliseconds between renders of a running stream, however fast its tokens come. */
const RENDER_EVERY = 100;

interface Props {
  model: ModelInfo;
  /** Opens the gate view on a text. */
  onGates: (text: string) => void;
}

export function Generate({ model, onGates }: Props) {
  const [prompt, setPrompt] = useState('the');
  const [temperature, setTemperature] = useState(0.8);
  const [topP, setTopP] = useState(0.95);
  const [maxTokens, setMaxTokens] = useState(Math.min(64, model.maxTokens));
  const [seed, setSeed] = useState('');
  const [streamed, setStreamed] = useState<Streamed>(NOTHING);
  /** Tokens arrived since the last render. */
  const pending = useRef<StreamedToken[]>([]);
  const timer = useRef<number | null>(null);
  const [status, setStatus] = useState<string>('');
  const [error, setError] = useState<string | null>(null);
  const running = useRef<AbortController | null>(null);
  const [busy, setBusy] = useState(false);

  const generate = async (e: Event) => {
    e.preventDefault();
    running.current?.abort();
    const controller = new AbortController();
    running.current = controller;
    pending.current = [];
    setStreamed(NOTHING);
    setError(null);
    setStatus('waiting for the first token…');
    setBusy(true);
    const seedValue = seed.trim() === '' ? undefined : Number(seed);
    try {
      const finish = await streamCompletion(
        {
          model: model.id,
          prompt,
          max_tokens: maxTokens,
          temperature,
          top_p: topP,
          ...(seedValue === undefined ? {} : { seed: seedValue }),
        },
        controller.signal,
        (more) => {
          setStatus('generating…');
          pending.current.push(...more);
          timer.current ??= window.setTimeout(flush, RENDER_EVERY);
        },
      );
      setStatus(finish === 'length' ? 'done (max tokens)' : `done (${finish ?? 'end'})`);
    } catch (err) {
      if ((err as Error).name === 'AbortError') setStatus('stopped');
      else {
        setStatus('');
        setError(err instanceof ApiFailure ? err.message : `error: ${(err as Error).message}`);
      }
    } finally {
      flush();
      if (running.current === controller) running.current = null;
      setBusy(false);
    }
  };

  function flush() {
    if (timer.current !== null) clearTimeout(timer.current);
    timer.current = null;
    const more = pending.current.splice(0);
    if (more.length > 0) setStreamed((s) => append(s, more));
  }

  const stop = () => running.current?.abort();
  const { blocks, hidden, hiddenText } = streamed;
  const count = blocks.reduce((n, b) => n + b.tokens.length, hidden);
  const generated = () =>
    hiddenText +
    blocks
      .flatMap((b) => b.tokens)
      .map((t) => t.text)
      .join('');

  return (
    <section class="view" aria-label="generate">
      <form onSubmit={generate} class="controls">
        <TextField label="prompt" name="prompt" value={prompt} onValue={setPrompt} />
        <NumberField
          label="temperature"
          name="temperature"
          min={0}
          max={2}
          step={0.05}
          value={temperature}
          onValue={setTemperature}
        />
        <NumberField
          label="top-p"
          name="top_p"
          min={0.01}
          max={1}
          step={0.01}
          value={topP}
          onValue={setTopP}
        />
        <NumberField
          label="max tokens"
          name="max_tokens"
          title={`this server allows at most ${model.maxTokens}`}
          min={1}
          value={maxTokens}
          onValue={setMaxTokens}
        />
        <label>
          seed
          <input
            name="seed"
            type="number"
            min={0}
            placeholder="random"
            value={seed}
            onInput={(e) => setSeed(e.currentTarget.value)}
          />
        </label>
        <div class="buttons">
          <button type="submit" disabled={busy}>
            Generate
          </button>
          <button type="button" onClick={stop} disabled={!busy}>
            Stop
          </button>
          <button
            type="button"
            disabled={busy || prompt === ''}
            onClick={() => onGates(prompt + generated())}
          >
            Gates of this text →
          </button>
        </div>
      </form>
      <ErrorAlert error={error} />
      <p class="status" aria-live="polite">
        {status}
        {count > 0 && ` — ${count} tokens`}
      </p>
      <div class="completion">
        <span class="prompt-text">{prompt}</span>
        {hidden > 0 && <span class="hidden-note"> [… {hidden} tokens] </span>}
        {blocks.map((b) => (
          <TokenBlock block={b} key={b.id} />
        ))}
      </div>
      <p class="legend">
        Each generated token is coloured by its probability on a log scale (red: 0.03% or less,
        yellow: 2%, green: 100%); hover or focus it for the top alternatives.
      </p>
    </section>
  );
}
