// float64 brute force, written straight from the table in docs/spec.md: for every output
// position t, the weight of every value v_j is summed over the index chain of the definition.
// Quadratic in T (cubic for hla3); the ground truth every kernel is tested against.
import type { OpName } from '../../ts/types.js';

export interface RefOptions {
  scale?: number;
  decay?: number | number[];
  normalize?: boolean;
  eps?: number;
  ridge?: number;
  /** Sequence offsets (B must be 1); state resets at each. */
  cuSeqlens?: number[];
}

export interface Shape4 { data: ArrayLike<number>; shape: number[] }

export function bruteForce(op: OpName, q: Shape4, k: Shape4, v: Shape4, opts: RefOptions = {}): Float64Array {
  const [B, T, H, dk] = q.shape;
  const [, , HV, dv] = v.shape;
  const g = HV / H;
  const scale = opts.scale ?? 1 / Math.sqrt(dk);
  const eps = opts.eps ?? 1e-6;
  const ridge = opts.ridge ?? 0;
  const decayOf = (h: number) => (typeof opts.decay === 'number' ? opts.decay : opts.decay?.[opts.decay.length === 1 ? 0 : h] ?? 1);
  const out = new Float64Array(B * T * HV * dv);
  const seqs: [number, number][] = opts.cuSeqlens
    ? opts.cuSeqlens.slice(1).map((end, i) => [opts.cuSeqlens![i], end - opts.cuSeqlens![i]])
    : Array.from({ length: B }, (_, b) => [b * T, T]);
  for (const [row0, len] of seqs) {
    for (let h = 0; h < H; h++) {
      const gamma = decayOf(h);
      const pw = (n: number) => gamma ** n;
      const qv = (t: number, i: number) => scale * q.data[((row0 + t) * H + h) * dk + i];
      const kv = (t: number, i: number) => k.data[((row0 + t) * H + h) * dk + i];
      const W: number[][] = [];
      const QQ: number[][] = [];
      for (let t = 0; t < len; t++) {
        W.push([]);
        QQ.push([]);
        for (let j = 0; j < len; j++) {
          let s = 0, r = 0;
          for (let i = 0; i < dk; i++) {
            s += qv(t, i) * kv(j, i);
            r += qv(t, i) * qv(j, i);
          }
          W[t].push(s);
          QQ[t].push(r);
        }
      }
      // coef[t][j]: the weight of v_j in o_t.
      const coef = Array.from({ length: len }, () => new Float64Array(len));
      for (let t = 0; t < len; t++) {
        if (op === 'la1') {
          for (let j = 0; j <= t; j++) coef[t][j] = pw(t - j) * W[t][j];
        } else if (op === 'hla2') {
          for (let j = 0; j <= t; j++) {
            for (let i = 0; i <= j; i++) coef[t][j] += pw(t - i) * W[t][i] * W[j][i];
            coef[t][j] += ridge * pw(t - j) * QQ[t][j];
          }
        } else if (op === 'ahla') {
          for (let i = 0; i <= t; i++) for (let j = 0; j <= i; j++) coef[t][j] += pw(t - j) * W[t][i] * W[i][j];
        } else {
          for (let u = 0; u <= t; u++) {
            let b = 0;
            for (let i = 0; i <= u; i++) b += pw(u - i) * W[t][i] * W[u][i];
            for (let j = 0; j <= u; j++) coef[t][j] += pw(t - u) * b * pw(u - j) * W[u][j];
          }
        }
      }
      for (let jv = 0; jv < g; jv++) {
        const hv = h * g + jv;
        for (let t = 0; t < len; t++) {
          let den = 0;
          for (let j = 0; j < len; j++) den += coef[t][j];
          const floor = den >= 0 ? Math.max(den, eps) : Math.min(den, -eps);
          for (let e = 0; e < dv; e++) {
            let s = 0;
            for (let j = 0; j <= t; j++) s += coef[t][j] * v.data[((row0 + j) * HV + hv) * dv + e];
            out[((row0 + t) * HV + hv) * dv + e] = opts.normalize ? s / floor : s;
          }
        }
      }
    }
  }
  return out;
}
