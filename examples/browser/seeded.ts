// Deterministic inputs shared by the browser page (main.ts) and its Node-side test
// (tests/browser.test.ts): same seed → bit-identical Float32Arrays in every runtime.

/** mulberry32: a tiny 32-bit PRNG; returns uniform floats in [-1, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 31 - 1;
  };
}

/** The streaming demo's shape and options (hla2, one batch row). */
export const DEMO = { seed: 20251027, tokens: 32, heads: 2, dk: 16, dv: 16, decay: 0.95 } as const;

export interface DemoInputs {
  /** Token rows: q[t], k[t] `[H·dk]`, v[t] `[H·dv]` (what `session.step` takes). */
  q: Float32Array[];
  k: Float32Array[];
  v: Float32Array[];
  /** The same tokens as `[1, T, H, d]` tensors (what `hla.hla2` takes). */
  tensors: {
    q: { data: Float32Array; shape: number[] };
    k: { data: Float32Array; shape: number[] };
    v: { data: Float32Array; shape: number[] };
  };
}

/** Seeded q, k, v for `tokens` tokens: q, k, v in [-1, 1), drawn token by token. */
export function demoInputs(cfg: { seed: number; tokens: number; heads: number; dk: number; dv: number } = DEMO): DemoInputs {
  const r = mulberry32(cfg.seed);
  const nq = cfg.heads * cfg.dk, nv = cfg.heads * cfg.dv;
  const row = (n: number) => Float32Array.from({ length: n }, r);
  const q: Float32Array[] = [], k: Float32Array[] = [], v: Float32Array[] = [];
  for (let t = 0; t < cfg.tokens; t++) {
    q.push(row(nq));
    k.push(row(nq));
    v.push(row(nv));
  }
  const stack = (rows: Float32Array[], h: number, d: number) => {
    const data = new Float32Array(rows.length * h * d);
    rows.forEach((x, t) => data.set(x, t * h * d));
    return { data, shape: [1, rows.length, h, d] };
  };
  return { q, k, v, tensors: { q: stack(q, cfg.heads, cfg.dk), k: stack(k, cfg.heads, cfg.dk), v: stack(v, cfg.heads, cfg.dv) } };
}
