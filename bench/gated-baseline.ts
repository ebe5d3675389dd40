// The gated family's streaming baseline the benchmark races (bench/ owns it;
// tests/gated-reference.test.ts checks it against the float64 reference): the straightforward
// Float32Array decoder a JS user would write, one token at a time, H = HV.
import type { GatedOpName } from '../ts/types.js';

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
export function gatedBaselineForward(op: GatedOpName, q: { data: Float32Array; shape: number[] }, k: { data: Float32Array }, v: { data: Float32Array; shape: number[] }, opts: { gk?: Float32Array; beta?: Float32Array; g?: Float32Array; scale?: number; qkL2norm?: boolean } = {}): Float32Array {
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
