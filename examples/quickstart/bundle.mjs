// Bundle an app that imports 'hla-wasm' for the browser, with esbuild.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const out = process.argv[2] ?? 'public';
mkdirSync(out, { recursive: true });
await build({
  stdin: { contents: "import { init } from 'hla-wasm';\nconst hla = await init();\nconsole.log(hla.backend);\n", resolveDir: process.cwd() },
  bundle: true,
  format: 'esm',
  platform: 'browser', // picks the package's browser build: no node: imports
  outfile: join(out, 'app.js'),
});
// The package finds its .wasm with new URL('./hla_<flavour>.wasm', import.meta.url): ship them
// next to the bundle (Vite and webpack 5 emit them by themselves).
const dist = dirname(createRequire(import.meta.url).resolve('hla-wasm'));
for (const f of ['hla_relaxed.wasm', 'hla_simd128.wasm', 'hla_scalar.wasm']) copyFileSync(join(dist, f), join(out, f));
console.log(`bundled into ${out}/: app.js + 3 .wasm files`);
