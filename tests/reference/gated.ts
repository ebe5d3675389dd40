// gla and deltaRule, float64 token loops written from docs/math.md (section g): the ground truth
// of the gated family's tests; plus the straightforward Float32Array decoder a JS user would
// write (one token at a time, H = HV), the benchmark's baseline.
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

export type GatedOpName = 'gla' | 'deltaRule';

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

/** The baseline: one token at a time over `B·H` heads (H = HV), Float32Array states. */
export class GatedBaselineDecoder {
  readonly S: Float32Array[] = [];
  private sk: Float32Array; private sq: Float32Array;
  constructor(readonly op: GatedOpName, readonly B: number, readonly H: number, readonly dk: number, readonly dv: number, readonly scale = 1 / Math.sqrt(dk), readonly qkL2norm = false) {
    for (let i = 0; i < B * H; i++) this.S.push(new Float32Array(dk * dv));
    this.sk = new Float32Array(dv);
    this.sq = new Float32Array(dk);
  }

  /** One token: q, k, gk `[B·H·dk]`; v, out `[B·H·dv]`; beta, g `[B·H]` (deltaRule). */
  step(q: Float32Array, k: Float32Array, v: Float32Array, out: Float32Array, gk?: Float32Array, beta?: Float32Array, g?: Float32Array) {
    const { dk, dv, sq } = this;
    for (let bh = 0; bh < this.B * this.H; bh++) {
      const S = this.S[bh];
      const qo = bh * dk, vo = bh * dv;
      let nq = this.scale, nk = 1;
      if (this.qkL2norm) {
        let a = 0, b = 0;
        for (let i = 0; i < dk; i++) { a += q[qo + i] * q[qo + i]; b += k[qo + i] * k[qo + i]; }
        nq /= Math.sqrt(a + 1e-6); nk /= Math.sqrt(b + 1e-6);
      }
      for (let i = 0; i < dk; i++) sq[i] = nq * q[qo + i];
      if (this.op === 'gla') {
        for (let i = 0; i < dk; i++) {
          const a = Math.exp(gk![qo + i]), ki = k[qo + i];
          for (let c = 0; c < dv; c++) S[i * dv + c] = a * S[i * dv + c] + ki * v[vo + c];
        }
      } else {
        const a = g ? Math.exp(g[bh]) : 1, b = beta![bh];
        const sk = this.sk;
        sk.fill(0);
        for (let i = 0; i < dk; i++) {
          const ki = nk * k[qo + i];
          for (let c = 0; c < dv; c++) sk[c] += S[i * dv + c] * ki;
        }
        for (let c = 0; c < dv; c++) sk[c] = b * (v[vo + c] - a * sk[c]);
        for (let i = 0; i < dk; i++) {
          const ki = nk * k[qo + i];
          for (let c = 0; c < dv; c++) S[i * dv + c] = a * S[i * dv + c] + ki * sk[c];
        }
      }
      for (let c = 0; c < dv; c++) out[vo + c] = 0;
      for (let i = 0; i < dk; i++) {
        const qi = sq[i];
        for (let c = 0; c < dv; c++) out[vo + c] += qi * S[i * dv + c];
      }
    }
  }
}

/** The baseline over a whole `[B, T, H, ·]` input (H = HV): outputs `[B, T, H, dv]`. */
export function gatedBaselineForward(op: GatedOpName, q: Shape4 & { data: Float32Array }, k: { data: Float32Array }, v: { data: Float32Array; shape: number[] }, opts: { gk?: Float32Array; beta?: Float32Array; g?: Float32Array; scale?: number; qkL2norm?: boolean } = {}): Float32Array {
  const [B, T, H, dk] = q.shape;
  const dv = v.shape[3];
  const out = new Float32Array(B * T * H * dv);
  const dec = new GatedBaselineDecoder(op, 1, H, dk, dv, opts.scale, opts.qkL2norm);
  for (let b = 0; b < B; b++) {
    dec.S.forEach((s) => s.fill(0));
    for (let t = 0; t < T; t++) {
      const r = b * T + t;
      const qk = [r * H * dk, (r + 1) * H * dk], vv = [r * H * dv, (r + 1) * H * dv], sc = [r * H, (r + 1) * H];
      dec.step(q.data.subarray(qk[0], qk[1]), k.data.subarray(qk[0], qk[1]), v.data.subarray(vv[0], vv[1]), out.subarray(vv[0], vv[1]),
        opts.gk?.subarray(qk[0], qk[1]), opts.beta?.subarray(sc[0], sc[1]), opts.g?.subarray(sc[0], sc[1]));
    }
  }
  return out;
}
