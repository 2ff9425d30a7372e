// The dashboard's only way to the server: JSON over fetch, with the API token when the server
// asks for one (kept for the browser tab in sessionStorage).

const TOKEN_KEY = 'nrr-token';

/** An answer other than 2xx, with the server's message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers['authorization'] = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 401 || (res.status === 403 && method === 'POST' && !token)) {
    const t = prompt(res.status === 401 ? 'This dashboard needs its API token:' : 'Changes need the API token:');
    if (t) {
      sessionStorage.setItem(TOKEN_KEY, t);
      return request(method, path, body);
    }
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ApiError(res.status, `${method} ${path}: HTTP ${res.status}, not JSON`);
  }
  if (!res.ok) {
    const message = (parsed as { error?: string } | null)?.error ?? `HTTP ${res.status}`;
    throw new ApiError(res.status, `${path.split('?')[0]}: ${message}`);
  }
  return parsed as T;
}

/** GET a JSON answer. Money in it is exact decimal text (strings), never a float. */
export function get<T>(path: string): Promise<T> {
  return request<T>('GET', path);
}

/** POST a JSON body; the answer as JSON. */
export function post<T>(path: string, body: unknown): Promise<T> {
  return request<T>('POST', path, body);
}

/** A path with its query; empty values left out. */
export function withQuery(path: string, query: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}
