// Runs the benchmark matrix (bench/matrix.ts) in headless Chromium: bundles bench/browser/page.ts
// with the package's browser build into target/bench-browser/ (with the three .wasm flavours and
// the pool's worker beside it), serves that cross-origin isolated (examples/browser/serve.mjs),
// drives Debian's Chromium through playwright-core and reads the result back from the page.
// Node only. Paths are relative to the repository root, the working directory of npm scripts.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Esbuild from 'esbuild';
import type * as Playwright from 'playwright-core';
import type { MatrixConfig, MatrixResult } from './matrix.js';

export const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-quic',
  // A benchmark tab must not be deprioritised.
  '--disable-renderer-backgrounding', '--disable-background-timer-throttling', '--disable-backgrounding-occluded-windows'];

/** bench/tfjs.ts's Node-only loader (`initTfjs`) imports these; the page never calls it… */
const nodeStubs: Esbuild.Plugin = {
  name: 'node-stubs',
  setup(b) {
    b.onResolve({ filter: /^node:(module|path)$/ }, (a) => ({ path: a.path, namespace: 'node-stub' }));
    // …and the package's Node build (for its self-check `main`): the browser build instead.
    b.onResolve({ filter: /\/dist\/index\.mjs$/ }, (a) => ({ path: resolve(a.resolveDir, a.path.replace(/index\.mjs$/, 'index.browser.mjs')) }));
    b.onLoad({ filter: /.*/, namespace: 'node-stub' }, () => ({
      contents: "const nodeOnly = () => { throw new Error('Node only'); };\nexport const createRequire = nodeOnly, dirname = nodeOnly;\n",
      loader: 'js',
    }));
  },
};

/** Bundles the page (with tfjs-core and tfjs-backend-wasm for the peer); returns its directory. */
export async function buildPage(root = process.cwd()): Promise<string> {
  // Loaded at run time, not bundled into scripts/run-ts.mjs's output (esbuild finds its binary
  // relative to its own package; playwright-core likewise).
  const esbuild = createRequire(join(root, 'package.json'))('esbuild') as typeof Esbuild;
  const out = join(root, 'target/bench-browser');
  mkdirSync(out, { recursive: true });
  await esbuild.build({
    entryPoints: [join(root, 'bench/browser/page.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outfile: join(out, 'page.js'),
    logLevel: 'warning',
    // tfjs-backend-wasm's Emscripten glue requires these only when it runs under Node.
    external: ['fs', 'path', 'os', 'crypto', 'worker_threads', 'perf_hooks'],
    plugins: [nodeStubs],
  });
  mkdirSync(join(out, 'tfjs'), { recursive: true });
  const tfjsDist = join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
  for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) copyFileSync(join(tfjsDist, f), join(out, 'tfjs', f));
  copyFileSync(join(root, 'bench/browser/index.html'), join(out, 'index.html'));
  for (const f of ['hla_relaxed.wasm', 'hla_simd128.wasm', 'hla_scalar.wasm', 'worker.browser.mjs']) copyFileSync(join(root, 'target/testing/dist', f), join(out, f));
  return out;
}

export async function runInChromium(config: MatrixConfig, { log = console.log, timeoutMs = 30 * 60_000, root = process.cwd() } = {}): Promise<{ result: MatrixResult; chromium: string }> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found (bash scripts/setup.sh --chromium installs it)`);
  const dir = await buildPage(root);
  // Plain JS without type declarations: imported by URL.
  const serve = pathToFileURL(resolve(root, 'examples/browser/serve.mjs')).href;
  const { start } = (await import(serve)) as { start: (o: { port: number; root: string }) => Promise<{ url: string; close: () => Promise<void> }> };
  const server = await start({ port: 0, root: dir });
  const { chromium } = createRequire(join(root, 'package.json'))('playwright-core') as typeof Playwright;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (m) => (m.type() === 'error' ? errors.push(m.text()) : log(m.text())));
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url, { waitUntil: 'load' });
    await page.waitForFunction(() => typeof window.__runMatrix === 'function', undefined, { timeout: 30_000 });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the page took over ${timeoutMs / 1000} s`)), timeoutMs);
    });
    try {
      const result = await Promise.race([page.evaluate((c) => window.__runMatrix!(c), config), timeout]);
      if (errors.length) result.notes.push(...errors.map((e) => `chromium page error: ${e}`));
      return { result, chromium: browser.version() };
    } catch (e) {
      throw new Error(`${(e as Error).message}${errors.length ? `\npage errors:\n${errors.join('\n')}` : ''}`);
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await browser.close();
    await server.close();
  }
}
