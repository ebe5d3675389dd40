// The GEMM register tile per SIMD flavour (crates/hla-core/src/gemm.rs `mr`): one thread, the
// chunk form (where the GEMMs are), a build of the flavour given as a .wasm file.
// Usage: node --experimental-wasm-relaxed-simd tiles.mjs <relaxed|simd128> [file.wasm] (one
// process per build: a realm loads each flavour once).
import { readFileSync } from 'node:fs';
import { init, type Backend, type OpName } from '../dist/index.mjs';
import { median } from './harness.js';
import { rand } from './matrix.js';

const [backend, file] = process.argv.slice(2) as [Backend, string | undefined];
const h = await init({ backend, ...(file ? { wasm: readFileSync(file) } : {}) });
const [B, T, H, d] = [1, 2048, 4, 64];
const x = { data: rand(B * T * H * d, 5), shape: [B, T, H, d] };
const out: Record<string, number> = {};
for (const op of ['la1', 'hla2', 'hla3'] as OpName[]) {
  const f = () => h[op](x, x, x, { decay: 0.999, mode: 'chunk', chunkSize: 64 });
  const w0 = performance.now();
  while (performance.now() - w0 < 500) f();
  const runs: number[] = [];
  const t0 = performance.now();
  while (runs.length < 5 || performance.now() - t0 < 600) {
    const t = performance.now();
    f();
    runs.push((performance.now() - t) / 1e3);
  }
  out[op] = Math.round((B * T) / median(runs));
}
console.log(JSON.stringify({ backend, build: file ?? 'default', tok_s: out }));
