// Bundles the facade into dist/ (ESM + CJS), copies the .wasm flavours next to it and emits
// .d.ts with tsc. The bundles locate their .wasm with `new URL(file, import.meta.url)`, a
// pattern bundlers understand; the CJS build gets import.meta.url from __filename.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { readFileSync, writeFileSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
rmSync(`${root}dist`, { recursive: true, force: true });
mkdirSync(`${root}dist`, { recursive: true });

// wasm-bindgen's glue falls back to `new URL('hla_X_bg.wasm', import.meta.url)` when given no
// source. We always pass one (ts/loader.ts), and bundlers would try to emit that file, which
// the package does not ship: drop the fallback.
const glueFallback = {
  name: 'glue-fallback',
  setup(b) {
    b.onLoad({ filter: /ts\/wasm\/\w+\/hla_\w+\.js$/ }, async (a) => {
      const src = readFileSync(a.path, 'utf8');
      const out = src.replace(/module_or_path = new URL\('hla_\w+_bg\.wasm', import\.meta\.url\);/, "throw new Error('hla-wasm: no wasm source');");
      if (out === src) throw new Error(`glue fallback not found in ${a.path} (wasm-bindgen changed?)`);
      return { contents: out, loader: 'js' };
    });
  },
};

const common = {
  entryPoints: [`${root}ts/index.ts`],
  bundle: true,
  platform: 'neutral',
  target: 'es2022',
  external: ['node:*'],
  logLevel: 'warning',
  plugins: [glueFallback],
};
const node = { __HLA_NODE__: 'true' };
await build({ ...common, format: 'esm', outfile: `${root}dist/index.mjs`, define: node });
// Browsers and bundlers targeting them: no node: imports at all.
await build({ ...common, format: 'esm', outfile: `${root}dist/index.browser.mjs`, define: { __HLA_NODE__: 'false' }, minifySyntax: true });
// Pool workers (ts/worker.ts): one per build flavour of the facade.
await build({ ...common, entryPoints: [`${root}ts/worker.ts`], format: 'esm', outfile: `${root}dist/worker.mjs`, define: node });
await build({ ...common, entryPoints: [`${root}ts/worker.ts`], format: 'esm', outfile: `${root}dist/worker.browser.mjs`, define: { __HLA_NODE__: 'false' }, minifySyntax: true });
await build({
  ...common,
  format: 'cjs',
  outfile: `${root}dist/index.cjs`,
  define: { 'import.meta.url': '__hla_import_meta_url', __HLA_NODE__: 'true' },
  banner: { js: "const __hla_import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
});

const sizes = [];
for (const flavour of readdirSync(`${root}ts/wasm`)) {
  const src = `${root}ts/wasm/${flavour}/hla_${flavour}_bg.wasm`;
  const dst = `${root}dist/hla_${flavour}.wasm`;
  copyFileSync(src, dst);
  const raw = statSync(dst).size;
  sizes.push(`${flavour}: ${(raw / 1024).toFixed(1)} KiB raw, ${(gzipSync(readFileSync(dst)).length / 1024).toFixed(1)} KiB gzip`);
}
console.error(`[build] wasm sizes: ${sizes.join('; ')}`);

execFileSync(`${root}node_modules/.bin/tsc`, ['-p', `${root}tsconfig.build.json`], { stdio: 'inherit' });
// Types for `import … from 'hla-wasm/dist/index.mjs'`-style paths (the tests use it).
writeFileSync(`${root}dist/index.d.mts`, "export * from './index.js';\n");
writeFileSync(`${root}dist/index.browser.d.mts`, "export * from './index.js';\n");
