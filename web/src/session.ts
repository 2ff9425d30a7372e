// What every page shares once loaded: the workspace summary and the attributes that can filter.
import { ApiError, get } from './api-client.js';
import type { Attribute, Summary } from './api-types.js';

let summary: Summary | null = null;
let summaryLoad: Promise<Summary> | null = null;
let attributes: readonly Attribute[] | null = null;

/**
 * The workspace summary (reporting month, currency, benchmarks…), read once: callers that come
 * while it is being read share that one request (a failed read is tried again by the next caller).
 */
export function loadSummary(): Promise<Summary> {
  summaryLoad ??= get<Summary>('/api/summary').then(
    (s) => (summary = s),
    (e: unknown) => {
      summaryLoad = null;
      throw e;
    },
  );
  return summaryLoad;
}

/** The summary once loaded (pages run after `loadSummary`). */
export function currentSummary(): Summary {
  if (!summary) throw new Error('the summary is not loaded yet');
  return summary;
}

/**
 * The categorical attributes (GET /api/attributes): what filters every page and what Segments
 * groups by. A server without the route offers no filters (never every column as a group).
 */
export async function loadAttributes(): Promise<readonly Attribute[]> {
  if (attributes) return attributes;
  try {
    attributes = await get<Attribute[]>('/api/attributes');
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) throw e;
    attributes = [];
  }
  return attributes;
}

/** Attributes once loaded ([] before). */
export function currentAttributes(): readonly Attribute[] {
  return attributes ?? [];
}
