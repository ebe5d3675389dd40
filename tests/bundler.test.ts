// Bundlers: `import 'hla-wasm'` for the browser resolves to the browser build (no node:
// imports), and each .wasm is referenced by a literal `new URL(…, import.meta.url)` that
// bundlers (Vite, webpack 5, Parcel) turn into an emitted asset.
import { build } from 'esbuild';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;

it('esbuild bundles the package for the browser', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hla-bundle-'));
  try {
    writeFileSync(join(dir, 'app.js'), "import { init } from 'hla-wasm';\ninit().then((h) => console.log(h.backend));\n");
    const out = await build({
      entryPoints: [join(dir, 'app.js')],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      nodePaths: [join(root, '..')],
      alias: { 'hla-wasm': root.replace(/\/$/, '') },
      logLevel: 'silent',
    });
    const js = out.outputFiles[0].text;
    expect(js).not.toMatch(/node:/);
    for (const f of ['hla_relaxed.wasm', 'hla_simd128.wasm', 'hla_scalar.wasm']) expect(js).toContain(`new URL("./${f}", import.meta.url)`);
    expect(js).not.toMatch(/_bg\.wasm/);
    expect(out.warnings).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
