// Bundles the facade into dist/, one file per runtime entry (Node ESM + CJS, browser, Deno,
// workerd, pool workers), copies the .wasm flavours next to them and emits .d.ts with tsc.
// Node, browser and Deno bundles locate their .wasm with `new URL(file, import.meta.url)`, a
// pattern bundlers understand (the CJS build gets import.meta.url from __filename); the
// workerd bundle imports them as modules.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { readFileSync, writeFileSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
// HLA_BUNDLE=testing (scripts/build.sh): the test and bench bundle, from the `testing` flavours in
// target/testing/wasm/ into target/testing/dist/, with the facade's test knob compiled in.
const testing = process.env.HLA_BUNDLE === 'testing';
const wasmDir = testing ? `${root}target/testing/wasm` : `${root}ts/wasm`;
const dist = testing ? `${root}target/testing/dist` : `${root}dist`;
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

// wasm-bindgen's glue falls back to `new URL('hla_X_bg.wasm', import.meta.url)` when given no
// source. We always pass one (ts/loader.ts), and bundlers would try to emit that file, which
// the package does not ship: drop the fallback.
const glueFallback = {
  name: 'glue-fallback',
  setup(b) {
    b.onLoad({ filter: /\/wasm\/\w+\/hla_\w+\.js$/ }, async (a) => {
      const src = readFileSync(a.path, 'utf8');
      const out = src.replace(/module_or_path = new URL\('hla_\w+_bg\.wasm', import\.meta\.url\);/, "throw new Error('hla-wasm: no wasm source');");
      if (out === src) throw new Error(`glue fallback not found in ${a.path} (wasm-bindgen changed?)`);
      return { contents: out, loader: 'js' };
    });
  },
};

// The testing bundle takes the glue of the testing flavours instead of ts/wasm's.
const testingGlue = {
  name: 'testing-glue',
  setup(b) {
    if (!testing) return;
    b.onResolve({ filter: /^\.\/wasm\/\w+\/hla_\w+\.js$/ }, (a) => ({ path: `${wasmDir}/${a.path.slice('./wasm/'.length)}` }));
  },
};

// The .wasm imports of the workerd entry stay imports next to the bundle, for wrangler (or
// workerd's config) to load as compiled modules.
const wasmImports = {
  name: 'wasm-imports',
  setup(b) {
    b.onResolve({ filter: /^\.\/hla_\w+\.wasm$/ }, (a) => ({ path: a.path, external: true }));
  },
};

// One bundle per runtime entry (ts/entrypoints/: each hands its way of finding the .wasm to
// the loader and re-exports the facade); package.json `exports` picks one by condition.
const common = {
  bundle: true,
  platform: 'neutral',
  target: 'es2022',
  external: ['node:*'],
  logLevel: 'warning',
  plugins: [testingGlue, glueFallback, wasmImports],
};
const knob = { __HLA_TESTING__: String(testing) };
const entry = (name) => `${root}ts/entrypoints/${name}.ts`;
const node = { __HLA_NODE__: 'true', ...knob };
// Everything but Node: no node: imports at all (the define drops the Node branches).
const web = { define: { __HLA_NODE__: 'false', ...knob }, minifySyntax: true };
const esm = (name, out, extra) => build({ ...common, entryPoints: [entry(name)], format: 'esm', outfile: `${dist}/${out}`, ...extra });
await Promise.all([
  esm('node', 'index.mjs', { define: node }), // Node and Bun
  esm('browser', 'index.browser.mjs', web),
  esm('deno', 'index.deno.mjs', web),
  esm('workerd', 'index.workerd.mjs', web),
  // Pool workers (ts/worker.ts), one per way of loading.
  esm('worker.node', 'worker.mjs', { define: node }),
  esm('worker.browser', 'worker.browser.mjs', web),
  build({
    ...common,
    entryPoints: [entry('node')],
    format: 'cjs',
    outfile: `${dist}/index.cjs`,
    define: { 'import.meta.url': '__hla_import_meta_url', __HLA_NODE__: 'true', ...knob },
    banner: { js: "const __hla_import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
  }),
]);

const sizes = [];
for (const flavour of readdirSync(wasmDir)) {
  const src = `${wasmDir}/${flavour}/hla_${flavour}_bg.wasm`;
  const dst = `${dist}/hla_${flavour}.wasm`;
  copyFileSync(src, dst);
  const raw = statSync(dst).size;
  sizes.push(`${flavour}: ${(raw / 1024).toFixed(1)} KiB raw, ${(gzipSync(readFileSync(dst)).length / 1024).toFixed(1)} KiB gzip`);
}
console.error(`[build] wasm sizes: ${sizes.join('; ')}`);

if (testing) {
  // The same API as dist/ (its declarations), for the tests and bench that import this bundle.
  for (const f of ['index', 'index.browser']) writeFileSync(`${dist}/${f}.d.mts`, "export * from '../../../dist/index.js';\n");
} else {
  execFileSync(`${root}node_modules/.bin/tsc`, ['-p', `${root}tsconfig.build.json`], { stdio: 'inherit' });
  // Types for `import … from 'hla-wasm/dist/index.mjs'`-style paths (the tests use it).
  writeFileSync(`${dist}/index.d.mts`, "export * from './index.js';\n");
  writeFileSync(`${dist}/index.browser.d.mts`, "export * from './index.js';\n");
}
