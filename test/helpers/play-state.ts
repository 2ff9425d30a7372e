import type { Workspace } from '../../src/index.js';
import { statePath } from '../../src/playbooks/playbook-settings.js';
import { PlaybookState } from '../../src/playbooks/playbook-state.js';

/** Runs `f` on a workspace's play state, closing it afterwards. */
export async function withState<T>(ws: Workspace, f: (s: PlaybookState) => Promise<T>): Promise<T> {
  const s = await PlaybookState.open(statePath(ws.dataDir, ws.scoring.playbookSettings));
  try {
    return await f(s);
  } finally {
    s.close();
  }
}
