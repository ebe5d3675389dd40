// `npm run bench`, sse and rla rows (B=1, H=8, dk=dv=64, T=2048, as bench/gated.ts):
//   sse prefill tok/s vs N = 2, 4, 8, 16 at topK = 1, 2, and its time over (1 + topK)× the base
//   (the claim "cost nearly independent of N"); rla's time over 2× its base (gla stands in for
//   la: the same recurrence with per-feature gates), recurrent and chunk (two base passes); the
//   straightforward TS recurrences as the baseline, and the native build (hla-core examples/second_race), all in one run; decode µs per
//   token of the functional API (T=1 with initialState) against the TS step.
// Ratios are within one race (bench/harness.ts): contenders timed round-robin.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { init, type Hla, type Tensor } from '../dist/index.mjs';
import { GatedBaselineDecoder } from './gated-baseline.js';
import { fmt, race, table } from './harness.js';
import { rand } from './matrix.js';

const B = 1, H = 8, D = 64, T = Number(process.env.HLA_BENCH_T ?? 2048);
const ROUNDS = Number(process.env.HLA_BENCH_RUNS ?? 5);
const tensor = (shape: number[], seed: number): Tensor => ({ data: rand(shape.reduce((a, b) => a * b), seed), shape });
const qk = [B, T, H, D];
const q1 = tensor(qk, 1), k1 = tensor(qk, 2), q2 = tensor(qk, 7), k2 = tensor(qk, 8), v = tensor([B, T, H, D], 3);
const gk = tensor(qk, 4), beta = tensor([B, T, H], 5), g = tensor([B, T, H], 6);
for (let i = 0; i < gk.data.length; i++) gk.data[i] = -0.05 - Math.abs(gk.data[i]);
for (let i = 0; i < beta.data.length; i++) beta.data[i] = 0.5 + 0.5 * beta.data[i];
for (let i = 0; i < g.data.length; i++) g.data[i] = -0.02 - Math.abs(g.data[i]) * 0.1;
const routers = new Map([2, 4, 8, 16].map((N) => [N, tensor([B, T, N], 9 + N)]));
const glaIn = (N: number) => ({ q1, k1, q2, k2, v, router: routers.get(N)!, gk1: gk, gk2: gk });
const drIn = (N: number) => ({ q1, k1, q2, k2, v, router: routers.get(N)!, g1: g, g2: g, beta1: beta, beta2: beta });

/** The straightforward TS sse: N + 1 gated decoders, routing per token in JS. */
function sseBaseline(base: 'gla' | 'deltaRule', N: number, topK: number): Float32Array {
  const decs = Array.from({ length: N + 1 }, () => new GatedBaselineDecoder(base, 1, H, D, D, 1 / Math.sqrt(D), base === 'deltaRule'));
  const out = new Float32Array(T * H * D), part = new Float32Array(H * D), qw = new Float32Array(H * D), kw = new Float32Array(H * D);
  const r = routers.get(N)!.data;
  for (let t = 0; t < T; t++) {
    const o = out.subarray(t * H * D, (t + 1) * H * D), row = (x: Tensor) => x.data.subarray(t * H * D, (t + 1) * H * D);
    const sc = (x: Tensor) => x.data.subarray(t * H, (t + 1) * H);
    decs[0].step(row(q1), row(k1), row(v), o, row(gk), sc(beta), sc(g));
    let m = -Infinity;
    for (let i = 0; i < N; i++) m = Math.max(m, r[t * N + i]);
    const p = Array.from({ length: N }, (_, i) => Math.exp(r[t * N + i] - m));
    const s = p.reduce((a, b) => a + b, 0);
    const sel = p.map((_, i) => i).sort((a, b) => p[b] - p[a] || a - b).slice(0, topK);
    for (const i of sel) {
      const w = p[i] / s;
      for (let j = 0; j < H * D; j++) { qw[j] = w * row(q2)[j]; kw[j] = w * row(k2)[j]; }
      decs[i + 1].step(qw, kw, row(v), part, row(gk), sc(beta), sc(g));
      for (let j = 0; j < H * D; j++) o[j] += part[j];
    }
  }
  return out;
}

/** The straightforward TS rla over la (H = HV): S and R per head, one token at a time. */
function rlaBaseline(): Float32Array {
  const S = new Float32Array(H * D * D), R = new Float32Array(H * D * D), out = new Float32Array(T * H * D);
  const sk = new Float32Array(D), r = new Float32Array(D), scale = 1 / Math.sqrt(D);
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < H; h++) {
      const o = (t * H + h) * D, m = h * D * D, a = Math.exp(g.data[t * H + h]), b = beta.data[t * H + h], c = beta.data[t * H + h];
      sk.fill(0);
      const oq = out.subarray(o, o + D);
      for (let i = 0; i < D; i++) {
        const ki = k1.data[o + i], qi = scale * q1.data[o + i];
        for (let e = 0; e < D; e++) { sk[e] += S[m + i * D + e] * ki; oq[e] += a * qi * S[m + i * D + e]; }
      }
      for (let e = 0; e < D; e++) r[e] = Math.min(1, Math.max(-1, v.data[o + e] - sk[e]));
      for (let i = 0; i < D; i++) {
        const ki = k1.data[o + i], qi = scale * q1.data[o + i];
        for (let e = 0; e < D; e++) {
          S[m + i * D + e] = a * S[m + i * D + e] + b * ki * v.data[o + e];
          R[m + i * D + e] = a * R[m + i * D + e] + c * ki * r[e];
        }
        for (let e = 0; e < D; e++) oq[e] += c * qi * R[m + i * D + e];
      }
    }
  }
  return out;
}

const hla: Hla = await init({ backend: 'relaxed' }).catch(() => init());
const rows: Record<string, unknown>[] = [];
console.log(`\n## sse and rla prefill (B=${B}, H=${H}, dk=dv=${D}, T=${T}, ${hla.backend}, recurrent unless named chunk: chunk 64), tokens/s; × model = time over (1 + topK)× the base (sse) or 2× the base (rla)\n`);
const entries: Record<string, () => void> = {
  'gla': () => hla.gla(q1, k1, v, { gk }),
  'deltaRule': () => hla.deltaRule(q1, k1, v, { beta, g, qkL2norm: true }),
  'rla la': () => hla.rla(q1, k1, v, { base: 'la', g, beta, correction: beta }),
  'rla deltaRule': () => hla.rla(q1, k1, v, { base: 'deltaRule', g, beta, correction: beta, qkL2norm: true }),
  // The chunk forms (chunk 64): rla's is two passes of its base's (docs/math.md §i).
  'gla chunk': () => hla.gla(q1, k1, v, { gk, mode: 'chunk', chunkSize: 64 }),
  'deltaRule chunk': () => hla.deltaRule(q1, k1, v, { beta, g, qkL2norm: true, mode: 'chunk', chunkSize: 64 }),
  'rla la chunk': () => hla.rla(q1, k1, v, { base: 'la', g, beta, correction: beta, mode: 'chunk', chunkSize: 64 }),
  'rla deltaRule chunk': () => hla.rla(q1, k1, v, { base: 'deltaRule', g, beta, correction: beta, qkL2norm: true, mode: 'chunk', chunkSize: 64 }),
  'sse gla TS (N 4, topK 1)': () => sseBaseline('gla', 4, 1),
  'rla la TS': () => rlaBaseline(),
};
for (const topK of [1, 2]) {
  for (const N of [2, 4, 8, 16]) {
    entries[`sse gla N ${N} topK ${topK}`] = () => hla.sse(glaIn(N), { base: 'gla', topK });
    entries[`sse deltaRule N ${N} topK ${topK}`] = () => hla.sse(drIn(N), { base: 'deltaRule', topK });
  }
}
const res = race(entries, { rounds: ROUNDS });
const printed: (string | number)[][] = [];
for (const [name, t] of Object.entries(res)) {
  const m = /^sse (\w+)(?: TS)? (?:\()?N (\d+),? topK (\d+)/.exec(name);
  const rl = /^rla (\w+)( chunk)?/.exec(name);
  const [baseName, mult] = m ? [m[1], 1 + Number(m[3])] : rl ? [(rl[1] === 'la' ? 'gla' : 'deltaRule') + (rl[2] ?? ''), 2] : [name, 1];
  const model = t.median / (mult * res[baseName].median);
  const tokS = T / t.median;
  rows.push({ table: 'second prefill', row: name, backend: name.includes('TS') ? 'ts' : hla.backend, tok_s: tokS, vs_model: model });
  printed.push([name, name.includes('TS') ? 'ts' : hla.backend, fmt(tokS), `${fmt(model, 2)}×`]);
}
const NATIVE = 'target/native/release/examples/second_race';
if (existsSync(NATIVE)) {
  const out = execFileSync(NATIVE, [], { encoding: 'utf8', env: { ...process.env, HLA_BENCH_T: String(T), HLA_BENCH_RUNS: String(ROUNDS), HLA_RACE_ISA: 'native' } });
  for (const line of out.trim().split('\n')) {
    const j = JSON.parse(line) as { isa: string; op: string; mode: string; tok_s?: number; us_step?: number; vs_model: number };
    if (j.mode === 'decode') continue;
    const row = j.mode === 'chunk64' ? `${j.op} chunk` : j.op;
    rows.push({ table: 'second prefill', row, backend: `native ${j.isa}`, tok_s: j.tok_s, vs_model: j.vs_model });
    printed.push([row, `native ${j.isa}`, fmt(j.tok_s!), `${fmt(j.vs_model, 2)}×`]);
  }
}
console.log(table(['operator', 'flavour', 'tok/s', '× model'], printed));

// Decode: a session's stepInPlace (inputs written into its views) and the functional API with
// initialState (copies the state in and out per call); gla's functional call for scale.
console.log(`\n## sse and rla decode (B=${B}, H=${H}, dk=dv=${D}, ${hla.backend}), µs per token\n`);
const one = (x: Tensor, t: number): Tensor => {
  const w = x.data.length / T;
  return { data: x.data.subarray(t * w, (t + 1) * w), shape: [1, 1, ...x.shape.slice(2)] };
};
const STEPS = 128;
const cut = (o: Record<string, Tensor>, t: number) => Object.fromEntries(Object.entries(o).map(([n, x]) => [n, one(x, t)]));
let sseSt = hla.sse(cut(glaIn(4), 0) as never, { base: 'gla', topK: 1, outputFinalState: true }).finalState!;
let rlaSt = hla.rla(one(q1, 0), one(k1, 0), one(v, 0), { base: 'la', g: one(g, 0), beta: one(beta, 0), correction: one(beta, 0), outputFinalState: true }).finalState!;
let t = 1;
const dec = race({
  'sse gla N 4 topK 1': () => {
    for (let s = 0; s < STEPS; s++, t = 1 + (t % (T - 1))) sseSt = hla.sse(cut(glaIn(4), t) as never, { base: 'gla', topK: 1, initialState: sseSt, outputFinalState: true }).finalState!;
  },
  'rla la': () => {
    for (let s = 0; s < STEPS; s++, t = 1 + (t % (T - 1))) rlaSt = hla.rla(one(q1, t), one(k1, t), one(v, t), { base: 'la', g: one(g, t), beta: one(beta, t), correction: one(beta, t), initialState: rlaSt, outputFinalState: true }).finalState!;
  },
  'sse gla N 4 topK 1 session': (() => {
    const ss = hla.session('sse', { heads: H, dk: D, dv: D, base: 'gla', partitions: 4, topK: 1 });
    return () => {
      for (let s = 0; s < STEPS; s++, t = 1 + (t % (T - 1))) {
        for (const [n, x] of Object.entries(glaIn(4))) ss.inputs[n].set(one(x, t).data);
        ss.stepInPlace();
      }
    };
  })(),
  'rla la session': (() => {
    const rs = hla.session('rla', { heads: H, dk: D, dv: D, base: 'la' });
    const x: Record<string, Tensor> = { q: q1, k: k1, v, g, beta, correction: beta };
    return () => {
      for (let s = 0; s < STEPS; s++, t = 1 + (t % (T - 1))) {
        for (const [n, y] of Object.entries(x)) rs.inputs[n].set(one(y, t).data);
        rs.stepInPlace();
      }
    };
  })(),
  'gla': () => {
    let st = hla.gla(one(q1, 0), one(k1, 0), one(v, 0), { gk: one(gk, 0), outputFinalState: true }).finalState!;
    for (let s = 0; s < STEPS; s++, t = 1 + (t % (T - 1))) st = hla.gla(one(q1, t), one(k1, t), one(v, t), { gk: one(gk, t), initialState: st, outputFinalState: true }).finalState!;
  },
}, { rounds: ROUNDS });
const decRows: (string | number)[][] = [];
for (const [name, r] of Object.entries(dec)) {
  const us = (1e6 * r.median) / STEPS;
  rows.push({ table: 'second decode', row: name, backend: hla.backend, us_per_token: us });
  decRows.push([name, `${name.endsWith('session') ? 'stepInPlace' : 'functional'} (${hla.backend})`, fmt(us, 1)]);
}
console.log(table(['operator', 'wasm path', 'µs/token'], decRows));
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/second.json', JSON.stringify({ T, B, H, D, rows }, null, 2));
