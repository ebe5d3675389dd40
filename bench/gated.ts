// `npm run bench`, the gated family's rows (B=1, H=8, dk=dv=64, T=2048, as bench/run.ts):
//   prefill tok/s per flavour — la1 (the reference point of issue #12's goals), gla and deltaRule
//   recurrent and chunk 64 — against the straightforward TS recurrence and the native build
//   (hla-core examples/gated_race, 4-lane Sse and the build's widest ISA), all in one run;
//   decode µs/token of a session's stepInPlace and of the functional API (T=1 with initialState)
//   against the TS decoder's step.
// Ratios are within one race (bench/harness.ts): contenders timed round-robin.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { init, type Backend, type Hla, type Tensor } from '../dist/index.mjs';
import { GatedBaselineDecoder, gatedBaselineForward } from './gated-baseline.js';
import { fmt, race, table } from './harness.js';
import { rand } from './matrix.js';

const B = 1, H = 8, D = 64, T = Number(process.env.HLA_BENCH_T ?? 2048);
const ROUNDS = Number(process.env.HLA_BENCH_RUNS ?? 7);
const tensor = (shape: number[], seed: number): Tensor => ({ data: rand(shape.reduce((a, b) => a * b), seed), shape });
const q = tensor([B, T, H, D], 1), k = tensor([B, T, H, D], 2), v = tensor([B, T, H, D], 3);
const gk = tensor([B, T, H, D], 4), beta = tensor([B, T, H], 5), g = tensor([B, T, H], 6);
for (let i = 0; i < gk.data.length; i++) gk.data[i] = -0.05 - Math.abs(gk.data[i]);
for (let i = 0; i < beta.data.length; i++) beta.data[i] = 0.5 + 0.5 * beta.data[i];
for (let i = 0; i < g.data.length; i++) g.data[i] = -0.02 - Math.abs(g.data[i]) * 0.1;
const glaOpts = { gk };
const drOpts = { beta, g, qkL2norm: true };

const backends: Hla[] = [];
for (const backend of ['relaxed', 'simd128', 'scalar'] as Backend[]) {
  try {
    backends.push(await init({ backend }));
  } catch {
    console.log(`(backend ${backend} not available in this runtime)`);
  }
}

const rows: Record<string, unknown>[] = [];
console.log(`\n## gla and deltaRule prefill (B=${B}, H=${H}, dk=dv=${D}, T=${T}), tokens/s; × = time per token vs la1 recurrent (same flavour)\n`);
const printed: (string | number)[][] = [];
for (const hla of backends) {
  const entries: Record<string, () => void> = {
    'la1 recurrent': () => hla.la1(q, k, v, { decay: 0.999, mode: 'recurrent' }),
    'gla recurrent': () => hla.gla(q, k, v, { ...glaOpts, mode: 'recurrent' }),
    'gla chunk 64': () => hla.gla(q, k, v, { ...glaOpts, mode: 'chunk', chunkSize: 64 }),
    'deltaRule recurrent': () => hla.deltaRule(q, k, v, { ...drOpts, mode: 'recurrent' }),
    'deltaRule chunk 64': () => hla.deltaRule(q, k, v, { ...drOpts, mode: 'chunk', chunkSize: 64 }),
  };
  if (hla === backends[0]) {
    entries['gla TS'] = () => gatedBaselineForward('gla', q, k, v, { gk: gk.data });
    entries['deltaRule TS'] = () => gatedBaselineForward('deltaRule', q, k, v, { beta: beta.data, g: g.data, qkL2norm: true });
  }
  const r = race(entries, { rounds: ROUNDS });
  const la1 = r['la1 recurrent'].median;
  for (const [name, t] of Object.entries(r)) {
    const tokS = T / t.median;
    const flavour = name.endsWith('TS') ? 'ts' : hla.backend;
    rows.push({ table: 'gated prefill', row: name, backend: flavour, tok_s: tokS, vs_la1: t.median / la1 });
    printed.push([name, flavour, fmt(tokS), `${fmt(t.median / la1, 2)}×`]);
  }
}
// The native build: same kernels, same shapes (scripts/bench.sh builds it).
const NATIVE = 'target/native/release/examples/gated_race';
if (existsSync(NATIVE)) {
  for (const isa of ['sse', 'native']) {
    const out = execFileSync(NATIVE, [], { encoding: 'utf8', env: { ...process.env, HLA_BENCH_T: String(T), HLA_BENCH_RUNS: String(ROUNDS), HLA_RACE_ISA: isa } });
    for (const line of out.trim().split('\n')) {
      const j = JSON.parse(line) as { isa: string; op: string; mode: string; tok_s: number; vs_la1: number };
      rows.push({ table: 'gated prefill', row: `${j.op} ${j.mode}`, backend: `native ${j.isa}`, tok_s: j.tok_s, vs_la1: j.vs_la1 });
      printed.push([`${j.op} ${j.mode}`, `native ${j.isa}`, fmt(j.tok_s), `${fmt(j.vs_la1, 2)}×`]);
    }
  }
}
console.log(table(['operator / form', 'flavour', 'tok/s', 'vs la1'], printed));

// Decode: one token at a time. A session's stepInPlace (inputs written into its views) and
// the functional API with initialState (state copied in and out per call) against the TS step.
console.log(`\n## gla and deltaRule decode (B=${B}, H=${H}, dk=dv=${D}), µs per token\n`);
const dec: (string | number)[][] = [];
const one = (x: Tensor, t: number, w: number): Tensor => ({ data: x.data.subarray(t * H * w, (t + 1) * H * w), shape: [1, 1, H, w] });
const oneS = (x: Tensor, t: number): Tensor => ({ data: x.data.subarray(t * H, (t + 1) * H), shape: [1, 1, H] });
const best = backends[0];
for (const op of ['gla', 'deltaRule'] as const) {
  let st = (op === 'gla' ? best.gla(one(q, 0, D), one(k, 0, D), one(v, 0, D), { gk: one(gk, 0, D), outputFinalState: true })
    : best.deltaRule(one(q, 0, D), one(k, 0, D), one(v, 0, D), { beta: oneS(beta, 0), g: oneS(g, 0), qkL2norm: true, outputFinalState: true })).finalState!;
  let t = 0;
  const base = new GatedBaselineDecoder(op, 1, H, D, D, 1 / Math.sqrt(D), op === 'deltaRule');
  const sess = best.session(op, { heads: H, dk: D, dv: D, ...(op === 'deltaRule' ? { qkL2norm: true } : {}) });
  const out = new Float32Array(H * D);
  const STEPS = 256;
  const r = race({
    stepInPlace: () => {
      const inp = sess.inputs;
      for (let s = 0; s < STEPS; s++, t = (t + 1) % T) {
        inp.q.set(one(q, t, D).data); inp.k.set(one(k, t, D).data); inp.v.set(one(v, t, D).data);
        if (op === 'gla') inp.gk.set(one(gk, t, D).data);
        else { inp.beta.set(oneS(beta, t).data); inp.g.set(oneS(g, t).data); }
        sess.stepInPlace();
      }
    },
    functional: () => {
      for (let s = 0; s < STEPS; s++, t = (t + 1) % T) {
        const o = { initialState: st, outputFinalState: true, mode: 'recurrent' as const };
        st = (op === 'gla' ? best.gla(one(q, t, D), one(k, t, D), one(v, t, D), { ...o, gk: one(gk, t, D) })
          : best.deltaRule(one(q, t, D), one(k, t, D), one(v, t, D), { ...o, beta: oneS(beta, t), g: oneS(g, t), qkL2norm: true })).finalState!;
      }
    },
    ts: () => {
      for (let s = 0; s < STEPS; s++, t = (t + 1) % T) {
        base.step(one(q, t, D).data, one(k, t, D).data, one(v, t, D).data, out, one(gk, t, D).data, oneS(beta, t).data, oneS(g, t).data);
      }
    },
  }, { rounds: ROUNDS });
  sess.free();
  const us = (x: number) => (1e6 * x) / STEPS;
  for (const path of ['stepInPlace', 'functional'] as const) {
    rows.push({ table: 'gated decode', row: `${op} ${path}`, backend: best.backend, us_per_token: us(r[path].median), ts_us_per_token: us(r.ts.median), speedup_vs_ts: r.ts.median / r[path].median });
    dec.push([op, `${path} (${best.backend})`, fmt(us(r[path].median), 1), fmt(us(r.ts.median), 1), `${fmt(r.ts.median / r[path].median, 1)}×`]);
  }
}
console.log(table(['operator', 'wasm path', 'µs/token', 'TS step µs/token', 'speed-up'], dec));
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/gated.json', JSON.stringify({ T, B, H, D, rows }, null, 2));
