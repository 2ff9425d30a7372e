// ECharts on the page: one registry so a view's charts are disposed when it changes and resized
// with the window; each chart's card gets a "PNG" button (getDataURL, white background).
// The library (a classic script, 1.1 MB) is not in the page's head: it is asked for when the first
// chart is drawn, so a page's figures and tables are shown without waiting for it and its charts
// fill in when it has come. Until then a chart's element is marked data-chart="pending"; once
// drawn, data-chart="drawn" (data-chart="failed" with a message when the library cannot be had).
import type { ECharts, EChartsOption } from 'echarts';
import { download, esc } from './dom.js';

/** Where the server serves the chart library (api-app.ts). */
const LIBRARY = '/vendor/echarts.min.js';

/** What a page gets back from chart(): the chart's events, whether it is drawn now or when the library comes. */
export interface ChartHandle {
  on<E>(event: 'click', handler: (e: E) => void): void;
}

const charts = new Map<string, ECharts>();
/** Bumped when a view's charts are disposed: a chart still waiting for the library from an older view is not drawn. */
let view = 0;
let library: Promise<void> | null = null;

/** The chart library, loaded once (a script element added to the head); rejects when it cannot be loaded. */
export function loadChartLibrary(): Promise<void> {
  if (typeof (window as { echarts?: unknown }).echarts !== 'undefined') return Promise.resolve();
  library ??= new Promise<void>((resolve, reject) => {
    const s = document.createElement('script');
    s.src = LIBRARY;
    s.async = true;
    s.addEventListener('load', () => resolve());
    s.addEventListener('error', () => {
      library = null; // a later chart tries again
      s.remove();
      reject(new Error(`the chart library (${LIBRARY}) could not be loaded`));
    });
    document.head.append(s);
  });
  return library;
}

/** True once the chart library has run (the global `echarts` is there). */
function libraryReady(): boolean {
  return typeof (window as { echarts?: unknown }).echarts !== 'undefined';
}

/**
 * Draws `option` into the element `id` (inside a card with a `.chart-tools` slot for the PNG
 * button): at once when the library is there, else when it comes (unless the view has changed or
 * the element is gone by then). Tooltips are drawn on the canvas: HTML tooltips carry inline
 * styles the CSP refuses.
 */
export function chart(id: string, option: EChartsOption, name = id): ChartHandle {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  el.dataset['pngName'] = name;
  const handlers: [string, (e: never) => void][] = [];
  let drawn: ECharts | null = null;
  const draw = (): void => {
    drawn = echarts.init(el, null, { renderer: 'canvas' });
    const tooltip = option.tooltip ? { tooltip: { renderMode: 'richText', confine: true, ...(option.tooltip as object) } } : {};
    drawn.setOption({ textStyle: { fontFamily: 'system-ui, sans-serif' }, animation: false, ...option, ...tooltip } as EChartsOption);
    for (const [event, handler] of handlers) drawn.on(event, handler as (e: unknown) => void);
    charts.set(id, drawn);
    el.dataset['chart'] = 'drawn';
  };
  if (libraryReady()) draw();
  else {
    el.dataset['chart'] = 'pending';
    const mine = view;
    loadChartLibrary().then(
      () => {
        if (mine === view && el.isConnected) draw();
      },
      (e: unknown) => {
        if (mine !== view || !el.isConnected) return;
        el.dataset['chart'] = 'failed';
        el.innerHTML = `<p class="error" role="alert">Chart not drawn: ${esc(e instanceof Error ? e.message : String(e))}.</p>`;
      },
    );
  }
  return {
    on<E>(event: 'click', handler: (e: E) => void): void {
      if (drawn) drawn.on(event, handler as (e: unknown) => void);
      else handlers.push([event, handler as (e: never) => void]);
    },
  };
}

/** A card holding a chart: title, PNG button, the chart's element. */
export function chartCard(id: string, title: string, options: { tall?: boolean; note?: string; height?: number; heightClass?: string } = {}): string {
  const cls = ['chart', options.tall ? 'tall' : '', options.heightClass ?? ''].filter(Boolean).join(' ');
  return `<div class="card section"><div class="card-head"><h2>${esc(title)}</h2><button type="button" class="small-button" data-png="${esc(id)}" aria-label="Download ${esc(title)} as PNG">PNG</button></div>${
    options.note ? `<p class="muted note">${esc(options.note)}</p>` : ''
  }<div id="${esc(id)}" class="${cls}"></div></div>`;
}

/** Downloads the chart `id` as a PNG (the click handler of every PNG button; nothing while it is not drawn). */
export function downloadPng(id: string): void {
  const c = charts.get(id);
  if (!c) return;
  const name = document.getElementById(id)?.dataset['pngName'] ?? id;
  download(`${name}.png`, c.getDataURL({ type: 'png', pixelRatio: 2, backgroundColor: '#fff' }));
}

/** Disposes the charts of the previous view (and forgets those still waiting for the library). */
export function disposeCharts(): void {
  view++;
  for (const c of charts.values()) c.dispose();
  charts.clear();
}

window.addEventListener('resize', () => charts.forEach((c) => c.resize()));
