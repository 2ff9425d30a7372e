// Small DOM helpers: escaping text into HTML and finding the elements a page just wrote.

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe inside HTML (element content and quoted attributes). */
export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** The element with this id; an error naming it when the page did not write it. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

/** The main element every page renders into. */
export function pageRoot(): HTMLElement {
  return byId('page');
}

/** Starts a download of `content` as a file named `name`. */
export function download(name: string, content: Blob | string): void {
  const a = document.createElement('a');
  a.download = name;
  a.href = typeof content === 'string' ? content : URL.createObjectURL(content);
  document.body.append(a);
  a.click();
  a.remove();
  if (typeof content !== 'string') setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}
