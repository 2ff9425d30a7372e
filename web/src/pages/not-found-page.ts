// The 404 view: an unknown path says so (never shows Overview in its place).
import { esc, pageRoot } from '../dom.js';

export async function notFoundPage(path: string): Promise<void> {
  pageRoot().innerHTML = `<h1 data-not-found>Page not found</h1>
    <p class="muted">There is no page at <code>${esc(path)}</code>.</p>
    <p><a href="/overview" data-link>Go to Overview</a> · <a href="/accounts" data-link>Accounts</a> · <a href="/tasks" data-link>Tasks</a></p>`;
}
