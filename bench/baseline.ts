// The streaming baseline the benchmark races (bench/ owns it; tests/baseline.test.ts checks it).
// The straightforward Float32Array implementation a JS user would write from docs/spec.md's
// streaming recurrences: plain loops, one token at a time. It is the benchmark's baseline
// (tests check it against the brute force, so the comparison is with a correct program).
import type { OpName } from '../ts/types.js';

export interface BaselineOptions { scale?: number; decay?: number; normalize?: boolean; eps?: number; ridge?: number }

/** Per-(batch, head) state of every operator, allocated once. */
class HeadState {
  S: Float32Array; P: Float32Array; M: Float32Array; C: Float32Array;
  n: Float32Array; m: Float32Array;
  constructor(dk: number, dv: number) {
    this.S = new Float32Array(dk * dk);
    this.P = new Float32Array(dk * dv);
    this.M = new Float32Array(dk * dv);
    this.C = new Float32Array(dk * dv);
    this.n = new Float32Array(dk);
    this.m = new Float32Array(dk);
  }
}

/** A token-by-token decoder over B×HV heads (H = HV here: the baseline keeps no GQA). */
export class BaselineDecoder {
  readonly states: HeadState[] = [];
  private q: Float32Array; private sq: Float32Array; private r: Float32Array; private num: Float32Array;
  constructor(readonly op: OpName, readonly B: number, readonly H: number, readonly dk: number, readonly dv: number, readonly opts: BaselineOptions = {}) {
    for (let i = 0; i < B * H; i++) this.states.push(new HeadState(dk, dv));
    this.q = new Float32Array(dk);
    this.sq = new Float32Array(dk);
    this.r = new Float32Array(dv);
    this.num = new Float32Array(dv);
  }

  /** One token: q,k `[B*H*dk]`, v and out `[B*H*dv]` (offsets in elements). */
  step(qIn: Float32Array, kIn: Float32Array, vIn: Float32Array, out: Float32Array) {
    const { dk, dv, op } = this;
    const scale = this.opts.scale ?? 1 / Math.sqrt(dk);
    const gamma = this.opts.decay ?? 1;
    const ridge = this.opts.ridge ?? 0;
    const eps = this.opts.eps ?? 1e-6;
    const { q, sq, r, num } = this;
    for (let bh = 0; bh < this.B * this.H; bh++) {
      const st = this.states[bh];
      const qo = bh * dk, vo = bh * dv;
      for (let i = 0; i < dk; i++) q[i] = scale * qIn[qo + i];
      let den = 0;
      if (op === 'hla2' || op === 'hla3') {
        const S = st.S;
        for (let i = 0; i < dk; i++) {
          const ki = kIn[qo + i];
          let acc = 0;
          for (let j = 0; j < dk; j++) {
            S[i * dk + j] = gamma * S[i * dk + j] + ki * kIn[qo + j];
            acc += S[i * dk + j] * q[j];
          }
          sq[i] = acc;
        }
      }
      if (op === 'la1' || op === 'ahla' || op === 'hla3') {
        // P ← γP + k⊗v, r = qᵀP
        r.fill(0);
        for (let i = 0; i < dk; i++) {
          const ki = kIn[qo + i], qi = q[i];
          for (let e = 0; e < dv; e++) {
            const x = gamma * st.P[i * dv + e] + ki * vIn[vo + e];
            st.P[i * dv + e] = x;
            r[e] += qi * x;
          }
        }
      }
      // The last moment: X ← γX + a⊗b, o = qᵀX with (a, b) per operator.
      const a = op === 'la1' ? null : op === 'ahla' ? kIn.subarray(qo, qo + dk) : sq;
      const X = op === 'hla3' ? st.C : st.M;
      if (op === 'la1') {
        num.set(r);
      } else {
        num.fill(0);
        for (let i = 0; i < dk; i++) {
          const ai = a![i], qi = q[i];
          for (let e = 0; e < dv; e++) {
            const b = op === 'hla2' ? vIn[vo + e] : r[e];
            const x = gamma * X[i * dv + e] + ai * b;
            X[i * dv + e] = x;
            num[e] += qi * x;
          }
        }
      }
      if (op === 'hla2' && ridge !== 0) {
        for (let i = 0; i < dk; i++) {
          for (let e = 0; e < dv; e++) {
            const x = gamma * st.C[i * dv + e] + q[i] * vIn[vo + e];
            st.C[i * dv + e] = x;
            num[e] += ridge * q[i] * x;
          }
        }
      }
      if (this.opts.normalize) {
        den = this.denominator(st, qIn, kIn, qo, gamma, ridge);
        const f = den >= 0 ? Math.max(den, eps) : Math.min(den, -eps);
        for (let e = 0; e < dv; e++) out[vo + e] = num[e] / f;
      } else {
        for (let e = 0; e < dv; e++) out[vo + e] = num[e];
      }
    }
  }

  private denominator(st: HeadState, _qIn: Float32Array, kIn: Float32Array, qo: number, gamma: number, ridge: number): number {
    const { dk, q, sq, op } = this;
    let den = 0, qm = 0;
    if (op !== 'hla2') {
      for (let i = 0; i < dk; i++) {
        st.m[i] = gamma * st.m[i] + kIn[qo + i];
        qm += q[i] * st.m[i];
      }
    }
    for (let i = 0; i < dk; i++) {
      const add = op === 'la1' ? 0 : op === 'hla2' ? sq[i] : op === 'ahla' ? qm * kIn[qo + i] : qm * sq[i];
      if (op === 'la1') {
        den += q[i] * st.m[i];
      } else {
        st.n[i] = gamma * st.n[i] + add;
        den += q[i] * st.n[i];
      }
    }
    if (op === 'hla2' && ridge !== 0) {
      let qmr = 0;
      for (let i = 0; i < dk; i++) {
        st.m[i] = gamma * st.m[i] + q[i];
        qmr += q[i] * st.m[i];
      }
      den += ridge * qmr;
    }
    return den;
  }
}

/** Whole-sequence forward over `[B, T, H, d]` tensors with the baseline decoder. */
export function baselineForward(op: OpName, q: { data: Float32Array; shape: number[] }, k: { data: Float32Array }, v: { data: Float32Array; shape: number[] }, opts: BaselineOptions = {}): Float32Array {
  const [B, T, H, dk] = q.shape;
  const dv = v.shape[3];
  if (v.shape[2] !== H) throw new Error('baseline: HV must equal H');
  const out = new Float32Array(B * T * H * dv);
  const qt = new Float32Array(B * H * dk), kt = new Float32Array(B * H * dk), vt = new Float32Array(B * H * dv), ot = new Float32Array(B * H * dv);
  const dec = new BaselineDecoder(op, B, H, dk, dv, opts);
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      qt.set(q.data.subarray((b * T + t) * H * dk, (b * T + t + 1) * H * dk), b * H * dk);
      kt.set(k.data.subarray((b * T + t) * H * dk, (b * T + t + 1) * H * dk), b * H * dk);
      vt.set(v.data.subarray((b * T + t) * H * dv, (b * T + t + 1) * H * dv), b * H * dv);
    }
    dec.step(qt, kt, vt, ot);
    for (let b = 0; b < B; b++) out.set(ot.subarray(b * H * dv, (b + 1) * H * dv), (b * T + t) * H * dv);
  }
  return out;
}
