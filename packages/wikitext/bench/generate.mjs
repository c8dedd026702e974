// Writes a synthetic WikiText-format file of at least `megabytes` MB: Zipf-distributed words from
// a fixed 50k-word vocabulary (so the vocabulary saturates and memory should not grow with
// size), `@-@`/`@,@` tokens, articles with sections, blank lines between paragraphs.
import { createWriteStream } from 'node:fs';

function lcg(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

export async function generateWikiText(path, megabytes, seed = 1) {
  const rand = lcg(seed);
  const V = 50_000;
  const words = Array.from({ length: V }, (_, i) => `w${i.toString(36)}`);
  words[1] = '@-@';
  words[2] = '@,@';
  words[3] = '.';
  words[4] = ',';
  // Zipf(1) sampling through the inverse of the cumulative harmonic weights.
  const cdf = new Float64Array(V);
  let sum = 0;
  for (let i = 0; i < V; i++) cdf[i] = sum += 1 / (i + 1);
  const draw = () => {
    const u = rand() * sum;
    let lo = 0;
    let hi = V - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return words[lo];
  };
  const out = createWriteStream(path);
  const target = megabytes * 1e6;
  let written = 0;
  let article = 0;
  let chunk = [];
  let chunkBytes = 0;
  const emit = async (line) => {
    chunk.push(line);
    chunkBytes += line.length;
    if (chunkBytes > 1 << 20) {
      const text = chunk.join('');
      written += Buffer.byteLength(text);
      if (!out.write(text)) await new Promise((r) => out.once('drain', r));
      chunk = [];
      chunkBytes = 0;
    }
  };
  while (written + chunkBytes < target) {
    await emit(` \n = Article ${article++} = \n \n`);
    for (let section = 0; section < 4; section++) {
      if (section > 0) await emit(` = = Section ${section} = = \n \n`);
      for (let p = 0; p < 3; p++) {
        const n = 40 + Math.floor(rand() * 120);
        const line = Array.from({ length: n }, draw);
        await emit(` ${line.join(' ')} \n \n`);
      }
    }
  }
  const text = chunk.join('');
  written += Buffer.byteLength(text);
  out.write(text);
  await new Promise((resolve, reject) => out.end((err) => (err ? reject(err) : resolve())));
  return { bytes: written, articles: article };
}
