import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { writeFileAtomic } from '@urgate/files';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** Renders a vega-lite spec to an SVG string headlessly (no canvas, no browser). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export interface PngOptions {
  /** Pixel scale relative to the SVG's size (default 2). */
  scale?: number;
}

/** Rasterises an SVG string to PNG bytes with resvg (system fonts for text). */
export function svgToPng(svg: string, options: PngOptions = {}): Uint8Array {
  const scale = options.scale ?? 2;
  if (!(scale > 0))
    throw new Error(`scale: expected a positive number, got ${JSON.stringify(options.scale)}`);
  return new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    font: { loadSystemFonts: true, sansSerifFamily: 'DejaVu Sans' },
    background: 'white',
  })
    .render()
    .asPng();
}

/** Writes `<basePath>.svg` and `<basePath>.png` for a spec; returns both paths. */
export async function writeFigure(
  basePath: string,
  spec: TopLevelSpec,
  options: PngOptions = {},
): Promise<{ svg: string; png: string }> {
  if (typeof basePath !== 'string' || basePath === '')
    throw new Error(
      `basePath: expected a file path without extension, got ${JSON.stringify(basePath)}`,
    );
  const svgText = await renderSvg(spec);
  const paths = { svg: `${basePath}.svg`, png: `${basePath}.png` };
  await mkdir(dirname(basePath), { recursive: true });
  await writeFileAtomic(paths.svg, svgText);
  await writeFileAtomic(paths.png, svgToPng(svgText, options));
  return paths;
}

export interface LineChartOptions {
  title?: string;
  x: { field: string; title?: string };
  y: { field: string; title?: string };
  /** Field whose values draw separate coloured lines. */
  color?: { field: string; title?: string };
  width?: number;
  height?: number;
}

export function lineChartSpec(rows: Record<string, unknown>[], o: LineChartOptions): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: o.title,
    width: o.width ?? 360,
    height: o.height ?? 280,
    data: { values: rows },
    mark: { type: 'line' },
    encoding: {
      x: { field: o.x.field, type: 'quantitative', title: o.x.title ?? o.x.field },
      y: { field: o.y.field, type: 'quantitative', title: o.y.title ?? o.y.field },
      ...(o.color
        ? {
            color: { field: o.color.field, type: 'nominal', title: o.color.title ?? o.color.field },
          }
        : {}),
    },
  } as TopLevelSpec;
}

export interface HistogramOptions {
  title?: string;
  field: string;
  fieldTitle?: string;
  /** Field whose values give one small-multiple panel each. */
  facet?: { field: string; title?: string; columns?: number; sort?: string[] };
  bins?: number;
  extent?: [number, number];
  width?: number;
  height?: number;
}

export function histogramSpec(rows: Record<string, unknown>[], o: HistogramOptions): TopLevelSpec {
  const bin = { maxbins: o.bins ?? 40, ...(o.extent ? { extent: o.extent } : {}) };
  const unit = {
    width: o.width ?? 180,
    height: o.height ?? 120,
    mark: { type: 'bar' },
    encoding: {
      x: { field: o.field, type: 'quantitative', bin, title: o.fieldTitle ?? o.field },
      y: { aggregate: 'count', type: 'quantitative', title: 'count' },
    },
  };
  if (!o.facet)
    return {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      title: o.title,
      data: { values: rows },
      ...unit,
    } as TopLevelSpec;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: o.title,
    data: { values: rows },
    facet: {
      field: o.facet.field,
      type: 'nominal',
      title: o.facet.title ?? o.facet.field,
      ...(o.facet.sort ? { sort: o.facet.sort } : {}),
    },
    columns: o.facet.columns ?? 3,
    spec: unit,
  } as TopLevelSpec;
}
