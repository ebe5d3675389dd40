// A peer implementation for the benchmark: chunked second-order HLA (hla2) written with
// TensorFlow.js ops on the tfjs WebAssembly backend (XNNPACK), loaded offline from node_modules.
// It lets the benchmark report "hla-wasm vs tfjs-wasm" tokens/s in one run.
//
// Math (per head, q scaled by `scale`, decay γ, no normalisation):
//   o_t = Σ_{j≤t} Σ_{i≤j} γ^{t−i} (q_t·k_i)(q_j·k_i) v_j
// Chunk form (c tokens, local t = 0..c−1, carry-in S0 (dk×dk, symmetric) and M0 (dk×dv)):
//   A = Q Kᵀ; A_L = A ⊙ L; A_D = A ⊙ D with D[t,i] = γ^{t−i} (i ≤ t)
//   Mix = (A_D A_Lᵀ) ⊙ L + (Q S0 Qᵀ) ⊙ G,   G[t,j] = γ^{t+1} (j ≤ t)
//   o   = Mix V + diag(γ^{t+1}) Q M0
//   M0 ← ρ (M0 + S0 Qᵀ V) + Kdᵀ (A_Lᵀ V),   S0 ← ρ S0 + Kdᵀ K,   ρ = γ^c, Kd = diag(γ^{c−1−i}) K
// S0 is symmetric, so S0 Qᵀ V = (Q S0)ᵀ V reuses Q S0 from the output term.
//
// tfjs-backend-wasm 4.22 hands a matMul to XNNPACK only when it has batch 1 and neither
// transposeA nor transposeB; every other matMul (e.g. [H, c, d] batched, or with a transpose)
// runs a scalar blocked loop. So the default layout 'per-head' issues plain 2-D matMuls per head
// with explicit transposes (4–8× faster here); 'batched' is the textbook [H, c, d] version.
//
// In Node, tfjs is loaded with require() at run time (not bundled), so its Emscripten glue
// sees a real CommonJS __dirname and reads the .wasm files from node_modules (`initTfjs`). In
// the benchmark's browser page both packages are bundled and their .wasm served (`useTfjs`).
//
// Run `node --experimental-wasm-relaxed-simd scripts/run-ts.mjs bench/tfjs.ts` to check it
// against hla-wasm and print a tokens/s comparison.

import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type * as TfCore from '@tensorflow/tfjs-core';
import type * as TfWasm from '@tensorflow/tfjs-backend-wasm';
import { rand } from './matrix.js';

type Tf = typeof TfCore;
type T3 = TfCore.Tensor3D;
type T2 = TfCore.Tensor2D;

let tf: Tf | null = null;
let info: { backend: string; threads: number; binary: string } | null = null;

/**
 * Loads tfjs-core and the wasm backend from node_modules, points the backend at the .wasm files
 * there (file paths, no network), asks for one XNNPACK thread and activates it.
 * `binary` says which of the three .wasm files the backend picks (same rule as the backend).
 */
export async function initTfjs(): Promise<{ backend: string; threads: number; binary: string }> {
  if (info) return info;
  const req = createRequire(import.meta.url);
  const core = req('@tensorflow/tfjs-core') as Tf;
  const wasm = req('@tensorflow/tfjs-backend-wasm') as typeof TfWasm;
  const dir = dirname(req.resolve('@tensorflow/tfjs-backend-wasm/package.json')) + '/dist/';
  return useTfjs(core, wasm, dir);
}

/**
 * Activates tfjs-core's wasm backend with its .wasm files under `dir` (a path or URL ending in
 * '/'), one thread. The browser page (bench/browser/page.ts) bundles both packages and serves
 * their .wasm files next to it; there the multithreaded binary is switched off, so the backend
 * never starts its own workers (the page is cross-origin isolated and would otherwise pick it).
 */
export async function useTfjs(core: Tf, wasm: typeof TfWasm, dir: string): Promise<{ backend: string; threads: number; binary: string }> {
  if (info) return info;
  if (typeof process === 'undefined') core.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  wasm.setWasmPaths(dir);
  wasm.setThreadsCount(1);
  if (!(await core.setBackend('wasm'))) throw new Error('tfjs: the wasm backend failed to initialise');
  await core.ready();
  const simd = Boolean(await core.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  const mt = Boolean(await core.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'));
  const file = simd && mt ? 'tfjs-backend-wasm-threaded-simd.wasm' : simd ? 'tfjs-backend-wasm-simd.wasm' : 'tfjs-backend-wasm.wasm';
  tf = core;
  info = { backend: core.getBackend(), threads: wasm.getThreadsCount(), binary: dir + file };
  return info;
}

interface Masks {
  L: T2; // [c,c] 1 for j ≤ t
  D: T2; // [c,c] γ^{t−i} for i ≤ t
  G: T2; // [c,c] γ^{t+1} for j ≤ t
  g1: T2; // [c,1] γ^{t+1}
  kdec: T2; // [c,1] γ^{c−1−i}
  rho: TfCore.Scalar; // γ^c
}

function makeMasks(t: Tf, c: number, gamma: number): Masks {
  const L = new Float32Array(c * c);
  const D = new Float32Array(c * c);
  const G = new Float32Array(c * c);
  const g1 = new Float32Array(c);
  const kdec = new Float32Array(c);
  for (let r = 0; r < c; r++) {
    g1[r] = gamma ** (r + 1);
    kdec[r] = gamma ** (c - 1 - r);
    for (let j = 0; j <= r; j++) {
      L[r * c + j] = 1;
      D[r * c + j] = gamma ** (r - j);
      G[r * c + j] = gamma ** (r + 1);
    }
  }
  return {
    L: t.tensor2d(L, [c, c]),
    D: t.tensor2d(D, [c, c]),
    G: t.tensor2d(G, [c, c]),
    g1: t.tensor2d(g1, [c, 1]),
    kdec: t.tensor2d(kdec, [c, 1]),
    rho: t.scalar(gamma ** c),
  };
}

function disposeMasks(m: Masks): void {
  for (const x of [m.L, m.D, m.G, m.g1, m.kdec, m.rho]) x.dispose();
}

export interface TfjsHla2Options {
  decay: number;
  /** Chunk length (default 64). */
  chunkSize?: number;
  /** Multiplies q first (default dk^-0.5, as hla-wasm does). */
  scale?: number;
  /**
   * 'per-head' (default): 2-D matMuls per head with transposes materialised, which is the only
   * shape tfjs-wasm sends to XNNPACK (batch 1, no transposeA/B). 'batched': one [H, c, d] matMul
   * with transposeA/B per product; tfjs-wasm runs those with its scalar fallback loop.
   */
  layout?: 'per-head' | 'batched';
}

/**
 * hla2 over one sequence with tfjs ops, chunks in sequence.
 * q, k: [1, T, H, dk]; v: [1, T, H, dv] (row-major). Returns o: [1, T, H, dv].
 */
export function tfjsHla2(
  q: Float32Array, k: Float32Array, v: Float32Array,
  T: number, H: number, dk: number, dv: number,
  opts: TfjsHla2Options,
): Float32Array {
  const t = tf;
  if (!t) throw new Error('call initTfjs() first');
  if (T === 0) return new Float32Array(0);
  const C = Math.max(1, Math.min(opts.chunkSize ?? 64, T));
  const scale = opts.scale ?? 1 / Math.sqrt(dk);
  const full = makeMasks(t, C, opts.decay);
  const tailLen = T % C;
  const tail = tailLen ? makeMasks(t, tailLen, opts.decay) : null;
  try {
    const run = opts.layout === 'batched' ? batched : perHead;
    return run(t, q, k, v, T, H, dk, dv, C, scale, full, tail);
  } finally {
    disposeMasks(full);
    if (tail) disposeMasks(tail);
  }
}

type Impl = (
  t: Tf, q: Float32Array, k: Float32Array, v: Float32Array,
  T: number, H: number, dk: number, dv: number, C: number, scale: number, full: Masks, tail: Masks | null,
) => Float32Array;

/** Heads batched: [H, c, d] tensors, matMul with transposeA/B. */
const batched: Impl = (t, q, k, v, T, H, dk, dv, C, scale, full, tail) => {
  const [Qh, Kh, Vh] = t.tidy(() => [
    t.mul(t.transpose(t.tensor3d(q, [T, H, dk]), [1, 0, 2]), scale) as T3,
    t.transpose(t.tensor3d(k, [T, H, dk]), [1, 0, 2]) as T3,
    t.transpose(t.tensor3d(v, [T, H, dv]), [1, 0, 2]) as T3,
  ]);
  let S0: T3 | null = null; // null = zero state (first chunk)
  let M0: T3 | null = null;
  const outs: T3[] = [];
  try {
    for (let s = 0; s < T; s += C) {
      const c = Math.min(C, T - s);
      const m = c === C ? full : tail!;
      const last = s + c >= T;
      const s0 = S0, m0 = M0;
      const r = t.tidy(() => {
        const Q = t.slice(Qh, [0, s, 0], [H, c, dk]);
        const K = t.slice(Kh, [0, s, 0], [H, c, dk]);
        const V = t.slice(Vh, [0, s, 0], [H, c, dv]);
        const A = t.matMul(Q, K, false, true);
        const AL = t.mul(A, m.L);
        const AD = t.mul(A, m.D);
        let mix = t.mul(t.matMul(AD, AL, false, true), m.L) as T3;
        let QS: T3 | null = null;
        if (s0) {
          QS = t.matMul(Q, s0) as T3;
          mix = t.add(mix, t.mul(t.matMul(QS, Q, false, true), m.G)) as T3;
        }
        let o = t.matMul(mix, V) as T3;
        if (m0) o = t.add(o, t.mul(t.matMul(Q, m0), m.g1)) as T3;
        if (last) return { o };
        const Kd = t.mul(K, m.kdec);
        let M1 = t.matMul(Kd, t.matMul(AL, V, true, false), true, false) as T3;
        let S1 = t.matMul(Kd, K, true, false) as T3;
        if (m0 && QS) M1 = t.add(M1, t.mul(t.add(m0, t.matMul(QS, V, true, false)), m.rho)) as T3;
        if (s0) S1 = t.add(S1, t.mul(s0, m.rho)) as T3;
        return { o, S1, M1 };
      });
      outs.push(r.o);
      s0?.dispose();
      m0?.dispose();
      S0 = r.S1 ?? null;
      M0 = r.M1 ?? null;
    }
    const o = t.tidy(() => t.transpose(outs.length === 1 ? outs[0] : t.concat(outs, 1), [1, 0, 2]));
    const data = o.dataSync() as Float32Array;
    o.dispose();
    return data;
  } finally {
    for (const x of [...outs, S0, M0, Qh, Kh, Vh]) x?.dispose();
  }
};

/**
 * Rows [s, s+c) of head h of a [T, H, d] array, times `mul`: as c×d (row-major) or, with
 * `transposed`, as d×c. (Layout copies in JS; tfjs's own slice/split/unstack cost more.)
 */
function gather(x: Float32Array, H: number, d: number, h: number, s: number, c: number, transposed: boolean, mul = 1): Float32Array {
  const out = new Float32Array(c * d);
  for (let r = 0; r < c; r++) {
    const base = ((s + r) * H + h) * d;
    if (transposed) for (let j = 0; j < d; j++) out[j * c + r] = x[base + j] * mul;
    else for (let j = 0; j < d; j++) out[r * d + j] = x[base + j] * mul;
  }
  return out;
}

/** One head at a time with plain 2-D matMuls (the XNNPACK path); transposes are explicit. */
const perHead: Impl = (t, q, k, v, T, H, dk, dv, C, scale, full, tail) => {
  const out = new Float32Array(T * H * dv);
  const kdecRow = { full: t.reshape(full.kdec, [1, C]) as T2, tail: tail ? (t.reshape(tail.kdec, [1, tail.kdec.shape[0]]) as T2) : null };
  const S0: (T2 | null)[] = new Array(H).fill(null); // null = zero state (first chunk)
  const M0: (T2 | null)[] = new Array(H).fill(null);
  try {
    for (let s = 0; s < T; s += C) {
      const c = Math.min(C, T - s);
      const m = c === C ? full : tail!;
      const kr = c === C ? kdecRow.full : kdecRow.tail!;
      const last = s + c >= T;
      for (let h = 0; h < H; h++) {
        const s0 = S0[h], m0 = M0[h];
        const r = t.tidy(() => {
          const Q = t.tensor2d(gather(q, H, dk, h, s, c, false, scale), [c, dk]);
          const QT = t.tensor2d(gather(q, H, dk, h, s, c, true, scale), [dk, c]);
          const K = t.tensor2d(gather(k, H, dk, h, s, c, false), [c, dk]);
          const KT = t.tensor2d(gather(k, H, dk, h, s, c, true), [dk, c]);
          const V = t.tensor2d(gather(v, H, dv, h, s, c, false), [c, dv]);
          const A = t.matMul(Q, KT);
          const ALT = t.transpose(t.mul(A, m.L) as T2);
          let mix = t.matMul(t.mul(A, m.D) as T2, ALT);
          let QS: T2 | null = null;
          if (s0) {
            QS = t.matMul(Q, s0) as T2;
            mix = t.add(mix, t.mul(t.matMul(QS, QT), m.g1)) as T2;
          }
          let o = t.matMul(t.mul(mix, m.L) as T2, V);
          if (m0) o = t.add(o, t.mul(t.matMul(Q, m0), m.g1)) as T2;
          if (last) return { o };
          const KdT = t.mul(KT, kr) as T2;
          let M1: T2 = t.matMul(KdT, t.matMul(ALT, V));
          let S1: T2 = t.matMul(KdT, K);
          if (m0 && QS) M1 = t.add(M1, t.mul(t.add(m0, t.matMul(t.transpose(QS), V)), m.rho)) as T2;
          if (s0) S1 = t.add(S1, t.mul(s0, m.rho)) as T2;
          return { o, S1, M1 };
        });
        const o = r.o.dataSync();
        r.o.dispose();
        for (let i = 0; i < c; i++) out.set(o.subarray(i * dv, (i + 1) * dv), ((s + i) * H + h) * dv);
        s0?.dispose();
        m0?.dispose();
        S0[h] = r.S1 ?? null;
        M0[h] = r.M1 ?? null;
      }
    }
    return out;
  } finally {
    for (const x of [...S0, ...M0, kdecRow.full, kdecRow.tail]) x?.dispose();
  }
};

/** GFLOP/s of an n×n by n×n tf.matMul (median of `runs` after ~1 s warm-up). */
export function tfjsMatMulGflops(n = 512, runs = 9): number {
  const t = tf;
  if (!t) throw new Error('call initTfjs() first');
  const a = t.randomNormal([n, n]) as T2;
  const b = t.randomNormal([n, n]) as T2;
  const once = () => {
    const c = t.matMul(a, b);
    c.dataSync();
    c.dispose();
  };
  const w0 = performance.now();
  while (performance.now() - w0 < 1000) once();
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    once();
    ts.push((performance.now() - t0) / 1e3);
  }
  a.dispose();
  b.dispose();
  ts.sort((x, y) => x - y);
  return (2 * n * n * n) / ts[Math.floor(ts.length / 2)] / 1e9;
}

// ---- Driver: `node --experimental-wasm-relaxed-simd scripts/run-ts.mjs bench/tfjs.ts` ----


async function main(): Promise<void> {
  const ti = await initTfjs();
  console.log(`tfjs ${tf!.version_core}: backend=${ti.backend} threads=${ti.threads} binary=${ti.binary}`);
  const { init } = await import('../dist/index.mjs');
  const hla = await init();
  const ten = (data: Float32Array, T: number, H: number, d: number) => ({ data, shape: [1, T, H, d] });

  // Correctness against hla-wasm.
  let ok = true;
  for (const [T, H, d, C, gamma] of [[100, 2, 16, 32, 0.99], [100, 2, 16, 32, 1], [77, 3, 8, 16, 0.9], [64, 2, 16, 64, 0.95]] as const) {
    const q = rand(T * H * d, 1), k = rand(T * H * d, 2), v = rand(T * H * d, 3);
    const ref = hla.hla2(ten(q, T, H, d), ten(k, T, H, d), ten(v, T, H, d), { decay: gamma }).o.data;
    for (const layout of ['per-head', 'batched'] as const) {
      const got = tfjsHla2(q, k, v, T, H, d, d, { decay: gamma, chunkSize: C, layout });
      let err = got.length === ref.length ? 0 : Infinity, mx = 0;
      for (let i = 0; i < ref.length; i++) {
        err = Math.max(err, Math.abs(ref[i] - got[i]));
        mx = Math.max(mx, Math.abs(ref[i]));
      }
      const tol = 1e-4 * Math.max(1, mx);
      ok &&= err <= tol;
      console.log(`check ${layout.padEnd(8)} T=${T} H=${H} d=${d} chunk=${C} γ=${gamma}: max|err|=${err.toExponential(2)} max|ref|=${mx.toFixed(3)} tol=${tol.toExponential(2)} ${err <= tol ? 'ok' : 'FAIL'}`);
    }
  }
  if (!ok) process.exitCode = 1;

  // Throughput: B=1, H=8, dk=dv=64, T=2048, γ=0.999.
  const T = 2048, H = 8, d = 64, gamma = 0.999;
  const q = rand(T * H * d, 11), k = rand(T * H * d, 12), v = rand(T * H * d, 13);
  const Q = ten(q, T, H, d), K = ten(k, T, H, d), V = ten(v, T, H, d);
  const entries: Record<string, () => void> = {
    ...Object.fromEntries(([32, 64, 128] as const).flatMap((C) => (['per-head', 'batched'] as const).map((layout) => [
      `tfjs-wasm ${layout} chunk ${C}`, () => void tfjsHla2(q, k, v, T, H, d, d, { decay: gamma, chunkSize: C, layout }),
    ]))),
    'hla-wasm recurrent': () => void hla.hla2(Q, K, V, { decay: gamma, mode: 'recurrent' }),
    'hla-wasm chunk 32': () => void hla.hla2(Q, K, V, { decay: gamma, mode: 'chunk', chunkSize: 32 }),
  };
  const names = Object.keys(entries);
  for (const n of names) {
    const w0 = performance.now();
    do entries[n](); while (performance.now() - w0 < 2000);
  }
  const runs: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < 5; r++) {
    for (let i = 0; i < names.length; i++) {
      const n = names[(i + r) % names.length];
      const t0 = performance.now();
      entries[n]();
      runs[n].push((performance.now() - t0) / 1e3);
    }
  }
  const tok: Record<string, number> = {};
  console.log(`\nhla2 B=1 T=${T} H=${H} dk=dv=${d} γ=${gamma}, median of 5 (interleaved), one thread each`);
  console.log('| contender | ms | tokens/s |\n|:--|--:|--:|');
  for (const n of names) {
    const med = [...runs[n]].sort((a, b) => a - b)[2];
    tok[n] = T / med;
    console.log(`| ${n} | ${(med * 1e3).toFixed(1)} | ${Math.round(tok[n]).toLocaleString('en-US')} |`);
  }
  const best = (p: string) => Math.max(...names.filter((n) => n.startsWith(p)).map((n) => tok[n]));
  console.log(`\nhla-wasm best / tfjs-wasm best = ${(best('hla-wasm') / best('tfjs-wasm')).toFixed(2)}×`);
  console.log(`tfjs-wasm 512×512 matMul: ${tfjsMatMulGflops(512).toFixed(1)} GFLOP/s`);
  console.log(`tfjs tensors alive at end: ${tf!.memory().numTensors}`);
}

if (typeof process !== 'undefined' && process.argv[1]?.endsWith('tfjs.mjs')) await main();
