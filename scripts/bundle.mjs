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

const common = {
  entryPoints: [`${root}ts/index.ts`],
  bundle: true,
  platform: 'neutral',
  target: 'es2022',
  external: ['node:*'],
  logLevel: 'warning',
};
await build({ ...common, format: 'esm', outfile: `${root}dist/index.mjs` });
await build({
  ...common,
  format: 'cjs',
  outfile: `${root}dist/index.cjs`,
  define: { 'import.meta.url': '__hla_import_meta_url' },
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
