import { type TinyModel, tinyModel } from '@urgate/test-support';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../src/index.js';
import { launch, recordingPage } from './chromium.js';

// biome-ignore lint/suspicious/noExplicitAny: the tests read response bodies field by field
type Json = any;

const LONG = 100_000;

/** The generate view's submit button (the tab above it has the same name). */
const generateButton = (page: Page) =>
  page.getByRole('region', { name: 'generate' }).getByRole('button', { name: 'Generate' });

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

describe('the page in chromium', () => {
  let tiny: TinyModel;
  let server: RunningServer;
  let browser: Browser;
  beforeAll(async () => {
    tiny = await tinyModel();
    server = await startServer({ modelPath: tiny.step, port: 0, maxTokensLimit: LONG });
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close(0);
  });

  it('generates a streamed answer, stops one, and shows the gates with one column per token', async () => {
    const { page, errors } = await recordingPage(browser);
    await page.goto(`${server.url}/`);
    await page.getByRole('heading', { name: 'tiny' }).waitFor();

    // A streamed answer: the same text the API gives for the same seed and sampling settings.
    await page.fill('textarea[name=prompt]', 'the cat');
    await page.fill('input[name=max_tokens]', '12');
    await page.fill('input[name=seed]', '3');
    await generateButton(page).click();
    await page.getByText(/^done \(max tokens\)/).waitFor();
    const pieces = await page.locator('.completion .tok .piece').allTextContents();
    expect(pieces).toHaveLength(12);
    const api = await fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'tiny',
        prompt: 'the cat',
        max_tokens: 12,
        seed: 3,
        temperature: 0.8,
        top_p: 0.95,
      }),
    }).then((r) => r.json() as Promise<Json>);
    expect(pieces.join('').replaceAll('⏎', '\n')).toBe(api.choices[0].text);
    // Its top alternatives on focus, with the probability of each.
    await page.locator('.completion .tok').first().focus();
    await expect.poll(() => page.locator('.completion .tok .alts').first().isVisible()).toBe(true);
    expect(await page.locator('.completion .tok .alts').first().textContent()).toMatch(/\d+\.\d%/);

    // Stop: tokens arrive while it runs; the button closes the request and the server cancels it.
    await page.fill('input[name=max_tokens]', String(LONG));
    await generateButton(page).click();
    await expect.poll(() => page.locator('.completion .tok').count()).toBeGreaterThan(20);
    expect(await metric(server.url, 'urgate_active_sequences')).toBe(1);
    await page.getByRole('button', { name: 'Stop' }).click();
    await page.getByText(/^stopped/).waitFor();
    await expect.poll(() => metric(server.url, 'urgate_active_sequences')).toBe(0);

    // A refused request is shown as people read it.
    await page.fill('input[name=max_tokens]', String(LONG + 1));
    await generateButton(page).click();
    expect(await page.getByRole('alert').textContent()).toMatch(/^400 Bad Request: max_tokens/);

    // The gate view of the prompt and what was generated.
    await page.fill('input[name=max_tokens]', '10');
    await generateButton(page).click();
    await page.getByText(/^done \(max tokens\)/).waitFor();
    await page.getByRole('button', { name: 'Gates of this text →' }).click();
    await page.locator('canvas.heatmap').nth(1).waitFor();
    const text = await page.inputValue('textarea[name=text]');
    const gates = await fetch(`${server.url}/gates`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: text }),
    }).then((r) => r.json() as Promise<Json>);
    expect(gates.tokens.length).toBe(1 + 2 + 10); // <eos>, "the cat", 10 generated tokens
    const widths = await page
      .locator('canvas.heatmap')
      .evaluateAll((cs) =>
        cs.map((c) => [Number(c.getAttribute('width')), Number(c.getAttribute('height'))]),
      );
    expect(widths).toEqual([
      [gates.tokens.length, 8],
      [gates.tokens.length, 8],
    ]);
    // Hovering a unit shows its values over the text.
    await page
      .locator('canvas.heatmap')
      .first()
      .hover({ position: { x: 2, y: 2 } });
    await page.locator('.trace').first().waitFor();
    expect(await page.locator('.trace .tinted span').first().count()).toBe(1);
    expect(await page.locator('.trace').first().locator('.tinted span').count()).toBe(
      gates.tokens.length,
    );
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows 429 with its Retry-After when the server is busy, without JavaScript errors', async () => {
    const busy = await startServer({
      modelPath: tiny.step,
      port: 0,
      maxBatch: 1,
      maxQueue: 0,
      maxTokensLimit: LONG,
    });
    const hold = new AbortController();
    try {
      void fetch(`${busy.url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'tiny', prompt: [1], max_tokens: LONG }),
        signal: hold.signal,
      }).catch(() => null);
      await expect.poll(() => metric(busy.url, 'urgate_active_sequences')).toBe(1);
      const { page, errors } = await recordingPage(browser);
      await page.goto(`${busy.url}/`);
      await generateButton(page).click();
      expect(await page.getByRole('alert').textContent()).toMatch(
        /^429 Too Many Requests: .* — retry in \d+ s$/,
      );
      expect(errors).toEqual([]);
      await page.close();
    } finally {
      hold.abort();
      await busy.close(0);
    }
  });
});
