// Bundles the browser example: main.ts → examples/browser/dist/main.js (ESM, browser), and
// copies the package's three wasm flavours next to the bundle. The package locates them with
// `new URL('./hla_X.wasm', import.meta.url)`, which esbuild leaves untouched, so in the
// served page they resolve to /dist/hla_X.wasm, right beside /dist/main.js.
//   node examples/browser/build.mjs
import { build as esbuild } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
export const WASM = ['hla_relaxed.wasm', 'hla_simd128.wasm', 'hla_scalar.wasm'];
const needed = ['index.mjs', 'index.browser.mjs', 'worker.browser.mjs', ...WASM].map((f) => join(root, 'dist', f));

/** Waits (up to `timeoutMs`) for the package build in dist/, which may be being rebuilt. */
export async function waitForPackage(timeoutMs = 120_000) {
  const t0 = Date.now();
  let told = false;
  while (needed.some((f) => !existsSync(f))) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`hla-wasm is not built: missing ${needed.filter((f) => !existsSync(f)).join(', ')} (run npm run build)`);
    if (!told) console.log('[browser example] waiting for dist/ (package build in progress?)…');
    told = true;
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/** Builds the page into examples/browser/dist/; returns that directory. */
export async function build({ quiet = false } = {}) {
  await waitForPackage();
  const out = join(here, 'dist');
  mkdirSync(out, { recursive: true });
  await esbuild({
    entryPoints: [join(here, 'main.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outfile: join(out, 'main.js'),
    sourcemap: true,
    logLevel: quiet ? 'warning' : 'info',
  });
  for (const f of WASM) copyFileSync(join(root, 'dist', f), join(out, f));
  // The package's browser build as is, for quickstart.html (no bundler).
  copyFileSync(join(root, 'dist', 'index.browser.mjs'), join(out, 'index.browser.mjs'));
  // The pool's module Worker, found next to the bundle with new URL('./worker.browser.mjs', import.meta.url).
  copyFileSync(join(root, 'dist', 'worker.browser.mjs'), join(out, 'worker.browser.mjs'));
  if (!quiet) console.log(`[browser example] built ${out} (main.js + ${WASM.join(', ')})`);
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await build();
}
