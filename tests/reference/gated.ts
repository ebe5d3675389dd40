// gla and deltaRule, float64 token loops written from docs/spec.md / docs/math.md (section g): the
// ground truth of the gated family's tests (the benchmark's baseline is bench/gated-baseline.ts).
import type { Shape4 } from './bruteforce.js';

export interface GatedRefOptions {
  /** gla: `[B, T, H, dk]` log decays ≤ 0. */
  gk?: Shape4;
  /** deltaRule: `[B, T, HV]` rates. */
  beta?: Shape4;
  /** deltaRule: `[B, T, HV]` log decays ≤ 0 (absent: none). */
  g?: Shape4;
  qkL2norm?: boolean;
  scale?: number;
  /** `[N, HV, dk, dv]`; zeros when absent. */
  initialState?: ArrayLike<number>;
  cuSeqlens?: number[];
}

export type { GatedOpName } from '../../ts/types.js';
import type { GatedOpName } from '../../ts/types.js';

/** Outputs `[B, T, HV, dv]` and the final state `[N, HV, dk, dv]` in float64. */
export function gatedReference(op: GatedOpName, q: Shape4, k: Shape4, v: Shape4, opts: GatedRefOptions): { o: Float64Array; state: Float64Array } {
  const [B, T, H, dk] = q.shape;
  const [, , HV, dv] = v.shape;
  const grp = HV / H;
  const scale = opts.scale ?? 1 / Math.sqrt(dk);
  const seqs: [number, number][] = opts.cuSeqlens
    ? opts.cuSeqlens.slice(1).map((end, i) => [opts.cuSeqlens![i], end - opts.cuSeqlens![i]])
    : Array.from({ length: B }, (_, b) => [b * T, T]);
  const o = new Float64Array(B * T * HV * dv);
  const state = new Float64Array(seqs.length * HV * dk * dv);
  if (opts.initialState) for (let i = 0; i < state.length; i++) state[i] = opts.initialState[i];
  const norm = (x: number[]) => {
    if (!opts.qkL2norm) return x;
    const inv = 1 / Math.sqrt(x.reduce((s, y) => s + y * y, 0) + 1e-6);
    return x.map((y) => y * inv);
  };
  seqs.forEach(([row0, len], n) => {
    for (let hv = 0; hv < HV; hv++) {
      const h = Math.floor(hv / grp);
      const s0 = (n * HV + hv) * dk * dv;
      for (let t = row0; t < row0 + len; t++) {
        const qo = (t * H + h) * dk, vo = (t * HV + hv) * dv;
        const qt = norm(Array.from({ length: dk }, (_, i) => q.data[qo + i])).map((x) => x * scale);
        const kt = norm(Array.from({ length: dk }, (_, i) => k.data[qo + i]));
        if (op === 'gla') {
          for (let i = 0; i < dk; i++) {
            const a = Math.exp(opts.gk!.data[qo + i]);
            for (let c = 0; c < dv; c++) state[s0 + i * dv + c] = a * state[s0 + i * dv + c] + kt[i] * v.data[vo + c];
          }
        } else {
          const a = opts.g ? Math.exp(opts.g.data[t * HV + hv]) : 1;
          const b = opts.beta!.data[t * HV + hv];
          for (let c = 0; c < dv; c++) {
            let sk = 0;
            for (let i = 0; i < dk; i++) sk += a * state[s0 + i * dv + c] * kt[i];
            const delta = b * (v.data[vo + c] - sk);
            for (let i = 0; i < dk; i++) state[s0 + i * dv + c] = a * state[s0 + i * dv + c] + kt[i] * delta;
          }
        }
        for (let c = 0; c < dv; c++) {
          let acc = 0;
          for (let i = 0; i < dk; i++) acc += state[s0 + i * dv + c] * qt[i];
          o[vo + c] = acc;
        }
      }
    }
  });
  return { o, state };
}
