// Builds web/dist: the page's bundle and style, its two HTML entry points
// (Cockpit's and termtape serve's) and the Cockpit manifest. No inline
// script or style, so both hosts' Content-Security-Policy holds.
import { build } from 'esbuild';
import { copyFile, mkdir, readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');

await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });
await build({
  entryPoints: { termtape: join(here, 'src/main.js') },
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['chrome110', 'firefox110', 'safari16'],
  outdir: dist,
  legalComments: 'eof',
  logLevel: 'warning',
});
await build({
  entryPoints: { termtape: join(here, 'src/termtape.css') },
  bundle: true,
  minify: true,
  outdir: dist,
  logLevel: 'warning',
});
for (const name of await readdir(join(here, 'static'))) {
  await copyFile(join(here, 'static', name), join(dist, name));
}
console.log(`web/dist: ${(await readdir(dist)).join(' ')}`);
