// `npm run bench`: the headline tables. Every ratio is taken within this one run.
//   1. hla2 prefill (B=1, H=8, dk=dv=64, T=2048): wasm per backend vs the straightforward TS.
//   2. Decode: 1 000 steps, wasm vs the TS baseline's step.
//   3. Per operator: prefill recurrent vs chunk, and state bytes per head.
import { mkdirSync, writeFileSync } from 'node:fs';
import { init, type Backend, type Hla, type OpName, type Tensor } from '../dist/index.mjs';
import { BaselineDecoder, baselineForward } from '../tests/reference/streaming.js';
import { fmt, machineInfo, table, time } from './harness.js';

const B = 1, H = 8, D = 64, T = Number(process.env.HLA_BENCH_T ?? 2048);
const RUNS = Number(process.env.HLA_BENCH_RUNS ?? 7);

function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * 0.5;
  }
  return out;
}
const tensor = (shape: number[], seed: number): Tensor => ({ data: rand(shape.reduce((a, b) => a * b), seed), shape });
const q = tensor([B, T, H, D], 1), k = tensor([B, T, H, D], 2), v = tensor([B, T, H, D], 3);
const opts = { decay: 0.999 };

const backends: Hla[] = [];
for (const backend of ['relaxed', 'simd128', 'scalar'] as Backend[]) {
  try {
    backends.push(await init({ backend }));
  } catch {
    console.log(`(backend ${backend} not available in this runtime${backend === 'relaxed' ? '; Node 20 needs --experimental-wasm-relaxed-simd' : ''})`);
  }
}
const best = backends[0];
const results: Record<string, unknown> = { machine: machineInfo(), config: { B, H, dk: D, dv: D, T, runs: RUNS } };

// 1. hla2 prefill
const tsPrefill = time(() => baselineForward('hla2', q, k, v, opts), { runs: RUNS, warmup: 1, warmupSeconds: 2 });
const tsTokS = (B * T) / tsPrefill.median;
const rows1: (string | number)[][] = [['straightforward TS (Float32Array loops)', fmt(tsTokS), '1.0×']];
const prefill: Record<string, number> = { ts: tsTokS };
for (const hla of backends) {
  for (const mode of ['recurrent', 'chunk'] as const) {
    const t = time(() => hla.hla2(q, k, v, { ...opts, mode }), { runs: RUNS });
    const tokS = (B * T) / t.median;
    prefill[`${hla.backend}/${mode}`] = tokS;
    rows1.push([`wasm ${hla.backend}, ${mode}`, fmt(tokS), `${fmt(tokS / tsTokS, 1)}×`]);
  }
}
results.prefill = prefill;
console.log(`\n### hla2 prefill: B=${B}, H=${H}, dk=dv=${D}, T=${T} (tokens/s, median of ${RUNS} after warm-up)\n`);
console.log(table(['implementation', 'tok/s', 'vs TS'], rows1));

// 2. decode: 1 000 steps per run, sessions (step with copies, stepInPlace with views), the
//    functional API with T=1 (state copied in and out each call), and the TS baseline's step.
const STEPS = 1000;
const q1 = rand(B * H * D, 4), k1 = rand(B * H * D, 5), v1 = rand(B * H * D, 6);
const decode: Record<string, number> = {};
const rows2: (string | number)[][] = [];
for (const op of ['hla2', 'hla3'] as OpName[]) {
  const dec = new BaselineDecoder(op, B, H, D, D, opts);
  const out = new Float32Array(B * H * D);
  const ts = (time(() => { for (let i = 0; i < STEPS; i++) dec.step(q1, k1, v1, out); }, { runs: RUNS, warmup: 1 }).median / STEPS) * 1e6;
  decode[`${op}/ts`] = ts;
  rows2.push([op, 'straightforward TS step', fmt(ts, 1), '1.0×']);
  for (const hla of backends) {
    const s = hla.session(op, { batch: B, heads: H, dk: D, dv: D, ...opts });
    const step = (time(() => { for (let i = 0; i < STEPS; i++) s.step(q1, k1, v1); }, { runs: RUNS }).median / STEPS) * 1e6;
    s.inputs.q.set(q1);
    s.inputs.k.set(k1);
    s.inputs.v.set(v1);
    const inPlace = (time(() => { for (let i = 0; i < STEPS; i++) s.stepInPlace(); }, { runs: RUNS }).median / STEPS) * 1e6;
    s.free();
    decode[`${op}/${hla.backend}/step`] = step;
    decode[`${op}/${hla.backend}/stepInPlace`] = inPlace;
    rows2.push([op, `wasm ${hla.backend}, session.step`, fmt(step, 1), `${fmt(ts / step, 1)}×`]);
    rows2.push([op, `wasm ${hla.backend}, session.stepInPlace`, fmt(inPlace, 1), `${fmt(ts / inPlace, 1)}×`]);
  }
}
{
  const t1 = (x: Float32Array): Tensor => ({ data: x, shape: [B, 1, H, D] });
  let st = best.hla2(t1(q1), t1(k1), t1(v1), { ...opts, outputFinalState: true }).finalState;
  const fn = (time(() => {
    for (let i = 0; i < STEPS; i++) st = best.hla2(t1(q1), t1(k1), t1(v1), { ...opts, initialState: st, outputFinalState: true }).finalState;
  }, { runs: RUNS }).median / STEPS) * 1e6;
  decode[`hla2/${best.backend}/functional`] = fn;
  rows2.push(['hla2', `wasm ${best.backend}, functional call with T=1`, fmt(fn, 1), `${fmt(decode['hla2/ts'] / fn, 1)}×`]);
}
results.decode = decode;
console.log(`\n### Decode latency: ${STEPS} steps at B=${B}, H=${H}, dk=dv=${D} (µs per step, median of ${RUNS})\n`);
console.log(table(['op', 'implementation', 'µs/step', 'vs TS'], rows2));

// 3. every operator: recurrent vs chunk, state size
const rows3: (string | number)[][] = [];
const ops: Record<string, unknown> = {};
for (const op of ['la1', 'hla2', 'ahla', 'hla3'] as OpName[]) {
  const ts = time(() => baselineForward(op, q, k, v, opts), { runs: 3, warmup: 1, warmupSeconds: 0 });
  const rec = time(() => best[op](q, k, v, { ...opts, mode: 'recurrent' }), { runs: RUNS });
  const row: (string | number)[] = [op, fmt((B * T) / ts.median), fmt((B * T) / rec.median)];
  const chunk: Record<number, number> = {};
  for (const c of [32, 64, 128]) {
    const t = time(() => best[op](q, k, v, { ...opts, mode: 'chunk', chunkSize: c }), { runs: RUNS });
    chunk[c] = (B * T) / t.median;
    row.push(fmt(chunk[c]));
  }
  const bestChunk = Math.max(...Object.values(chunk));
  const recTokS = (B * T) / rec.median;
  row.push(`${fmt(bestChunk / recTokS, 2)}×`, fmt(best.stateBytes(op, { dk: D, dv: D })));
  rows3.push(row);
  ops[op] = { ts: (B * T) / ts.median, recurrent: recTokS, chunk, stateBytesPerHead: best.stateBytes(op, { dk: D, dv: D }) };
}
results.operators = ops;
console.log(`\n### Every operator, prefill tok/s on ${best.backend} (B=${B}, H=${H}, dk=dv=${D}, T=${T}, one thread)\n`);
console.log(table(['op', 'TS', 'recurrent', 'chunk 32', 'chunk 64', 'chunk 128', 'best chunk / recurrent', 'state bytes/head'], rows3));

mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/latest.json', import.meta.url), JSON.stringify(results, null, 2));
console.log(`\n(machine: node ${process.versions.node}, ${process.platform}-${process.arch}; JSON in bench/results/latest.json)`);
