import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiFailure, fetchModel, type ModelInfo } from './api.js';
import { Gates } from './Gates.js';
import { Generate } from './Generate.js';
import './style.css';
import { ErrorAlert } from './controls.js';

type View = 'generate' | 'gates';

function App() {
  const [model, setModel] = useState<ModelInfo | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [view, setView] = useState<View>('generate');
  const [gateText, setGateText] = useState('the cat sat on the mat');
  const [gateRequest, setGateRequest] = useState(0);

  useEffect(() => {
    fetchModel().then(
      (m) => {
        setModel(m);
        requestAnimationFrame(() => performance.mark('app-ready'));
      },
      (e) => setError(e instanceof ApiFailure ? e.message : `error: ${(e as Error).message}`),
    );
  }, []);

  if (error) return <ErrorAlert error={error} />;
  if (!model) return <p class="status">loading the model description…</p>;
  return (
    <main>
      <header>
        <h1>{model.id}</h1>
        <p class="model">
          {model.mechanism}
          {model.core.toUpperCase()} · {model.numLayers} layer{model.numLayers === 1 ? '' : 's'} ×{' '}
          {model.hiddenSize} units · vocabulary {model.vocabSize}
        </p>
        <nav>
          {(['generate', 'gates'] as const).map((v) => (
            <button
              type="button"
              key={v}
              class={view === v ? 'tab active' : 'tab'}
              aria-pressed={view === v}
              onClick={() => setView(v)}
            >
              {v === 'generate' ? 'Generate' : 'Gates'}
            </button>
          ))}
        </nav>
      </header>
      <div hidden={view !== 'generate'}>
        <Generate
          model={model}
          onGates={(text) => {
            setGateText(text);
            setGateRequest((k) => k + 1);
            setView('gates');
          }}
        />
      </div>
      <div hidden={view !== 'gates'}>
        {model.gates ? (
          <Gates
            text={gateText}
            setText={setGateText}
            request={gateRequest}
            maxTokens={model.maxGateTokens}
          />
        ) : (
          <p class="error">
            This server has no gates graph: export the model again with `urgate export` (it writes
            &lt;name&gt;.gates.onnx next to the step graph) and restart the server.
          </p>
        )}
      </div>
    </main>
  );
}

const root = document.getElementById('app');
if (root) render(<App />, root);
