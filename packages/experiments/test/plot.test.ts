import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { histogramSpec, lineChartSpec, renderSvg, svgToPng, writeFigure } from '../src/plot.js';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Width and height from the IHDR chunk, which the PNG spec puts first (bytes 16..23). */
function pngSize(png: Uint8Array): [number, number] {
  expect(Array.from(png.subarray(0, 8))).toEqual(PNG_SIGNATURE);
  expect(Buffer.from(png.subarray(12, 16)).toString('ascii')).toBe('IHDR');
  const view = new DataView(png.buffer, png.byteOffset);
  return [view.getUint32(16), view.getUint32(20)];
}

function svgSize(svg: string): [number, number] {
  const m = /<svg[^>]*\swidth="(\d+(?:\.\d+)?)"[^>]*\sheight="(\d+(?:\.\d+)?)"/.exec(svg);
  if (!m) throw new Error('no svg size');
  return [Number(m[1]), Number(m[2])];
}

const rows = [0, 0.5, 1].flatMap((r) =>
  [0, 0.25, 0.5, 0.75, 1].map((f) => ({ r, f, g: 2 * r * f + (1 - 2 * r) * f * f })),
);

describe('plot', () => {
  it('renders a vega-lite line chart to SVG with its title and one line per colour', async () => {
    const svg = await renderSvg(
      lineChartSpec(rows, {
        title: 'refine gate',
        x: { field: 'f' },
        y: { field: 'g' },
        color: { field: 'r' },
      }),
    );
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('refine gate');
    expect(svg.match(/role-mark[^"]*"[^>]*>/g)?.length).toBeGreaterThan(0);
    expect((svg.match(/<path[^>]*aria-roledescription="line mark"/g) ?? []).length).toBe(3);
  });

  it('rasterises at the requested scale (PNG signature and IHDR size)', async () => {
    const svg = await renderSvg(
      histogramSpec(rows, { field: 'g', facet: { field: 'r', columns: 3 } }),
    );
    const [w, h] = svgSize(svg);
    expect(pngSize(svgToPng(svg, { scale: 2 }))).toEqual([Math.round(2 * w), Math.round(2 * h)]);
    expect(() => svgToPng(svg, { scale: 0 })).toThrow(/^scale: expected a positive number/);
  });

  it('writeFigure writes the SVG and PNG pair and no temporary files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'urgate-plot-'));
    const paths = await writeFigure(
      join(dir, 'figs', 'curve'),
      lineChartSpec(rows, { x: { field: 'f' }, y: { field: 'g' } }),
    );
    expect((await readdir(join(dir, 'figs'))).sort()).toEqual(['curve.png', 'curve.svg']);
    expect((await readFile(paths.svg, 'utf8')).startsWith('<svg')).toBe(true);
    pngSize(await readFile(paths.png));
  });
});
