// The GEMM register tile per SIMD flavour (crates/hla-core/src/gemm.rs `mr`, build knob
// HLA_GEMM_MR): the chunk forms (where the GEMMs are) on one thread, one worker thread per
// build (a realm loads each flavour once), the builds raced in interleaved rounds so that a
// machine whose speed drifts between runs still gives fair ratios.
// Usage (bundled): node --experimental-wasm-relaxed-simd tiles.mjs <flavour>:<file.wasm> …
import { readFileSync } from 'node:fs';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { init, type Backend, type Hla, type Tensor } from '../dist/index.mjs';
import { median } from './harness.js';
import { rand } from './matrix.js';

const [B, T, H, d] = [1, 2048, 4, 64];
const OPS = ['la1', 'hla2', 'hla3', 'gla', 'deltaRule'] as const;
type Op = (typeof OPS)[number];

function calls(h: Hla): Record<Op, () => unknown> {
  const x: Tensor = { data: rand(B * T * H * d, 5), shape: [B, T, H, d] };
  const kx: Tensor = { data: x.data.map((v) => v / 8), shape: x.shape };
  // Gates: log decay per feature (gla), beta in (0, 1) per head (deltaRule).
  const gk: Tensor = { data: new Float32Array(B * T * H * d).fill(Math.log(0.999)), shape: [B, T, H, d] };
  const beta: Tensor = { data: new Float32Array(B * T * H).fill(0.5), shape: [B, T, H] };
  const chunk = { mode: 'chunk', chunkSize: 64 } as const;
  return {
    la1: () => h.la1(x, x, x, { decay: 0.999, ...chunk }),
    hla2: () => h.hla2(x, x, x, { decay: 0.999, ...chunk }),
    hla3: () => h.hla3(x, x, x, { decay: 0.999, ...chunk }),
    gla: () => h.gla(x, x, x, { gk, ...chunk }),
    deltaRule: () => h.deltaRule(kx, kx, x, { beta, ...chunk }),
  };
}

if (!isMainThread) {
  const { backend, file } = workerData as { backend: Backend; file: string };
  const f = calls(await init({ backend, wasm: readFileSync(file) }));
  parentPort!.on('message', ({ op, n }: { op: Op; n: number }) => {
    const t = performance.now();
    for (let i = 0; i < n; i++) f[op]();
    parentPort!.postMessage((performance.now() - t) / 1e3 / n);
  });
  parentPort!.postMessage('ready');
} else {
  const builds = process.argv.slice(2).map((a) => {
    const [backend, file] = a.split(':') as [Backend, string];
    return { backend, file, worker: new Worker(new URL(import.meta.url), { workerData: { backend, file } }) };
  });
  const ask = (w: Worker, m: unknown) => new Promise<unknown>((ok) => { w.once('message', ok); if (m) w.postMessage(m); });
  await Promise.all(builds.map((b) => ask(b.worker, null)));
  const ROUNDS = Number(process.env.HLA_TILE_ROUNDS ?? 7);
  for (const op of OPS) {
    const times = builds.map(() => [] as number[]);
    for (const b of builds) await ask(b.worker, { op, n: 2 }); // warm-up
    for (let r = 0; r < ROUNDS; r++) {
      for (const [i, b] of builds.entries()) times[i].push((await ask(b.worker, { op, n: 2 })) as number);
    }
    const tok = times.map((t) => Math.round((B * T) / median(t)));
    console.log(JSON.stringify({ op, ...Object.fromEntries(builds.map((b, i) => [`${b.backend}:${b.file.replace(/.*tiles\//, '').replace(/\/.*/, '')}`, tok[i]])) }));
  }
  for (const b of builds) await b.worker.terminate();
}
