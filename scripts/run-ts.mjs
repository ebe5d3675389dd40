// Runs a TypeScript entry point (bench, examples) by bundling it with esbuild first.
// Usage: node [node flags] scripts/run-ts.mjs file.ts [args…]
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node scripts/run-ts.mjs file.ts [args…]');
  process.exit(2);
}
const root = new URL('..', import.meta.url).pathname;
mkdirSync(`${root}target/run-ts`, { recursive: true });
const outfile = `${root}target/run-ts/${basename(entry, '.ts')}.mjs`;
await build({
  entryPoints: [resolve(entry)],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile,
  external: ['node:*', 'hla-wasm', 'esbuild', 'playwright-core', 'puppeteer-core'],
  // The package itself stays external (loaded from dist/ at run time, so its .wasm files resolve).
  plugins: [{
    name: 'dist-external',
    setup(b) {
      b.onResolve({ filter: /\/dist\/index\.mjs$/ }, (a) => ({ path: resolve(a.resolveDir, a.path), external: true }));
    },
  }],
  logLevel: 'warning',
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
});
process.argv = [process.argv[0], outfile, ...args];
await import(pathToFileURL(outfile).href);
