// `npm run bench`: the headline tables. Every ratio is taken within one run, from contenders
// timed round-robin (bench/harness.ts `race`), medians after a time-based warm-up.
//   1. hla2 prefill (B=1, H=8, dk=dv=64, T=2048): wasm per backend and form vs the straightforward TS.
//   2. Decode latency (1 000 steps): sessions (step, stepInPlace) and the functional API vs TS.
//   3. Every operator: prefill recurrent vs chunk sizes, and state bytes per head.
//   4. One long sequence (B=1, H=1, T=16384): 1 thread vs 2 (split along T).
// Every row of the JSON has `gflops` (bench/flops.ts: the recurrence's flop count) and
// `peak_fraction`: gflops over the multiply-add peak of the row's flavour (`peak_of`; times the
// threads), measured first by hla-core's probe (peak.rs). `npm run bench:full` runs the whole
// matrix in Node and Chromium (bench/full.ts).
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { init, type Backend, type Hla, type OpName, type Tensor } from '../target/testing/dist/index.mjs';
import { BaselineDecoder, baselineForward } from './baseline.js';
import { resultsChart } from './chart.js';
import { initTfjs, tfjsHla2 } from './tfjs.js';
import { fmt, machineInfo, race, raceAsync, table } from './harness.js';
import { flopsPerToken, gflops as gflopsOf } from './flops.js';
import { peakGflops, rand } from './matrix.js';

const B = 1, H = 8, D = 64, T = Number(process.env.HLA_BENCH_T ?? 2048);
const ROUNDS = Number(process.env.HLA_BENCH_RUNS ?? 7);

const tensor = (shape: number[], seed: number): Tensor => ({ data: rand(shape.reduce((a, b) => a * b), seed), shape });
const q = tensor([B, T, H, D], 1), k = tensor([B, T, H, D], 2), v = tensor([B, T, H, D], 3);
const opts = { decay: 0.999 };
const x = (r: number) => `${fmt(r, 1)}×`;

const backends: Hla[] = [];
for (const backend of ['relaxed', 'simd128', 'scalar'] as Backend[]) {
  try {
    backends.push(await init({ backend }));
  } catch {
    console.log(`(backend ${backend} not available in this runtime${backend === 'relaxed' ? '; Node 20 needs --experimental-wasm-relaxed-simd' : ''})`);
  }
}
const best = backends[0];
const pooled = await init({ backend: best.backend, threads: 2 });

// Multiply-add peak per flavour (twice: the first calls may run before V8's optimising tier),
// and of the native build's instruction set.
const peak: Record<string, number> = {};
for (const hla of backends) {
  peakGflops(hla, 300);
  peak[hla.backend] = peakGflops(hla, 300);
}
// The native anchors (scripts/bench.sh builds them): target-cpu=native (8-lane Avx2 here) and
// the same without AVX2 (4-lane Sse + FMA, wasm SIMD128's width).
const NATIVE: Record<string, string> = { native: 'target/native/release/examples/native_bench', 'native 128-bit': 'target/native-128/release/examples/native_bench' };
for (const [name, bin] of Object.entries(NATIVE)) {
  if (!existsSync(bin)) continue;
  const p = JSON.parse(execFileSync(bin, [], { encoding: 'utf8', env: { ...process.env, HLA_BENCH_PEAK: '1' } })) as { isa: string; peak_gflops: number };
  peak[`${name} ${p.isa}`] = p.peak_gflops;
}
/** A JSON row: the measure plus GFLOP/s and the fraction of `peakOf`'s peak (× threads). */
function perf(op: OpName, tokS: number, peakOf: string, threads = 1) {
  const g = gflopsOf(op, D, B * H, tokS);
  return { gflops: g, peak_fraction: peak[peakOf] ? g / (peak[peakOf] * threads) : null, peak_of: peak[peakOf] ? peakOf : null, threads };
}
/** The flavour a row name runs on: 'relaxed/chunk, 2 threads' → relaxed; ts/tfjs → the best flavour. */
function flavourOf(n: string): string {
  if (n.startsWith('native')) {
    const anchor = n.startsWith('native 128-bit') ? 'native 128-bit' : 'native';
    return Object.keys(peak).find((p) => p.startsWith(anchor) && (anchor !== 'native' || !p.startsWith('native 128-bit'))) ?? anchor;
  }
  const b = n.split('/')[0];
  return b in peak ? b : best.backend;
}
const threadsOf = (n: string) => (n.includes('2 threads') ? 2 : 1);

/** A native anchor: the same hla-core kernels built for this CPU (tok/s per mode). */
function native(op: OpName, bin = NATIVE.native): Record<string, number> {
  if (!existsSync(bin)) return {};
  const out = execFileSync(bin, [op], { encoding: 'utf8', env: { ...process.env, HLA_BENCH_T: String(T), HLA_BENCH_RUNS: String(ROUNDS) } });
  return Object.fromEntries(out.trim().split('\n').map((l) => JSON.parse(l)).map((r: { mode: string; tok_s: number }) => [r.mode, r.tok_s]));
}
const results: Record<string, unknown> = {
  best: best.backend, machine: { ...machineInfo(), cpu: cpus()[0]?.model, cores: cpus().length }, config: { B, H, dk: D, dv: D, T, rounds: ROUNDS, decay: opts.decay },
  peak_gflops: peak,
};

// The peer: chunked hla2 written with tfjs ops on tfjs-backend-wasm (XNNPACK), one thread,
// loaded offline from node_modules (bench/tfjs.ts; chunk 64 is its fastest).
const tfjs = await initTfjs().catch((e: Error) => (console.log(`(tfjs-wasm unavailable: ${e.message})`), null));

// 1. hla2 prefill
{
  const entries: Record<string, () => void> = { ts: () => baselineForward('hla2', q, k, v, opts) };
  if (tfjs) entries['tfjs-wasm chunk 64'] = () => tfjsHla2(q.data, k.data, v.data, T, H, D, D, { decay: opts.decay, chunkSize: 64 });
  for (const hla of backends) for (const mode of ['recurrent', 'chunk'] as const) entries[`${hla.backend}/${mode}`] = () => hla.hla2(q, k, v, { ...opts, mode });
  const r = race(entries, { rounds: ROUNDS });
  // 2 worker threads (async): timed right after, median of as many rounds.
  for (const mode of ['recurrent', 'chunk'] as const) {
    const runs: number[] = [];
    for (let i = 0; i < 6; i++) await pooled.run('hla2', q, k, v, { ...opts, mode });
    for (let i = 0; i < ROUNDS; i++) {
      const t0 = performance.now();
      await pooled.run('hla2', q, k, v, { ...opts, mode });
      runs.push((performance.now() - t0) / 1e3);
    }
    r[`${best.backend}/${mode}, 2 threads`] = { median: [...runs].sort((a, b) => a - b)[Math.floor(runs.length / 2)], runs };
  }
  const tokS = (n: string) => (B * T) / r[n].median;
  for (const [name, bin] of Object.entries(NATIVE)) {
    for (const [mode, v] of Object.entries(native('hla2', bin))) r[`${name} ${mode}`] = { median: (B * T) / v, runs: [] };
  }
  results.prefill = Object.fromEntries(Object.keys(r).map((n) => [n, { tok_s: tokS(n), ...perf('hla2', tokS(n), flavourOf(n), threadsOf(n)) }]));
  const label = (n: string) => (n === 'ts' ? 'straightforward TS (Float32Array loops)' : n.startsWith('native 128-bit') ? `${n} (x86-64, target-cpu=native -avx2: Sse+FMA)` : n.startsWith('native') ? `${n} (x86-64, target-cpu=native: Avx2)`
    : n.startsWith('tfjs') ? `${n} (tfjs-core + tfjs-backend-wasm, ${tfjs?.threads ?? 1} thread)` : `wasm ${n.replace('/', ', ')}`);
  const rows = Object.keys(r).map((n) => [label(n), fmt(tokS(n)), x(tokS(n) / tokS('ts'))]);
  console.log(`\n### hla2 prefill: B=${B}, H=${H}, dk=dv=${D}, T=${T} (tokens/s, median of ${ROUNDS} interleaved rounds)\n`);
  console.log(table(['implementation', 'tok/s', 'vs TS'], rows));
  if (r['tfjs-wasm chunk 64']) {
    const bestWasm = Math.max(tokS(`${best.backend}/recurrent`), tokS(`${best.backend}/chunk`));
    console.log(`\nbest wasm (1 thread) / tfjs-wasm: ${fmt(bestWasm / tokS('tfjs-wasm chunk 64'), 2)}`);
  }
  if (r['native recurrent']) {
    const w = (form: string) => tokS(`${best.backend}/${form}`);
    const ratios = (name: string) => r[`${name} recurrent`]
      ? `wasm ${best.backend} recurrent / ${name} recurrent: ${fmt(w('recurrent') / tokS(`${name} recurrent`), 2)}; wasm ${best.backend} chunk (32) / ${name} chunk32: ${fmt(w('chunk') / tokS(`${name} chunk32`), 2)}`
      : '';
    console.log(`\n${ratios('native')}\n${ratios('native 128-bit')}\n(native runs after the wasm rounds, same machine)`);
  }
}

// 2. decode latency
{
  const STEPS = 1000;
  const q1 = rand(B * H * D, 4), k1 = rand(B * H * D, 5), v1 = rand(B * H * D, 6);
  const decode: Record<string, { us_per_step: number } & ReturnType<typeof perf>> = {};
  const rows: (string | number)[][] = [];
  for (const op of ['hla2', 'hla3'] as OpName[]) {
    const dec = new BaselineDecoder(op, B, H, D, D, opts);
    const out = new Float32Array(B * H * D);
    const entries: Record<string, () => void> = { ts: () => { for (let i = 0; i < STEPS; i++) dec.step(q1, k1, v1, out); } };
    const sessions = backends.map((hla) => hla.session(op, { batch: B, heads: H, dk: D, dv: D, ...opts }));
    sessions.forEach((s, i) => {
      const name = backends[i].backend;
      entries[`${name}/session.step`] = () => { for (let j = 0; j < STEPS; j++) s.step(q1, k1, v1); };
      entries[`${name}/session.stepInPlace`] = () => {
        const { q: qi, k: ki, v: vi } = s.inputs;
        qi.set(q1);
        ki.set(k1);
        vi.set(v1);
        for (let j = 0; j < STEPS; j++) s.stepInPlace();
      };
    });
    if (op === 'hla2') {
      const t1 = (a: Float32Array): Tensor => ({ data: a, shape: [B, 1, H, D] });
      let st = best.hla2(t1(q1), t1(k1), t1(v1), { ...opts, outputFinalState: true }).finalState;
      entries[`${best.backend}/functional call, T=1`] = () => {
        for (let i = 0; i < STEPS; i++) st = best.hla2(t1(q1), t1(k1), t1(v1), { ...opts, initialState: st, outputFinalState: true }).finalState;
      };
    }
    const r = race(entries, { rounds: ROUNDS });
    sessions.forEach((s) => s.free());
    const us = (n: string) => (r[n].median / STEPS) * 1e6;
    for (const n of Object.keys(r)) {
      decode[`${op}/${n}`] = { us_per_step: us(n), ...perf(op, (B * 1e6) / us(n), flavourOf(n)) };
      rows.push([op, n === 'ts' ? 'straightforward TS step' : `wasm ${n.replace('/', ', ')}`, fmt(us(n), 1), x(us('ts') / us(n))]);
    }
  }
  results.decode = decode;
  console.log(`\n### Decode latency: ${STEPS} steps at B=${B}, H=${H}, dk=dv=${D} (µs per step, median of ${ROUNDS} interleaved rounds)\n`);
  console.log(table(['op', 'implementation', 'µs/step', 'speed-up vs TS'], rows));
}

// 3. every operator: recurrent vs chunk, state size
// GFLOP/s on the recurrence's flop count (bench/flops.ts), for every form alike.
const gflops = (op: OpName, tokS: number) => gflopsOf(op, D, B * H, tokS);
{
  const rows: (string | number)[][] = [];
  const ops: Record<string, unknown> = {};
  for (const op of ['la1', 'hla2', 'ahla', 'hla3'] as OpName[]) {
    const entries: Record<string, () => void> = {
      ts: () => baselineForward(op, q, k, v, opts),
      recurrent: () => best[op](q, k, v, { ...opts, mode: 'recurrent' }),
    };
    for (const c of [16, 32, 64, 128]) entries[`chunk ${c}`] = () => best[op](q, k, v, { ...opts, mode: 'chunk', chunkSize: c });
    const r = race(entries, { rounds: Math.max(3, ROUNDS - 2) });
    const tokS = (n: string) => (B * T) / r[n].median;
    const chunks = Object.keys(r).filter((n) => n.startsWith('chunk'));
    const bestChunk = Math.max(...chunks.map(tokS));
    const bytes = best.stateBytes(op, { dk: D, dv: D });
    rows.push([op, fmt(tokS('ts')), fmt(tokS('recurrent')), ...chunks.map((n) => fmt(tokS(n))), x(tokS('recurrent') / tokS('ts')), `${fmt(bestChunk / tokS('recurrent'), 2)}×`, fmt(bytes)]);
    ops[op] = {
      ...Object.fromEntries(Object.keys(r).map((n) => [n, tokS(n)])),
      gflops: Object.fromEntries(Object.keys(r).map((n) => [n, gflops(op, tokS(n))])),
      peak_fraction: Object.fromEntries(Object.keys(r).map((n) => [n, gflops(op, tokS(n)) / peak[best.backend]])),
      peak_of: best.backend,
      flopsPerTokenPerHead: flopsPerToken(op, D),
      stateBytesPerHead: bytes,
    };
  }
  results.operators = ops;
  console.log(`\n### Every operator, prefill tok/s on ${best.backend} (B=${B}, H=${H}, dk=dv=${D}, T=${T}, one thread)\n`);
  console.log(table(['op', 'TS', 'recurrent', 'chunk 16', 'chunk 32', 'chunk 64', 'chunk 128', 'recurrent vs TS', 'best chunk / recurrent', 'state bytes/head'], rows));
}

// 4. One long sequence over 2 workers (split along T, docs/math.md §f): B=1, H=1, T=16384.
// la1 and hla2 (without normalize) split; hla3 is there to show the fallback (r ≈ 1: one worker).
{
  const TL = Number(process.env.HLA_BENCH_LONG_T ?? 16384);
  const ql = tensor([1, TL, 1, D], 7), kl = tensor([1, TL, 1, D], 8), vl = tensor([1, TL, 1, D], 9);
  const entries: Record<string, () => unknown> = {};
  for (const op of ['la1', 'hla2', 'hla3'] as OpName[]) {
    entries[`${op}/1 thread`] = () => best[op](ql, kl, vl, opts);
    entries[`${op}/2 threads`] = () => pooled.run(op, ql, kl, vl, opts);
  }
  const r = await raceAsync(entries, { rounds: ROUNDS });
  const tokS = (n: string) => TL / r[n].median;
  const long: Record<string, unknown> = {};
  const rows = (['la1', 'hla2', 'hla3'] as OpName[]).map((op) => {
    const one = tokS(`${op}/1 thread`), two = tokS(`${op}/2 threads`);
    long[op] = { '1 thread': one, '2 threads': two, speedup: two / one };
    return [op, fmt(one), fmt(two), `${fmt(two / one, 2)}×`];
  });
  results.long = { config: { B: 1, H: 1, dk: D, dv: D, T: TL, decay: opts.decay }, ...long };
  console.log(`\n### One long sequence: B=1, H=1, dk=dv=${D}, T=${TL}, ${best.backend} (tokens/s, median of ${ROUNDS} interleaved rounds)\n`);
  console.log(table(['op', '1 thread', '2 threads (hla.run)', '2 / 1'], rows));
}

// The peaks again (a peak is a maximum; noise and V8's lazy tier-up only lower it): every
// peak_fraction is taken against the best of both probes.
for (const hla of backends) peak[hla.backend] = Math.max(peak[hla.backend], peakGflops(hla, 300));
type PerfRow = ReturnType<typeof perf>;
for (const row of [...Object.values(results.prefill as Record<string, PerfRow>), ...Object.values(results.decode as Record<string, PerfRow>)]) {
  if (row.peak_of) row.peak_fraction = row.gflops / (peak[row.peak_of] * row.threads);
}
for (const o of Object.values(results.operators as Record<string, { gflops: Record<string, number>; peak_fraction: Record<string, number> }>)) {
  for (const n of Object.keys(o.gflops)) o.peak_fraction[n] = o.gflops[n] / peak[best.backend];
}

console.log(`\nMultiply-add peak per thread (GFLOP/s, hla-core peak.rs): ${Object.entries(peak).map(([n, g]) => `${n} ${fmt(g, 1)}`).join(', ')}; the JSON has GFLOP/s and the fraction of the flavour's peak per row.`);

// `npm run bench` runs from the repository root; HLA_BENCH_OUT writes elsewhere (trial runs).
pooled.close();
const outDir = process.env.HLA_BENCH_OUT ?? 'bench/results';
mkdirSync(outDir, { recursive: true });
writeFileSync(`${outDir}/latest.json`, JSON.stringify(results, null, 2));
writeFileSync(`${outDir}/chart.svg`, resultsChart(results as Parameters<typeof resultsChart>[0]));

console.log(`\n(node ${process.versions.node}, V8 ${process.versions.v8}, ${process.platform}-${process.arch}; JSON in ${outDir}/latest.json)`);
