// The single-page app's router: a path → a page; unknown paths → the 404 view. It renders the
// header (navigation keeps the filters), marks the body ready when the page's data is shown, and
// delegates the shared clicks (links, rows, CSV, PNG, filter chips) and control changes.
import { ApiError } from './api-client.js';
import { sayWhileWaiting } from './background-status.js';
import { disposeCharts, downloadPng } from './charts.js';
import { clearTables, downloadCsv, showAllRows } from './data-table.js';
import { byId, esc, pageRoot } from './dom.js';
import type { Summary } from './api-types.js';
import { loadAttributes, loadSummary } from './session.js';
import { hrefWithFilters, onNavigate, setParams } from './url-state.js';

export interface Route {
  /** Path pattern: '/accounts/:id'. */
  readonly path: string;
  /** The nav label, for top-level pages. */
  readonly label?: string;
  readonly render: (args: Record<string, string>) => Promise<void>;
  /**
   * The page asks for its data without waiting for the summary (it awaits `loadSummary()` itself
   * before drawing): a first visit then makes one round of requests instead of two.
   */
  readonly early?: boolean;
}

let routes: readonly Route[] = [];
let notFound: (path: string) => Promise<void> = async () => undefined;
let generation = 0;

function match(pattern: string, path: string): Record<string, string> | null {
  const a = pattern.split('/').filter(Boolean);
  const b = path.split('/').filter(Boolean);
  if (a.length !== b.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < a.length; i++) {
    if (a[i]!.startsWith(':')) out[a[i]!.slice(1)] = decodeURIComponent(b[i]!);
    else if (a[i] !== b[i]) return null;
  }
  return out;
}

function renderNav(active: string): void {
  byId('nav').innerHTML = routes
    .filter((r) => r.label)
    .map((r) => {
      const current = active === r.path || active.startsWith(`${r.path}/`);
      return `<a href="${esc(hrefWithFilters(r.path))}" data-link${current ? ' class="active" aria-current="page"' : ''}>${esc(r.label!)}</a>`;
    })
    .join('');
}

/** The header's line about the data. Drawn after the page has asked for its data: the first number formatted in a fresh tab loads the locale's data (tens of milliseconds). */
function renderHeader(summary: Summary): void {
  const asof = byId('asof');
  asof.textContent = `as of ${summary.as_of_date} · reporting month ${summary.as_of_month}${summary.partial ? ' (partial)' : ''} · ${summary.accounts.toLocaleString('en-US')} accounts · ${summary.reporting_currency}`;
  if (summary.date_notes.length) {
    asof.textContent += ` · warning: ${summary.date_notes.join(' ')}`;
    asof.classList.add('date-warning');
  }
}

/** Shows the page of the current URL. */
export async function route(): Promise<void> {
  const mine = ++generation;
  disposeCharts();
  clearTables();
  const path = location.pathname === '/' ? '/overview' : location.pathname.replace(/\/+$/, '');
  const root = pageRoot();
  document.body.dataset['ready'] = 'false';
  root.innerHTML = '<p class="muted" id="page-wait">Loading…</p>';
  let found: { route: Route; args: Record<string, string> } | null = null;
  for (const r of routes) {
    const args = match(r.path, path);
    if (args) {
      found = { route: r, args };
      break;
    }
  }
  try {
    const header = Promise.all([loadSummary(), loadAttributes()]);
    const early = found?.route.early ? found.route.render(found.args) : null;
    early?.catch(() => undefined); // its failure is shown below, once the header is in
    const [summary] = await header;
    // The page asks for its data first; the header is drawn while the answers come.
    const shown = early ?? (found ? found.route.render(found.args) : notFound(path));
    shown.catch(() => undefined); // awaited below
    renderHeader(summary);
    renderNav(found ? found.route.path : '');
    // A page that takes more than a second says what it waits for (replaced when it is drawn).
    const wait = document.getElementById('page-wait');
    if (wait) sayWhileWaiting(wait, 'Loading this page’s figures', shown);
    await shown;
  } catch (e) {
    if (mine !== generation) return;
    const message = e instanceof ApiError && e.status === 404 && /no such endpoint/.test(e.message)
      ? `This server does not serve what this page needs (${e.message}): update nrr.`
      : e instanceof Error ? e.message : String(e);
    root.innerHTML = `<h1>${esc(found?.route.label ?? 'Error')}</h1><div class="error" role="alert">${esc(message)}</div>`;
  }
  if (mine !== generation) return;
  document.title = `${root.querySelector('h1')?.textContent ?? 'NRR Engine'} · NRR Engine`;
  document.body.dataset['ready'] = 'true';
}

/** True while the view that started at `since` is still the one shown (a later navigation wins). */
export function current(since: number): boolean {
  return since === generation;
}
export function viewId(): number {
  return generation;
}

function onClick(e: MouseEvent): void {
  const target = e.target as HTMLElement;
  const png = target.closest<HTMLElement>('[data-png]');
  if (png) return downloadPng(png.dataset['png']!);
  const csv = target.closest<HTMLElement>('[data-csv]');
  if (csv) return void downloadCsv(csv.dataset['csv']!);
  const all = target.closest<HTMLElement>('[data-show-all]');
  if (all) return showAllRows(all.dataset['showAll']!, all);
  const chip = target.closest<HTMLElement>('[data-clear]');
  if (chip) return setParams({ [chip.dataset['clear']!]: '' });
  const sort = target.closest<HTMLElement>('[data-sort]');
  if (sort) {
    const q = new URLSearchParams(location.search);
    const key = sort.dataset['sort']!;
    const dir = q.get('sort') === key && (q.get('dir') ?? 'desc') === 'desc' ? 'asc' : 'desc';
    return setParams({ sort: key, dir });
  }
  const a = target.closest<HTMLAnchorElement>('a[data-link]');
  if (a && !e.metaKey && !e.ctrlKey && !e.shiftKey && e.button === 0) {
    e.preventDefault();
    history.pushState(null, '', a.getAttribute('href'));
    void route();
    return;
  }
  // A click on a row (not on a control in it) opens what its first link opens.
  const row = target.closest<HTMLElement>('tr[data-href]');
  if (row && !target.closest('a, button, input, select, textarea, form')) {
    history.pushState(null, '', row.dataset['href']!);
    void route();
  }
}

function onChange(e: Event): void {
  const el = e.target as HTMLInputElement | HTMLSelectElement;
  const key = el.dataset['param'];
  if (!key) return;
  if (el instanceof HTMLInputElement && el.type === 'checkbox') setParams({ [key]: el.checked ? (el.dataset['checkedValue'] ?? '1') : '' });
  else setParams({ [key]: el.value });
}

/** Starts the app with its routes and 404 view. */
export function start(all: readonly Route[], missing: (path: string) => Promise<void>): void {
  routes = all;
  notFound = missing;
  onNavigate(() => void route());
  document.addEventListener('click', onClick);
  document.addEventListener('change', onChange);
  window.addEventListener('popstate', () => void route());
  if (location.pathname === '/') history.replaceState(null, '', `/overview${location.search}`);
  void route();
}
