// Page benchmark in headless chromium (Debian's, via playwright-core): the first load of `/` (bytes
// and time, on loopback, cache empty) and the gate view of a 1,000-token text (click to painted
// heat maps), each next to a reference measured in the same run: the same files fetched by Node,
// and POST /gates of the same text fetched by Node.
//
//   npm run bench:page -w @urgate/serve
//   URGATE_BENCH_MODEL: a step graph to serve (default: random UR-LSTM weights built here with
//                       URGATE_BENCH_VOCAB 8000 words, URGATE_BENCH_HIDDEN 256, URGATE_BENCH_LAYERS 2)
//   URGATE_BENCH_TOKENS: tokens of the gate-view text (1000); URGATE_BENCH_RUNS (10)
//   URGATE_SCREENSHOTS: a folder: also writes page-generate.png and page-gates.png there
import { join } from 'node:path';
import { benchSize, machine, median } from '@urgate/bench';
import type { Page } from 'playwright-core';
import { launch } from '../browser/chromium.js';
import { startServer } from '../src/index.js';
import { benchModel } from './harness.js';

const TOKENS = benchSize('TOKENS', 1000);
const RUNS = benchSize('RUNS', 10);
const ms = (v: number) => `${v.toFixed(1)} ms`;
// biome-ignore lint/suspicious/noExplicitAny: response bodies are read field by field
type Json = any;

const modelPath = (await benchModel()).step;
const server = await startServer({ modelPath, port: 0, maxTokensLimit: 4096, maxGateTokens: 4096 });
const { model } = server.metadata;
const post = (path: string, body: unknown) =>
  fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
console.log(
  `page benchmark: ${server.modelId} (${model.core} ${model.mechanism}, ${model.numLayers} x ${model.hiddenSize}, V ${model.vocabSize}); ${machine()}`,
);

const browser = await launch();
try {
  // First load, cache empty: a new tab per load with chromium's cache disabled (DevTools protocol).
  // `ready`: the page's own mark once the model is described (its /v1/models answered and painted).
  const context = await browser.newContext();
  const loads: { bytes: number; load: number; ready: number }[] = [];
  const blank: number[] = [];
  for (let k = 0; k < RUNS; k++) {
    for (const path of ['/', '/health']) {
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.enable');
      await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
      const sizes: Promise<number>[] = [];
      page.on('response', (r) => {
        sizes.push(r.body().then((b) => b.length));
      });
      await page.goto(`${server.url}${path}`, { waitUntil: 'load' });
      if (path === '/')
        await page.waitForFunction(`performance.getEntriesByName('app-ready').length > 0`);
      const timing = (await page.evaluate(`(() => {
        const nav = performance.getEntriesByType('navigation')[0];
        const ready = performance.getEntriesByName('app-ready')[0];
        return { load: nav.loadEventEnd - nav.startTime, ready: ready ? ready.startTime : 0 };
      })()`)) as { load: number; ready: number };
      const bytes = (await Promise.all(sizes)).reduce((a, b) => a + b, 0);
      if (path === '/') loads.push({ bytes, ...timing });
      else blank.push(timing.load);
      await page.close();
    }
  }
  await context.close();
  // Reference: the same files (index.html and what it names) fetched one after another by Node.
  const html = await (await fetch(`${server.url}/`)).text();
  const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
  const nodeTimes: number[] = [];
  for (let k = 0; k < RUNS; k++) {
    const t0 = performance.now();
    for (const path of ['/', ...assets]) await (await fetch(`${server.url}${path}`)).arrayBuffer();
    nodeTimes.push(performance.now() - t0);
  }
  const load = median(loads.map((l) => l.load));
  console.log(
    `first load of / (${1 + assets.length} files, cache disabled): ${(loads[0].bytes / 1024).toFixed(1)} KB; load event ${ms(load)} median, ${ms(Math.max(...loads.map((l) => l.load)))} max; model described and painted ${ms(median(loads.map((l) => l.ready)))} median; references: GET /health (JSON) in the same browser ${ms(median(blank))}, Node fetching the same files ${ms(median(nodeTimes))}; ${RUNS} loads`,
  );

  // A text of TOKENS tokens: `<eos>`, "the" and what the model generates after it.
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${server.url}/`);
  await page.locator('h1').waitFor();
  const completion: Json = await (
    await post('/v1/completions', {
      model: server.modelId,
      prompt: 'the',
      max_tokens: TOKENS - 2,
      seed: 1,
      temperature: 0.8,
    })
  ).json();
  const text = `the${completion.choices[0].text}`;
  const gatesTimes: number[] = [];
  let T = 0;
  for (let k = 0; k < 5; k++) {
    const t0 = performance.now();
    const r: Json = await (await post('/gates', { prompt: text })).json();
    gatesTimes.push(performance.now() - t0);
    T = r.tokens.length;
  }
  await page.getByRole('button', { name: 'Gates', exact: true }).click();
  await page.fill('textarea[name=text]', text);
  const views: { total: number; render: number }[] = [];
  for (let k = 0; k < 5; k++) {
    await page.evaluate(() => performance.clearMarks());
    const t0 = performance.now();
    await page.getByRole('button', { name: 'Show gates' }).click();
    // Code run in the page is a string: this file is type-checked without the DOM's types.
    await page.waitForFunction(`(() => {
      const canvases = [...document.querySelectorAll('canvas.heatmap')];
      return (
        performance.getEntriesByName('gates-rendered').length > 0 &&
        canvases.length === ${model.numLayers} &&
        canvases.every((c) => c.width === ${T})
      );
    })()`);
    // Until the next frame is painted.
    const render = (await page.evaluate(`new Promise((resolve) =>
      requestAnimationFrame(() =>
        setTimeout(() => {
          const [response] = performance.getEntriesByName('gates-response');
          resolve(performance.now() - response.startTime);
        }),
      ),
    )`)) as number;
    views.push({ total: performance.now() - t0, render });
  }
  const total = median(views.map((v) => v.total));
  const render = median(views.map((v) => v.render));
  console.log(
    `gate view of a ${T}-token text (${model.numLayers} heat maps of ${model.hiddenSize} units x ${T} tokens): click to painted ${ms(total)} median (max ${ms(Math.max(...views.map((v) => v.total)))}); of which the page's work after the response ${ms(render)}; reference POST /gates by Node ${ms(median(gatesTimes))} (view ${(total / median(gatesTimes)).toFixed(1)}x); 5 runs`,
  );

  const shots = process.env.URGATE_SCREENSHOTS;
  if (shots) await screenshots(page, shots);
  await page.close();
} finally {
  await browser.close();
  await server.close(0);
}

/** The two views as a reader sees them: a generation with a token's alternatives, and the gates. */
async function screenshots(page: Page, dir: string): Promise<void> {
  await page.getByRole('button', { name: 'Generate', exact: true }).first().click();
  const view = page.getByRole('region', { name: 'generate' });
  await page.fill('textarea[name=prompt]', 'the president said that');
  await page.fill('input[name=max_tokens]', '60');
  await page.fill('input[name=seed]', '7');
  await view.getByRole('button', { name: 'Generate' }).click();
  await page.getByText(/^done/).waitFor();
  await page.locator('.completion .tok').nth(8).focus();
  await page.screenshot({ path: join(dir, 'page-generate.png') });
  await view.getByRole('button', { name: 'Gates of this text →' }).click();
  await page.locator('canvas.heatmap').first().waitFor();
  await page
    .locator('canvas.heatmap')
    .first()
    .hover({ position: { x: 40, y: 6 } });
  await page.locator('.trace').first().waitFor();
  await page.screenshot({ path: join(dir, 'page-gates.png'), fullPage: true });
  console.log(`screenshots: ${dir}/page-generate.png, ${dir}/page-gates.png`);
}
