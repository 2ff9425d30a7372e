// Controls every page shares: selects bound to URL parameters, the filters bar (every
// categorical attribute), the month picker, custom ranges and the prior-period comparison.
import { esc } from './dom.js';
import { monthRange } from './months.js';
import { currentAttributes, currentSummary } from './session.js';
import { filters, params } from './url-state.js';

/** A <select> that sets the URL parameter `key` (the router binds every [data-param]). */
export function select(key: string, options: readonly (readonly [string | number, string])[], value: string | number, label: string): string {
  return `<label>${esc(label)} <select data-param="${esc(key)}">${options
    .map(([v, t]) => `<option value="${esc(v)}"${String(v) === String(value) ? ' selected' : ''}>${esc(t)}</option>`)
    .join('')}</select></label>`;
}

/** Every month of the data, newest first. */
export function allMonths(): string[] {
  const s = currentSummary();
  return monthRange(s.first_month, s.as_of_month).reverse();
}

/** A month picker bound to `key` (default: the reporting month). */
export function monthPicker(key: string, value: string, label = 'Month'): string {
  return select(key, allMonths().map((m) => [m, m]), value, label);
}

/**
 * The filter bar: one select per categorical attribute (with its accounts), the active ones as
 * chips that clear with a click. Filters apply on every page (the nav keeps them).
 */
export function filterBar(): string {
  const active = filters();
  const attrs = currentAttributes();
  if (!attrs.length) return '';
  const chips = Object.entries(active)
    .map(([k, v]) => `<button type="button" class="chip" data-clear="${esc(k)}" aria-label="Remove filter ${esc(k)} = ${esc(v)}">${esc(k)} = ${esc(v)} ✕</button>`)
    .join('');
  const selects = attrs
    .map((a) =>
      select(
        a.name,
        [['', 'all'], ...a.values.map((v) => [v.value, `${v.value} (${v.accounts.toLocaleString('en-US')})`] as const)],
        active[a.name] ?? '',
        a.name,
      ),
    )
    .join('');
  const n = Object.keys(active).length;
  return `<div class="filters"><details${n ? ' open' : ''}><summary>Filters${n ? ` (${n})` : ''}</summary><div class="controls">${selects}</div></details>${chips ? `<div class="chips">${chips}</div>` : ''}</div>`;
}

/** The range of months a page shows: `from`…`month` in the URL, by default the 12 months to `month`. */
export interface Range {
  readonly from: string;
  readonly to: string;
  readonly compare: boolean;
}

export function rangeFromUrl(defaultMonths = 12): Range {
  const p = params();
  const s = currentSummary();
  const months = allMonths();
  const to = months.includes(p.get('month') ?? '') ? p.get('month')! : s.as_of_month;
  const fallback = months.find((m) => m <= to && monthRange(m, to).length === defaultMonths) ?? months[months.length - 1]!;
  const from = months.includes(p.get('from') ?? '') && p.get('from')! <= to ? p.get('from')! : fallback;
  return { from, to, compare: p.get('compare') === '1' };
}

/** The prior-period checkbox, bound to ?compare=1. */
export function compareCheckbox(checked: boolean): string {
  return `<label><input type="checkbox" data-param="compare" data-checked-value="1"${checked ? ' checked' : ''} /> compare with the prior period</label>`;
}

/** Month picker, custom range start and the prior-period checkbox. */
export function rangeControls(r: Range, options: { compare?: boolean } = {}): string {
  const months = allMonths();
  const compare = options.compare === false ? '' : compareCheckbox(r.compare);
  return `${select('from', months.filter((m) => m <= r.to).map((m) => [m, m]), r.from, 'From')}${select('month', months.map((m) => [m, m]), r.to, 'To (month)')}${compare}`;
}
