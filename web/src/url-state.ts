// The view's state lives in the URL (page, month, range, compare, filters, sort…): a link opens
// the same view, and the back button works. Filters are the attribute names themselves
// (`?segment=enterprise&region=EMEA`), as the API takes them.
import { currentAttributes } from './session.js';

type Listener = () => void;
let onChange: Listener = () => undefined;

/** Called by the router once: what runs after every navigation. */
export function onNavigate(listener: Listener): void {
  onChange = listener;
}

export function params(): URLSearchParams {
  return new URLSearchParams(location.search);
}

/** Opens `path` with `query` (empty values left out); `replace` keeps one history entry. */
export function go(path: string, query: Record<string, string | number | undefined | null> = {}, replace = false): void {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const url = `${path}${q.toString() ? `?${q}` : ''}`;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  onChange();
}

/** Sets (or with '' removes) parameters of the current view; paging restarts. */
export function setParams(changes: Record<string, string | number | undefined>): void {
  const q: Record<string, string | number | undefined> = Object.fromEntries(params());
  Object.assign(q, changes);
  if (!('offset' in changes)) delete q['offset'];
  go(location.pathname, q, true);
}

/** The attribute filters in the URL: only names the server offers as categorical attributes. */
export function filters(): Record<string, string> {
  const p = params();
  const out: Record<string, string> = {};
  for (const a of currentAttributes()) {
    const v = p.get(a.name);
    if (v) out[a.name] = v;
  }
  return out;
}

/** The filters as `key=value` text for headings ("segment = enterprise · region = EMEA"). */
export function filterText(): string {
  return Object.entries(filters())
    .map(([k, v]) => `${k} = ${v}`)
    .join(' · ');
}

/** A link to `path` that keeps the current filters (and adds `extra`). */
export function hrefWithFilters(path: string, extra: Record<string, string | number | undefined> = {}): string {
  const q = new URLSearchParams(filters());
  for (const [k, v] of Object.entries(extra)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** Opens a link (path and query) as a new history entry. */
export function navigate(href: string): void {
  history.pushState(null, '', href);
  onChange();
}
