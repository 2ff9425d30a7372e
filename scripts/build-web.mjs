// Builds the dashboard: web/src (TypeScript, type-checked by `tsc -p web/tsconfig.json`) into one
// module, web/build/main.js. One file instead of one per module: a browser asks a server for six
// files at a time, so thirty modules took four rounds before the first page could ask for its data.
// The chart library stays apart (/vendor/echarts.min.js, loaded when the first chart is drawn).
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

rmSync('web/build', { recursive: true, force: true });
await build({
  entryPoints: ['web/src/main.ts'],
  outfile: 'web/build/main.js',
  bundle: true,
  format: 'esm',
  target: 'es2022',
  platform: 'browser',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});
