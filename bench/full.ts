// `npm run bench:full` (scripts/bench-full.sh): the whole matrix of bench/matrix.ts in Node and
// in headless Chromium with the same harness code, plus the TS baseline, the tfjs-wasm peer
// (hla2, in both) and the native anchor; machine info, GFLOP/s and fraction of each flavour's
// multiply-add peak per row. Writes <out>/full.json and <out>/full.svg, prints the tables.
//
// Knobs (environment): HLA_BENCH_T (2048), HLA_BENCH_RUNS (5 interleaved rounds),
// HLA_BENCH_WARMUP (1 s per contender), HLA_BENCH_STEPS (500 decode steps per call),
// HLA_BENCH_RUNTIMES (node,chromium,native), HLA_BENCH_OUT (bench/results),
// HLA_BENCH_SMOKE=1 (tiny sizes, one round: checks the harness, measures nothing; tests/bench.test.ts).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { init } from '../target/testing/dist/index.mjs';
import { fullChart } from './chart.js';
import { runInChromium } from './chromium.js';
import { fmt, table } from './harness.js';
import { FULL, OPS, runMatrix, SMOKE, tables, type MatrixConfig, type MatrixResult, type Peers, type Row } from './matrix.js';
import { gflops } from './flops.js';
import { initTfjs, tfjsHla2 } from './tfjs.js';

const t0 = performance.now();
const smoke = process.env.HLA_BENCH_SMOKE === '1';
const num = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const base = smoke ? SMOKE : FULL;
const config: MatrixConfig = {
  ...base,
  T: num('HLA_BENCH_T', base.T),
  rounds: num('HLA_BENCH_RUNS', base.rounds),
  warmupSeconds: num('HLA_BENCH_WARMUP', base.warmupSeconds),
  steps: num('HLA_BENCH_STEPS', base.steps),
};
const runtimes = (process.env.HLA_BENCH_RUNTIMES ?? 'node,chromium,native').split(',');
const outDir = process.env.HLA_BENCH_OUT ?? 'bench/results';
const log = (s: string) => console.error(s);
const notes: string[] = [];
if (smoke) notes.push('smoke mode: tiny sizes, one round; the figures mean nothing');

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1].trim();
  } catch {
    /* not Linux */
  }
  return cpus()[0]?.model ?? 'unknown';
}
const machine: Record<string, unknown> = {
  date: new Date().toISOString(),
  cpu: cpuModel(),
  cores: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  platform: `${process.platform}-${process.arch}`,
  node: process.versions.node,
  v8: process.versions.v8,
};

const results: MatrixResult[] = [];

// 1. Node, with the tfjs-wasm peer in the hla2 prefill race (so in Chromium: bench/browser/page.ts).
if (runtimes.includes('node')) {
  const tfjs = await initTfjs().catch((e: Error) => (notes.push(`tfjs-wasm unavailable in Node: ${e.message}`), null));
  if (tfjs) notes.push(`node: tfjs-wasm peer on ${tfjs.binary.split('/').pop()}, ${tfjs.threads} thread`);
  const peers: Peers = (op, { q, k, v, config: c }): Record<string, () => unknown> =>
    tfjs && op === 'hla2' ? { 'tfjs-wasm/chunk64': () => tfjsHla2(q.data, k.data, v.data, c.T, c.H, c.d, c.d, { decay: c.decay, chunkSize: 64 }) } : {};
  log(`[node] matrix: ${config.ops.join(', ')} × ${config.backends.join(', ')} × ${config.forms.join(', ')} × threads ${config.threads.join(', ')}; T=${config.T}, ${config.rounds} rounds`);
  results.push(await runMatrix('node', init, config, { peers, log }));
}

// 2. Headless Chromium: the same matrix, bundled.
if (runtimes.includes('chromium')) {
  try {
    const { result, chromium } = await runInChromium(config, { log });
    machine.chromium = chromium;
    machine.userAgent = result.machine.userAgent;
    results.push(result);
  } catch (e) {
    notes.push(`chromium: not run (${(e as Error).message.split('\n')[0]})`);
    log(`[chromium] FAILED: ${(e as Error).message}`);
  }
}

// 3. The native anchor: the same hla-core kernels for this CPU (built by scripts/bench-full.sh);
// its shapes are fixed at H=8, dk=dv=64, so it is skipped for other shapes (the smoke mode).
const NATIVE = 'target/native/release/examples/native_bench';
const nativeRows: Row[] = [];
let nativePeak: { isa: string; peak_gflops: number } | null = null;
if (runtimes.includes('native')) {
  if (!existsSync(NATIVE)) notes.push(`native: ${NATIVE} not built (scripts/bench-full.sh builds it)`);
  else if (config.H !== 8 || config.d !== 64 || config.B !== 1) notes.push('native: skipped (its shapes are fixed at B=1, H=8, dk=dv=64)');
  else {
    const env = { ...process.env, HLA_BENCH_T: String(config.T), HLA_BENCH_RUNS: String(config.rounds) };
    nativePeak = JSON.parse(execFileSync(NATIVE, [], { encoding: 'utf8', env: { ...env, HLA_BENCH_PEAK: '1' } }));
    log(`[native] ${nativePeak!.isa} peak GFLOP/s per thread: ${fmt(nativePeak!.peak_gflops, 1)}`);
    for (const op of config.ops) {
      const out = execFileSync(NATIVE, [op], { encoding: 'utf8', env });
      for (const line of out.trim().split('\n')) {
        const r = JSON.parse(line) as { op: string; mode: string; tok_s: number };
        const form = r.mode as Row['form']; // 'recurrent', 'chunk32', …
        if (!config.forms.includes(form as never)) continue;
        const g = gflops(op, config.d, config.B * config.H, r.tok_s);
        nativeRows.push({
          runtime: 'native', kind: 'prefill', op, impl: 'native', backend: nativePeak!.isa, form, threads: 1,
          tok_s: r.tok_s, median_s: (config.B * config.T) / r.tok_s, runs_s: [],
          gflops: g, peak_fraction: g / nativePeak!.peak_gflops, peak_of: `native ${nativePeak!.isa}`, peak_gflops: nativePeak!.peak_gflops,
        });
      }
      log(`[native] ${op} done`);
    }
  }
}

const rows = [...results.flatMap((r) => r.rows), ...nativeRows];
const full = {
  machine,
  config,
  smoke,
  peak_gflops: { ...Object.fromEntries(results.map((r) => [r.runtime, r.peak_gflops])), ...(nativePeak ? { native: { [nativePeak.isa]: nativePeak.peak_gflops } } : {}) },
  runtimeInfo: Object.fromEntries(results.map((r) => [r.runtime, r.machine])),
  notes: [...notes, ...results.flatMap((r) => r.notes)],
  flops: 'per token and head, the recurrence: la1 4·d², hla2 8·d², ahla 8·d², hla3 12·d² (bench/flops.ts); gflops = tok_s · B·H · that / 1e9',
  elapsed_s: 0,
  rows,
};

// Tables: one per runtime, then the headline comparison across runtimes.
for (const r of results) console.log(tables(r.rows, r.runtime === 'node' ? `Node ${process.versions.node}` : `Chromium ${machine.chromium ?? ''}`, config));
if (nativeRows.length) console.log(tables(nativeRows, `native (${nativePeak!.isa}, target-cpu=native)`, config));

/** The fastest one-thread prefill row of `runtime` for `op` among rows passing `keep`. */
const bestRow = (op: string, keep: (r: Row) => boolean) =>
  rows.filter((r) => r.kind === 'prefill' && r.op === op && keep(r)).sort((a, b) => b.tok_s - a.tok_s)[0];
{
  const cols: { head: string; keep: (r: Row) => boolean }[] = [
    { head: 'TS, Node', keep: (r) => r.runtime === 'node' && r.impl === 'ts' },
    { head: 'TS, Chromium', keep: (r) => r.runtime === 'chromium' && r.impl === 'ts' },
    { head: 'wasm, Node', keep: (r) => r.runtime === 'node' && r.impl === 'wasm' && r.threads === 1 },
    { head: 'wasm, Chromium', keep: (r) => r.runtime === 'chromium' && r.impl === 'wasm' && r.threads === 1 },
    { head: 'wasm 2 threads, Node', keep: (r) => r.runtime === 'node' && r.impl === 'wasm' && r.threads === 2 },
    { head: 'wasm 2 threads, Chromium', keep: (r) => r.runtime === 'chromium' && r.impl === 'wasm' && r.threads === 2 },
    { head: 'tfjs-wasm, Node', keep: (r) => r.runtime === 'node' && r.impl === 'tfjs-wasm' },
    { head: 'tfjs-wasm, Chromium', keep: (r) => r.runtime === 'chromium' && r.impl === 'tfjs-wasm' },
    { head: 'native', keep: (r) => r.runtime === 'native' },
  ];
  const present = cols.filter((c) => OPS.some((op) => bestRow(op, c.keep)));
  const cell = (r: Row | undefined) => (r ? `${fmt(r.tok_s)}${r.impl === 'ts' || !r.form ? '' : ` ${r.backend && r.impl === 'wasm' ? r.backend + ' ' : ''}${r.form}`}` : '');
  console.log(`\n### Headline: best prefill tok/s per operator (B=${config.B}, H=${config.H}, dk=dv=${config.d}, T=${config.T}), with the winning flavour and form\n`);
  console.log(table(['op', ...present.map((c) => c.head)], config.ops.map((op) => [op, ...present.map((c) => cell(bestRow(op, c.keep)))])));
  const dec = (rt: string, impl: string, backend?: string) => (op: string) => rows.find((r) => r.kind === 'decode' && r.runtime === rt && r.op === op && r.impl === impl && (!backend || r.backend === backend));
  const rtName = (rt: string) => (rt === 'node' ? 'Node' : 'Chromium');
  const dcols = results.flatMap((res) => [[`TS, ${rtName(res.runtime)}`, dec(res.runtime, 'ts')], ...Object.keys(res.peak_gflops).map((b) => [`${b}, ${rtName(res.runtime)}`, dec(res.runtime, 'wasm', b)])]) as [string, (op: string) => Row | undefined][];
  console.log(`\n### Headline: decode µs/step (session.stepInPlace; TS: the straightforward step)\n`);
  console.log(table(['op', ...dcols.map(([h]) => h)], config.ops.map((op) => [op, ...dcols.map(([, f]) => { const r = f(op); return r ? fmt(r.us_per_step!, 1) : ''; })])));
  const peaks = Object.entries(full.peak_gflops).map(([rt, p]) => `${rt}: ${Object.entries(p as Record<string, number>).map(([b, g]) => `${b} ${fmt(g, 1)}`).join(', ')}`);
  console.log(`\nmul-add peak GFLOP/s per thread (hla-core peak.rs): ${peaks.join('; ')}`);
}

full.elapsed_s = Math.round((performance.now() - t0) / 1e3);
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'full.json'), JSON.stringify(full, null, 2) + '\n');
writeFileSync(join(outDir, 'full.svg'), fullChart(full));
for (const n of full.notes) console.log(`note: ${n}`);
console.log(`\n(${machine.cpu}, ${machine.cores} cores; node ${machine.node}${machine.chromium ? `, Chromium ${machine.chromium}` : ''}; ${full.elapsed_s} s; JSON in ${join(outDir, 'full.json')}, chart ${join(outDir, 'full.svg')})`);
