import { BACKENDS, init, type Hla, type Tensor } from '../dist/index.mjs';
import { mulberry32 } from '../examples/browser/seeded.ts';

/** Deterministic uniform [-1, 1): the same generator as the browser example's. */
export const rng = mulberry32;

/** A random tensor; `positive` maps to [0, 1) (well-conditioned denominators for normalize). */
export function tensor(shape: number[], seed: number, positive = false): Tensor {
  const r = rng(seed);
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = positive ? 0.5 * (r() + 1) : r();
  return { data, shape };
}

export function qkv(B: number, T: number, H: number, HV: number, dk: number, dv: number, seed: number, positive = false) {
  return {
    q: tensor([B, T, H, dk], seed, positive),
    k: tensor([B, T, H, dk], seed + 1, positive),
    v: tensor([B, T, HV, dv], seed + 2),
  };
}

/** max|a − ref| / max(1, max|ref|), docs/spec.md's tolerance measure. */
export function relErr(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (a.length !== ref.length) throw new Error(`length ${a.length} vs ${ref.length}`);
  let scale = 1, err = 0;
  for (let i = 0; i < ref.length; i++) scale = Math.max(scale, Math.abs(ref[i]));
  for (let i = 0; i < ref.length; i++) {
    const e = Math.abs(a[i] - ref[i]);
    if (!(e <= err)) err = Number.isNaN(e) ? Infinity : e;
  }
  return err / scale;
}

export const TOL = 1e-4;

/**
 * Every backend this runtime can run (vitest passes --experimental-wasm-relaxed-simd on Node 20),
 * from `initFrom` (the shipped dist, or the testing bundle for tests that need its hooks).
 */
export async function allBackends(initFrom: typeof init = init): Promise<Hla[]> {
  const out: Hla[] = [];
  for (const backend of BACKENDS) {
    try {
      out.push(await initFrom({ backend }));
    } catch (e) {
      if (process.env.CI) throw e;
    }
  }
  return out;
}

/** Slice tokens [t0, t1) of a [B, T, H, D] tensor. */
export function sliceT(x: Tensor, t0: number, t1: number): Tensor {
  const [B, T, H, D] = x.shape;
  const w = H * D;
  const data = new Float32Array(B * (t1 - t0) * w);
  for (let b = 0; b < B; b++) data.set(x.data.subarray((b * T + t0) * w, (b * T + t1) * w), b * (t1 - t0) * w);
  return { data, shape: [B, t1 - t0, H, D] };
}

/** Concatenate along T. */
export function concatT(a: Tensor, b: Tensor): Tensor {
  const [B, Ta, H, D] = a.shape;
  const Tb = b.shape[1];
  const w = H * D;
  const data = new Float32Array(B * (Ta + Tb) * w);
  for (let i = 0; i < B; i++) {
    data.set(a.data.subarray(i * Ta * w, (i + 1) * Ta * w), i * (Ta + Tb) * w);
    data.set(b.data.subarray(i * Tb * w, (i + 1) * Tb * w), (i * (Ta + Tb) + Ta) * w);
  }
  return { data, shape: [B, Ta + Tb, H, D] };
}
