// ECharts on the page: one registry so a view's charts are disposed when it changes and resized
// with the window; each chart's card gets a "PNG" button (getDataURL, white background).
import type { ECharts, EChartsOption } from 'echarts';
import { download, esc } from './dom.js';

const charts = new Map<string, ECharts>();

/**
 * Draws `option` into the element `id` (inside a card with a `.chart-tools` slot for the PNG
 * button). Tooltips are drawn on the canvas: HTML tooltips carry inline styles the CSP refuses.
 */
export function chart(id: string, option: EChartsOption, name = id): ECharts {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  const c = echarts.init(el, null, { renderer: 'canvas' });
  const tooltip = option.tooltip ? { tooltip: { renderMode: 'richText', confine: true, ...(option.tooltip as object) } } : {};
  c.setOption({ textStyle: { fontFamily: 'system-ui, sans-serif' }, animation: false, ...option, ...tooltip } as EChartsOption);
  charts.set(id, c);
  el.dataset['pngName'] = name;
  return c;
}

/** A card holding a chart: title, PNG button, the chart's element. */
export function chartCard(id: string, title: string, options: { tall?: boolean; note?: string; height?: number; heightClass?: string } = {}): string {
  const cls = ['chart', options.tall ? 'tall' : '', options.heightClass ?? ''].filter(Boolean).join(' ');
  return `<div class="card section"><div class="card-head"><h2>${esc(title)}</h2><button type="button" class="small-button" data-png="${esc(id)}" aria-label="Download ${esc(title)} as PNG">PNG</button></div>${
    options.note ? `<p class="muted note">${esc(options.note)}</p>` : ''
  }<div id="${esc(id)}" class="${cls}"></div></div>`;
}

/** Downloads the chart `id` as a PNG (the click handler of every PNG button). */
export function downloadPng(id: string): void {
  const c = charts.get(id);
  if (!c) return;
  const name = document.getElementById(id)?.dataset['pngName'] ?? id;
  download(`${name}.png`, c.getDataURL({ type: 'png', pixelRatio: 2, backgroundColor: '#fff' }));
}

/** Disposes the charts of the previous view. */
export function disposeCharts(): void {
  for (const c of charts.values()) c.dispose();
  charts.clear();
}

window.addEventListener('resize', () => charts.forEach((c) => c.resize()));
