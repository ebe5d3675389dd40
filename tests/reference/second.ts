// sse and rla, float64 token loops written from docs/math.md (sections h and i): the ground truth
// of tests/second.test.ts. The router ranks float32 probabilities (as the definition does); the
// weights enter the float64 sums.

export interface Arr4 { data: ArrayLike<number>; shape: number[] }

function seqs(B: number, T: number, cu?: number[]): [number, number][] {
  return cu ? cu.slice(1).map((end, i) => [cu[i], end - cu[i]]) : Array.from({ length: B }, (_, b) => [b * T, T]);
}

function norm(x: number[], on: boolean): number[] {
  if (!on) return x;
  const inv = 1 / Math.sqrt(x.reduce((s, y) => s + y * y, 0) + 1e-6);
  return x.map((y) => y * inv);
}

/** float32 softmax and the top-k by (−p, index). */
export function route(logits: ArrayLike<number>, topK: number): { p: number[]; sel: number[] } {
  const f = Math.fround;
  let m = -Infinity;
  for (let i = 0; i < logits.length; i++) m = Math.max(m, logits[i]);
  const e = Array.from(logits, (l) => f(Math.exp(f(l - m))));
  let s = 0;
  for (const x of e) s = f(s + x);
  const inv = f(1 / s);
  const p = e.map((x) => f(x * inv));
  const idx = p.map((_, i) => i).sort((a, b) => p[b] - p[a] || a - b);
  return { p, sel: idx.slice(0, topK) };
}

export interface SseRef {
  base: 'gla' | 'deltaRule';
  topK: number;
  weightQuery?: boolean;
  weightKey?: boolean;
  qkL2norm?: boolean;
  scale?: number;
  initialState?: ArrayLike<number>;
  cuSeqlens?: number[];
}

type Row = (x: Arr4 | undefined, i: number, n: number) => number[];
const row: Row = (x, i, n) => Array.from({ length: n }, (_, j) => x!.data[i * n + j]);

/** Outputs `[B, T, HV, dv]` and the final state `[nSeq, H, N + 1, HV/H, dk, dv]`. */
export function sseReference(x: Record<string, Arr4 | undefined>, o: SseRef): { o: Float64Array; state: Float64Array } {
  const [B, T, H, dk] = x.q1!.shape;
  const [, , HV, dv] = x.v!.shape;
  const N = x.router!.shape[2];
  const g = HV / H, mat = dk * dv;
  const scale = o.scale ?? 1 / Math.sqrt(dk);
  const l2 = o.qkL2norm ?? o.base === 'deltaRule';
  const ss = seqs(B, T, o.cuSeqlens);
  const out = new Float64Array(B * T * HV * dv);
  const glen = (N + 1) * g * mat;
  const state = new Float64Array(ss.length * H * glen);
  if (o.initialState) for (let i = 0; i < state.length; i++) state[i] = o.initialState[i];
  ss.forEach(([row0, len], si) => {
    for (let t = row0; t < row0 + len; t++) {
      const { p, sel } = route(row(x.router, t, N), o.topK);
      for (let h = 0; h < H; h++) {
        const parts: [number, number, number, 1 | 2][] = [[0, 1, 1, 1]];
        for (const i of sel) parts.push([i + 1, o.weightQuery === false ? 1 : p[i], o.weightKey === false ? 1 : p[i], 2]);
        for (const [part, wq, wk, side] of parts) {
          const q = norm(row(side === 1 ? x.q1 : x.q2, t * H + h, dk).map((a) => a * wq), l2).map((a) => a * scale);
          const k = norm(row(side === 1 ? x.k1 : x.k2, t * H + h, dk).map((a) => a * wk), l2);
          for (let j = 0; j < g; j++) {
            const vh = t * HV + h * g + j;
            const v = row(x.v, vh, dv);
            const s0 = (si * H + h) * glen + (part * g + j) * mat;
            if (o.base === 'gla') {
              const gk = row(side === 1 ? x.gk1 : x.gk2, t * H + h, dk);
              for (let a = 0; a < dk; a++) for (let b = 0; b < dv; b++) state[s0 + a * dv + b] = Math.exp(gk[a]) * state[s0 + a * dv + b] + k[a] * v[b];
            } else {
              const gt = side === 1 ? x.g1 : x.g2, bt = side === 1 ? x.beta1 : x.beta2;
              const alpha = gt ? Math.exp(gt.data[vh]) : 1, beta = bt!.data[vh];
              for (let i = 0; i < mat; i++) state[s0 + i] *= alpha;
              for (let b = 0; b < dv; b++) {
                let sk = 0;
                for (let a = 0; a < dk; a++) sk += state[s0 + a * dv + b] * k[a];
                const delta = beta * (v[b] - sk);
                for (let a = 0; a < dk; a++) state[s0 + a * dv + b] += k[a] * delta;
              }
            }
            for (let b = 0; b < dv; b++) {
              let acc = 0;
              for (let a = 0; a < dk; a++) acc += state[s0 + a * dv + b] * q[a];
              out[vh * dv + b] += acc;
            }
          }
        }
      }
    }
  });
  return { o: out, state };
}

export interface RlaRef {
  base: 'la' | 'deltaRule';
  g?: Arr4; beta?: Arr4; correction: Arr4;
  clip?: number;
  residual?: 'undecayed' | 'decayed';
  qkL2norm?: boolean;
  scale?: number;
  initialState?: ArrayLike<number>;
  cuSeqlens?: number[];
}

/** Outputs `[B, T, HV, dv]`, the final state `[nSeq, H, {S, R}, HV/H, dk, dv]` and how many residual elements were clipped. */
export function rlaReference(q: Arr4, k: Arr4, v: Arr4, o: RlaRef): { o: Float64Array; state: Float64Array; clipped: number } {
  const [B, T, H, dk] = q.shape;
  const [, , HV, dv] = v.shape;
  const g = HV / H, mat = dk * dv;
  const scale = o.scale ?? 1 / Math.sqrt(dk);
  const c = o.clip ?? 1;
  const ss = seqs(B, T, o.cuSeqlens);
  const out = new Float64Array(B * T * HV * dv);
  const glen = 2 * g * mat;
  const state = new Float64Array(ss.length * H * glen);
  if (o.initialState) for (let i = 0; i < state.length; i++) state[i] = o.initialState[i];
  let clipped = 0;
  const read = (s0: number, x: number[], b: number) => {
    let acc = 0;
    for (let a = 0; a < dk; a++) acc += state[s0 + a * dv + b] * x[a];
    return acc;
  };
  const step = (s0: number, kt: number[], val: number[], alpha: number, rate: number) => {
    for (let i = 0; i < mat; i++) state[s0 + i] *= alpha;
    const delta = val.map((x, b) => (o.base === 'la' ? rate * x : rate * (x - read(s0, kt, b))));
    for (let a = 0; a < dk; a++) for (let b = 0; b < dv; b++) state[s0 + a * dv + b] += kt[a] * delta[b];
  };
  ss.forEach(([row0, len], si) => {
    for (let t = row0; t < row0 + len; t++) {
      for (let h = 0; h < H; h++) {
        const qt = norm(row(q, t * H + h, dk), !!o.qkL2norm).map((a) => a * scale);
        const kt = norm(row(k, t * H + h, dk), !!o.qkL2norm);
        for (let j = 0; j < g; j++) {
          const vh = t * HV + h * g + j;
          const vt = row(v, vh, dv);
          const alpha = o.g ? Math.exp(o.g.data[vh]) : 1;
          const beta = o.beta ? o.beta.data[vh] : 1;
          const corr = o.correction.data[vh];
          const sS = (si * H + h) * glen + j * mat, sR = (si * H + h) * glen + (g + j) * mat;
          const pk = o.residual === 'decayed' ? alpha : 1;
          const r = vt.map((x, b) => {
            const e = x - pk * read(sS, kt, b);
            if (Math.abs(e) > c) clipped++;
            return Math.min(c, Math.max(-c, e));
          });
          const readQ = vt.map((_, b) => alpha * read(sS, qt, b));
          step(sS, kt, vt, alpha, beta);
          step(sR, kt, r, alpha, corr);
          for (let b = 0; b < dv; b++) out[vh * dv + b] = readQ[b] + corr * read(sR, qt, b);
        }
      }
    }
  });
  return { o: out, state, clipped };
}
