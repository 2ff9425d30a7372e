import { readFileSync, readdirSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { gzipSync } from 'node:zlib';

/** A file as served: its bytes, gzipped once, and an ETag of its size and time (and of what a transform depends on). */
interface ServedFile {
  readonly stamp: string;
  readonly body: Uint8Array<ArrayBuffer>;
  readonly gzip: Uint8Array<ArrayBuffer>;
  readonly etag: string;
}

/** What a request for a file gets back: status, headers and body. */
export interface FileAnswer {
  readonly status: 200 | 304;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array<ArrayBuffer> | null;
}

/**
 * The dashboard's files (its page, scripts and styles, and the chart library), read and gzipped
 * once and kept in memory while they are unchanged on disk (size and time), so a page load costs
 * no file read and no compression. Each answer has an ETag: a browser that has the file gets a 304
 * without a body. The dashboard's page lists every script of the build as a module preload, so the
 * browser asks for them all at once rather than one import level after another.
 * @example const files = new StaticFiles(); const a = files.answer('/srv/web/app.css', 'text/css', req.headers)
 */
export class StaticFiles {
  private readonly files = new Map<string, ServedFile>();

  /** The answer for `file` (an error when it cannot be read), 304 when `ifNoneMatch` is its ETag. */
  answer(
    file: string,
    type: string,
    request: { ifNoneMatch?: string; acceptEncoding?: string },
    cacheControl = 'no-cache',
    /** Turns the file's text into what is served, and names what else that depends on (kept while both are unchanged). */
    transform?: { readonly stamp: string; readonly apply: (text: string) => string },
  ): FileAnswer {
    const f = this.read(file, transform);
    const headers: Record<string, string> = { 'content-type': type, etag: f.etag, 'cache-control': cacheControl, vary: 'Accept-Encoding' };
    if (request.ifNoneMatch === f.etag) return { status: 304, headers, body: null };
    if (/\bgzip\b/.test(request.acceptEncoding ?? '') && f.gzip.length < f.body.length) return { status: 200, headers: { ...headers, 'content-encoding': 'gzip' }, body: f.gzip };
    return { status: 200, headers, body: f.body };
  }

  private read(file: string, transform?: { readonly stamp: string; readonly apply: (text: string) => string }): ServedFile {
    const st = statSync(file);
    const stamp = `${st.size}-${Math.round(st.mtimeMs)}${transform ? `-${transform.stamp}` : ''}`;
    const hit = this.files.get(file);
    if (hit?.stamp === stamp) return hit;
    const raw = readFileSync(file);
    const body = new Uint8Array(transform ? Buffer.from(transform.apply(raw.toString('utf8'))) : raw);
    const served = { stamp, body, gzip: new Uint8Array(gzipSync(body)), etag: `"${stamp}-${body.length}"` };
    this.files.set(file, served);
    return served;
  }
}

/**
 * The page with its scripts under `/build-<version>/` (the version names the build: the size and
 * time of its files) and a `<link rel="modulepreload">` for every script of the build, before its
 * first module script. The scripts import each other by relative paths, so every one of them is
 * asked for under the same version: a browser may keep them for good (BUILD_CACHE), and a new
 * build is a new path.
 * @example withModulePreloads(html, '/srv/web/build') // …<link rel="modulepreload" href="/build-1a2b3c/router.js">…
 */
export function withModulePreloads(html: string, buildDir: string, version = buildVersion(buildDir)): string {
  const files = listScripts(buildDir);
  const prefix = `/build-${version}/`;
  const links = files.map((f) => `<link rel="modulepreload" href="${prefix}${relative(buildDir, f).split(sep).join('/')}" />`).join('\n    ');
  const versioned = html.replaceAll('"/build/', `"${prefix}`);
  const at = versioned.indexOf(`<script src="${prefix}`);
  return at < 0 ? versioned : `${versioned.slice(0, at)}${links}\n    ${versioned.slice(at)}`;
}

/** How long a browser keeps a versioned script of the build: a year, never asked for again. */
export const BUILD_CACHE = 'public, max-age=31536000, immutable';

/** A path under `/build-<version>/` as the file's path under the build (`build/…`); null for any other path. */
export function unversionedBuildPath(rel: string): string | null {
  const m = /^build-[0-9a-z]+\/(.*)$/.exec(rel);
  return m ? `build/${m[1]}` : null;
}

/** The version of the build's scripts: a hash of their paths, sizes and times. */
export function buildVersion(buildDir: string): string {
  let h = 0;
  for (const f of listScripts(buildDir)) {
    const st = statSync(f);
    for (const ch of `${f}:${st.size}:${Math.round(st.mtimeMs)};`) h = (Math.imul(h, 31) + ch.charCodeAt(0)) | 0;
  }
  return (h >>> 0).toString(36);
}

function listScripts(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.sort().flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return listScripts(path);
    return extname(name) === '.js' ? [path] : [];
  });
}
