// Preparation throughput and peak memory for 50 MB and 200 MB WikiText-format files.
// Each size runs in a fresh process so that its peak RSS is its own. Run: npm run bench
// (in packages/wikitext; from the sources). Files live in a temp dir, deleted afterwards.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machine } from '@urgate/bench';
import { fromSource } from '@urgate/source-hooks';
import { generateWikiText } from './generate.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const sizes = (process.env.BENCH_SIZES_MB ?? '50,200').split(',').map(Number);
const root = await mkdtemp(join(tmpdir(), 'urgate-wikitext-bench-'));
const rows = [];
try {
  for (const mb of sizes) {
    const dataDir = join(root, `data-${mb}`);
    await mkdir(dataDir);
    const g0 = performance.now();
    const { bytes } = await generateWikiText(join(dataDir, 'wiki.train.tokens'), mb);
    const genSeconds = (performance.now() - g0) / 1000;
    const out = execFileSync(
      process.execPath,
      [...fromSource, join(here, 'prepare-one.mjs'), dataDir, join(root, `cache-${mb}`)],
      {
        encoding: 'utf8',
      },
    );
    const r = JSON.parse(out.trim().split('\n').pop());
    const fileMB = bytes / 1e6;
    rows.push({
      'file MB': fileMB.toFixed(1),
      'generate s': genSeconds.toFixed(1),
      'vocab pass s': r.vocabSeconds.toFixed(1),
      'vocab MB/s': (fileMB / r.vocabSeconds).toFixed(1),
      'prepare s (sha256 + encode + write)': r.prepareSeconds.toFixed(1),
      'prepare MB/s': (fileMB / r.prepareSeconds).toFixed(1),
      tokens: r.counts.tokens,
      articles: r.counts.articles,
      'peak RSS MB': r.maxRssMB.toFixed(0),
    });
    await rm(dataDir, { recursive: true, force: true });
    await rm(join(root, `cache-${mb}`), { recursive: true, force: true });
  }
} finally {
  await rm(root, { recursive: true, force: true });
}
console.log(machine());
console.table(rows);
if (rows.length >= 2) {
  const first = Number(rows[0]['peak RSS MB']);
  const last = Number(rows[rows.length - 1]['peak RSS MB']);
  console.log(
    `peak RSS ${first} MB at ${rows[0]['file MB']} MB vs ${last} MB at ${rows[rows.length - 1]['file MB']} MB (ratio ${(last / first).toFixed(2)}; file ratio ${(Number(rows[rows.length - 1]['file MB']) / Number(rows[0]['file MB'])).toFixed(1)})`,
  );
}
