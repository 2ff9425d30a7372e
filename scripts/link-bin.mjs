// Links the `nrr` command into node_modules/.bin so that `npx nrr` works in a fresh clone after
// `npm ci` (npm links the bins of dependencies, not the project's own).
import { chmodSync, existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';

const target = 'dist/cli/nrr.js';
if (existsSync(target)) {
  chmodSync(target, 0o755);
  mkdirSync('node_modules/.bin', { recursive: true });
  rmSync('node_modules/.bin/nrr', { force: true });
  symlinkSync('../../dist/cli/nrr.js', 'node_modules/.bin/nrr');
}
