// The worker pool over 1, 2, 4, …, N workers (`hla.run`): by heads, batch, and one long
// sequence, with inputs built in shared memory (`hla.tensor`) and as plain Float32Arrays, and
// where each worker's time went (transport vs compute, from the pool's own timers).
// Usage: node --experimental-wasm-relaxed-simd scripts/run-ts.mjs bench/threads.ts [out.json]
//   (out.json: default $OUT/threads.json where OUT is set, as on the device tool's machine,
//   else bench/results/threads.json; scripts/device-threads.sh runs it there)
//   HLA_THREADS_SMALL=1: small sizes (a check of the script, not a measurement)
//   HLA_THREADS_MAX=16: the largest pool (default: the machine's cores)
//   HLA_THREADS_ROUNDS=9: interleaved rounds per workload (every contender once per round)
//   HLA_THREADS_DEADLINE=300: seconds after which the workloads not started yet are skipped
//   (what was measured is saved; the device tool's commands end at 10 minutes)
import { availableParallelism } from 'node:os';
import { writeFileSync } from 'node:fs';
import { init, type Backend, type Hla, type OpName, type Tensor } from '../dist/index.mjs';
import { machineInfo, median } from './harness.js';
import { GATED_OPTIONS, gatedData, headDim, OPTIONS, optionsOf, qkvData, workloads, type Op, type Workload } from './threads-workloads.js';

const small = process.env.HLA_THREADS_SMALL === '1';
const maxThreads = Number(process.env.HLA_THREADS_MAX ?? availableParallelism());
const counts = [1, 2, 4, 8, 16, 32].filter((n) => n <= maxThreads);
const out = process.argv[2] ?? (process.env.OUT ? `${process.env.OUT}/threads.json` : 'bench/results/threads.json');
const deadline = performance.now() + 1e3 * Number(process.env.HLA_THREADS_DEADLINE ?? 300);
const late = () => performance.now() > deadline;
const backend = (process.env.HLA_BACKEND ?? 'relaxed') as Backend;
const d = headDim(small);

const WORKLOADS = workloads(small);

/** gla's gk, deltaRule's beta and g (`{}` for the HLA family), plain or in shared memory. */
function gatedInputs(h: Hla, w: Workload, shared: boolean): Record<string, Tensor> {
  const plain = gatedData(w, d);
  if (!shared) return plain;
  return Object.fromEntries(Object.entries(plain).map(([name, { data, shape }]) => {
    const t = h.tensor(shape);
    t.data.set(data);
    return [name, t];
  }));
}

type Call = (q: Tensor, k: Tensor, v: Tensor, o: Record<string, unknown>) => { o: Tensor };
type Run = (op: Op, q: Tensor, k: Tensor, v: Tensor, o: Record<string, unknown>) => Promise<{ o: Tensor }>;

/** Seconds per call: warm-up, then runs until `budget` seconds (at least 3), the median. */
async function timeIt(f: () => unknown, budget: number): Promise<{ median: number; runs: number }> {
  await f();
  const runs: number[] = [];
  const start = performance.now();
  while (runs.length < 3 || (performance.now() - start) / 1e3 < budget) {
    const t0 = performance.now();
    await f();
    runs.push((performance.now() - t0) / 1e3);
    if (runs.length >= 15) break;
  }
  return { median: median(runs), runs: runs.length };
}

const rounds = small ? 3 : Number(process.env.HLA_THREADS_ROUNDS ?? 9);

/**
 * Each of `fs` once to warm up, then `rounds` rounds of one call each; per contender the
 * median seconds, and what `after` returned after its median call (the pool's breakdown of
 * that very call, so that the breakdown and the time come from one call).
 */
async function race<P>(fs: (() => unknown)[], after: (i: number) => P): Promise<{ median: number; atMedian: P }[]> {
  for (const f of fs) await f();
  const times = fs.map(() => [] as { s: number; p: P }[]);
  for (let r = 0; r < rounds; r++) {
    for (const [i, f] of fs.entries()) {
      const t0 = performance.now();
      await f();
      const s = (performance.now() - t0) / 1e3;
      times[i].push({ s, p: after(i) });
    }
  }
  return times.map((xs) => {
    const sorted = [...xs].sort((a, b) => a.s - b.s);
    return { median: median(xs.map((x) => x.s)), atMedian: sorted[Math.floor((sorted.length - 1) / 2)].p };
  });
}

function inputs(h: Hla, w: Workload, shared: boolean): Tensor[] {
  return qkvData(w, d).map(({ data, shape }) => {
    if (!shared) return { data, shape };
    const t = h.tensor(shape);
    t.data.set(data);
    return t;
  });
}

const single = await init({ backend });
const rows: Record<string, unknown>[] = [];
const log = (x: string) => console.log(x);
log(`threads bench: ${backend}, d=${d}, pools ${counts.join(', ')}, ${availableParallelism()} cores`);

const pools = new Map<number, Hla>();
for (const n of counts) if (n > 1) pools.set(n, await init({ backend, threads: n }));

const flavours: Record<string, number> = {};
let copies: Record<string, number> = {};
const skipped: string[] = [];
const save = () => writeFileSync(out, JSON.stringify({ machine: { ...machineInfo(), cores: availableParallelism() }, backend, d, options: OPTIONS, gatedOptions: GATED_OPTIONS, rows, flavours, copies, ...(skipped.length ? { skipped } : {}) }, null, 1) + '\n');

for (const w of WORKLOADS) {
  save(); // after each workload: a run cut short keeps what it measured
  if (late()) {
    skipped.push(`${w.op} ${w.name}`);
    log(`skipped (HLA_THREADS_DEADLINE): ${w.op} ${w.name}`);
    continue;
  }
  const [q, k, v] = inputs(single, w, false);
  const tokens = w.B * w.T;
  const sync = (single[w.op] as unknown as Call).bind(single);
  const opts = optionsOf(w, gatedInputs(single, w, false));
  const want = sync(q, k, v, opts).o.data;
  // Every contender (the synchronous call, then each pool with shared and with plain inputs)
  // runs once per round, rounds interleaved: this machine's speed drifts between runs by more
  // than the differences measured, and a ratio of medians from one set of rounds stays fair.
  const variants = (['shared', 'plain'] as const).map((variant) => {
    const shared = variant === 'shared';
    return { variant, xs: inputs(single, w, shared), o: optionsOf(w, gatedInputs(single, w, shared)) };
  });
  const run = (n: number) => { const h = pools.get(n)!; return h.run.bind(h) as unknown as Run; };
  const contenders = [
    { n: 1, variant: 'plain' as const, f: () => sync(q, k, v, opts) },
    ...variants.flatMap(({ variant, xs: [sq, sk, sv], o }) => counts.filter((x) => x > 1).map((n) => ({ n, variant, f: () => run(n)(w.op, sq, sk, sv, o) }))),
  ];
  // The pool's breakdown of each call (a call the pool does not split runs on the calling
  // thread and leaves none: cleared first, or deltaRule on 2 workers would show gla's plan).
  type W = { jobs: number; io: number; compute: number; carry: number; touch: number; copyIn: number; copyOut: number; wait: number; back: number };
  type Profile = { prepare: number; run: number; finish: number; post?: number; fault?: number; plan: unknown; workers: W[] } | null;
  const profileOf = (h: Hla) => h as unknown as { _lastRunProfile: Profile };
  const raced = await race(contenders.map((c) => {
    if (c.n === 1) return c.f;
    const h = profileOf(pools.get(c.n)!);
    return () => { h._lastRunProfile = null; return c.f(); };
  }), (i) => (contenders[i].n === 1 ? null : profileOf(pools.get(contenders[i].n)!)._lastRunProfile));
  const times = raced.map((r) => r.median);
  const base = times[0];
  log(`${w.op} ${w.name} B=${w.B} H=${w.H} T=${w.T}: 1 thread (synchronous) ${(base * 1e3).toFixed(1)} ms (${rounds} interleaved rounds)`);
  rows.push({ workload: w.name, op: w.op, B: w.B, H: w.H, T: w.T, threads: 1, inputs: 'plain', ms: base * 1e3, speedup: 1, tok_s: tokens / base });
  for (const [i, { n, variant, f }] of contenders.entries()) {
    if (n === 1) continue;
    const h = pools.get(n)!;
    // One more call for the result.
    const got = ((await f()) as { o: Tensor }).o.data;
    let err = 0;
    for (let j = 0; j < want.length; j++) err = Math.max(err, Math.abs(got[j] - want[j]));
    // io = touch + copyIn + copyOut for forward jobs (ts/protocol.ts `Timing`); the median call's.
    const p = raced[i].atMedian;
    const row = {
      workload: w.name, op: w.op, B: w.B, H: w.H, T: w.T, threads: n, inputs: variant, transport: h.transport,
      ms: times[i] * 1e3, speedup: base / times[i], tok_s: tokens / times[i], maxAbsDiff: err,
      breakdown: p && {
        main: { prepare: p.prepare, run: p.run, finish: p.finish, post: p.post ?? 0, fault: p.fault ?? 0 },
        plan: p.plan,
        workers: p.workers.map((x) => Object.fromEntries(Object.entries(x).map(([k, y]) => [k, +y.toFixed(2)]))),
      },
    };
    rows.push(row);
    const ws = p?.workers ?? [];
    const r = (g: (x: W) => number) => `${Math.min(...ws.map(g)).toFixed(1)}–${Math.max(...ws.map(g)).toFixed(1)}`;
    if (!p) {
      log(`  ${n} workers, ${row.inputs}: ${(times[i] * 1e3).toFixed(1)} ms, ${row.speedup.toFixed(2)}×; not split (the calling thread); max|Δ| ${err.toExponential(1)}`);
      continue;
    }
    log(`  ${n} workers, ${row.inputs}: ${(times[i] * 1e3).toFixed(1)} ms, ${row.speedup.toFixed(2)}×; main prepare ${p?.prepare.toFixed(1)}, run ${p?.run.toFixed(1)} (post ${(p?.post ?? 0).toFixed(1)}, fault-in ${(p?.fault ?? 0).toFixed(1)}), finish ${p?.finish.toFixed(1)}; per worker: jobs ${r((x) => x.jobs)}, compute ${r((x) => x.compute)}, carry ${r((x) => x.carry)}, io ${r((x) => x.io)} (touch ${r((x) => x.touch ?? 0)}, in ${r((x) => x.copyIn ?? 0)}, out ${r((x) => x.copyOut ?? 0)}), wait ${r((x) => x.wait)}, back ${r((x) => x.back)} ms; max|Δ| ${err.toExponential(1)}`);
  }
}
for (const p of pools.values()) p.close();

// What one copy costs (the transport's unit of work): 32 MiB between plain and shared buffers,
// GB/s on one thread (a worker copies its window into its wasm memory once per input).
{
  copies = {};
  const n = small ? 1 << 18 : 8 << 20;
  const plain = () => new Float32Array(n).fill(1), shared = () => new Float32Array(new SharedArrayBuffer(4 * n)).fill(1);
  for (const [name, src, dst] of [['plain→plain', plain(), plain()], ['shared→plain', shared(), plain()], ['plain→shared', plain(), shared()]] as const) {
    const t = await timeIt(() => dst.set(src), small ? 0.05 : 0.5);
    copies[name] = (4 * n) / t.median / 1e9;
    log(`copy ${name}: ${copies[name].toFixed(1)} GB/s`);
  }
}

// The SIMD flavours' chunk form on one thread (the GEMM tiles: bench/tiles.ts).
if (!small && !late()) {
  const w = { B: 1, H: 4, T: 2048 };
  for (const op of ['la1', 'hla2', 'hla3'] as OpName[]) {
    for (const b of ['relaxed', 'simd128'] as Backend[]) {
      const h = await init({ backend: b });
      const [q, k, v] = inputs(h, { name: 'by heads', op, ...w }, false);
      const t = await timeIt(() => h[op](q, k, v, { ...OPTIONS, mode: 'chunk', chunkSize: 64 }), 1);
      flavours[`${op}/${b}/chunk64`] = (w.B * w.T) / t.median;
      log(`flavour ${op} ${b} chunk64 B=1 H=4 T=2048: ${Math.round((w.B * w.T) / t.median)} tok/s`);
    }
  }
}

save();
log(`wrote ${out}`);
