import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import type { Workspace } from '../../src/workspace/workspace.js';
import { startServer, type RunningServer } from '../../src/serve/start-server.js';
import { removeDir } from './fixture-dir.js';

/** Debian's Chromium (or CHROMIUM_PATH): the dashboard's end-to-end tests drive it, never a downloaded browser. */
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

/**
 * Whether Chromium is here for the tests of `what`. Under CI=true its absence fails the file (.ci/run
 * installs it); elsewhere the tests are skipped, saying so loudly.
 */
export function haveChromium(what: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env['CI'] === 'true') throw new Error(`CI=true and no Chromium at ${CHROMIUM}: .ci/run installs it (apt-get install chromium)`);
  console.warn(`\n*** SKIPPING ${what}: no Chromium at ${CHROMIUM} (apt-get install chromium) ***\n`);
  return false;
}

/** A workspace served on a free loopback port, and Chromium to read it with. */
export interface Served {
  readonly server: RunningServer;
  readonly browser: Browser;
}

/** Serves `ws` on a free loopback port and starts a headless Chromium. */
export async function serveInChromium(ws: Workspace): Promise<Served> {
  const server = await startServer(ws, { port: 0, host: '127.0.0.1' });
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  return { server, browser };
}

/** Closes what a file's tests opened, whichever of it was opened before a failure. */
export async function closeServed(o: { browser?: Browser; server?: RunningServer; ws?: Workspace; dir?: string }): Promise<void> {
  await o.browser?.close();
  await o.server?.close();
  o.ws?.close();
  if (o.dir) removeDir(o.dir);
}
