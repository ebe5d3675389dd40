// What the machine itself allows the worker pool: bench/threads.ts's workloads split the way the
// pool splits them, each share run by a plain node:worker_threads Worker on its own
// single-threaded instance (no pool, no transport: every worker builds its own inputs), all n
// started together by a barrier, and in the same interleaved rounds worker 0 running its share
// alone. `ceiling` = the whole workload on one worker / the n workers' wall: the most any pool
// can reach here; `slowdown` = a worker's time together / alone: how much slower the cores run
// when n run at once (all-core clocks, shared caches and memory bandwidth, neighbours on a VM).
// Then the memory bandwidth of n threads copying at once (the transport's unit of work).
// Usage: node --experimental-wasm-relaxed-simd scripts/run-ts.mjs bench/ceiling.ts [out.json]
//   (out.json: default $OUT/ceiling.json where OUT is set, else bench/results/ceiling.json;
//   scripts/device-threads.sh runs it on the 16-core machine after bench/threads.ts)
//   HLA_THREADS_SMALL=1, HLA_THREADS_MAX=16, HLA_THREADS_ROUNDS=9, HLA_BACKEND=relaxed: as in
//   bench/threads.ts (thread counts 1, 2, 4, 8, 16 up to HLA_THREADS_MAX)
//   HLA_CEILING_DEADLINE=150: seconds after which what has not started yet is skipped
// The script is its own worker (`isMainThread`), so it also runs bundled into one file.
import { availableParallelism } from 'node:os';
import { writeFileSync } from 'node:fs';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { init, type Backend, type Tensor } from '../dist/index.mjs';
import { machineInfo, median } from './harness.js';
import { GATED_OPTIONS, gatedData, headDim, OPTIONS, optionsOf, qkvData, workloads, type Workload } from './threads-workloads.js';

// The control block (Int32Array over a SharedArrayBuffer). Worker i sleeps on its own slot
// (SLOT + i) and the main thread wakes only the workers a job is for, so the others stay
// asleep ("solo": worker 0 alone); DONE counts the replies, ARRIVED is the start barrier.
const DONE = 0, ARRIVED = 1, COUNT = 2, KIND = 3, ARG = 4, ERR = 5, SLOT = 8;
enum Kind { Prepare = 1, Warm, Run, CopyWarm, Copy, Exit }
/** strided-loop: the same gather by an indexed loop (is the pool's `subarray` per row the cost?). */
const COPIES = ['contiguous', 'strided', 'strided-loop'] as const;
/** The strided copy: 256-byte rows (one head of dk = 64) at a 4 KiB stride (16 heads): the pool's by-heads gather. */
const ROW = 64, STRIDE = 1024;

interface Shared {
  control: SharedArrayBuffer; // Int32 control block
  times: SharedArrayBuffer; // Float64 [start, end] per worker, ms since the epoch
  errors: SharedArrayBuffer; // a failed job's message, UTF-8
  source: SharedArrayBuffer; // the bandwidth test's source, filled
  copyFloats: number; // floats each worker copies
}
interface Data extends Shared { index: number; counts: number[]; backend: Backend; small: boolean }

/** `w` as the pool splits it over n workers: heads, sequences or the sequence length. */
function shareOf(w: Workload, n: number): Workload {
  if (w.name === 'by heads') return { ...w, H: w.H / n };
  if (w.name === 'batch') return { ...w, B: w.B / n };
  return { ...w, T: w.T / n };
}

const now = () => performance.timeOrigin + performance.now();

type Call = (q: Tensor, k: Tensor, v: Tensor, o: Record<string, unknown>) => { o: Tensor };

async function worker(data: Data): Promise<void> {
  const { index, counts, backend, small, copyFloats } = data;
  const ctrl = new Int32Array(data.control), times = new Float64Array(data.times);
  const source = new Float32Array(data.source);
  const h = await init({ backend });
  const d = headDim(small), all = workloads(small);
  /** This worker's share of the current workload, per thread count it takes part in. */
  let calls = new Map<number, () => unknown>();
  let dst: Float32Array | null = null;
  const copy = (kind: number) => {
    dst ??= new Float32Array(copyFloats).fill(1);
    if (COPIES[kind] === 'contiguous') return dst.set(source.subarray(index * copyFloats, (index + 1) * copyFloats));
    const at = (index % 16) * ROW;
    // As ts/worker.ts gathers a window: one `set` of a `subarray` per row.
    if (COPIES[kind] === 'strided') for (let r = 0, o = 0; o < copyFloats; r++, o += ROW) dst.set(source.subarray(r * STRIDE + at, r * STRIDE + at + ROW), o);
    else for (let r = 0, o = 0; o < copyFloats; r++) for (let i = r * STRIDE + at, e = i + ROW; i < e; i++, o++) dst[o] = source[i];
  };
  /** Waits at the barrier for the job's other workers, runs `f`, records its start and end. */
  const together = (f: () => unknown) => {
    const count = Atomics.load(ctrl, COUNT);
    Atomics.add(ctrl, ARRIVED, 1);
    while (Atomics.load(ctrl, ARRIVED) < count); // spin: the others are waking up
    const t0 = now();
    f();
    times[2 * index] = t0;
    times[2 * index + 1] = now();
  };
  parentPort!.postMessage('ready');
  for (let seen = 0; ;) {
    Atomics.wait(ctrl, SLOT + index, seen);
    seen = Atomics.load(ctrl, SLOT + index);
    const kind = Atomics.load(ctrl, KIND) as Kind, arg = Atomics.load(ctrl, ARG);
    try {
      if (kind === Kind.Prepare) {
        calls = new Map();
        const w = all[arg];
        for (const n of counts.filter((n) => index < n)) {
          const share = shareOf(w, n);
          const [q, k, v] = qkvData(share, d);
          const opts = optionsOf(share, gatedData(share, d));
          const f = (h[w.op] as unknown as Call).bind(h);
          calls.set(n, () => f(q, k, v, opts));
        }
      } else if (kind === Kind.Warm) {
        // arg: ms. Every share this worker has, round-robin, so each reaches V8's optimising tier.
        const t0 = performance.now();
        do for (const f of calls.values()) f(); while (performance.now() - t0 < arg);
      } else if (kind === Kind.Run) {
        together(calls.get(arg)!);
      } else if (kind === Kind.CopyWarm) {
        for (let i = 0; i < 3; i++) copy(arg);
      } else if (kind === Kind.Copy) {
        together(() => copy(arg));
      }
    } catch (e) {
      const text = new TextEncoder().encode(`worker ${index}: ${(e as Error)?.stack ?? e}`).slice(0, data.errors.byteLength);
      new Uint8Array(data.errors).set(text);
      Atomics.store(ctrl, ERR, text.length);
    }
    Atomics.add(ctrl, DONE, 1);
    Atomics.notify(ctrl, DONE);
    if (kind === Kind.Exit) return;
  }
}

async function main(): Promise<void> {
  const small = process.env.HLA_THREADS_SMALL === '1';
  const maxThreads = Number(process.env.HLA_THREADS_MAX ?? availableParallelism());
  const counts = [1, 2, 4, 8, 16].filter((n) => n <= maxThreads);
  const out = process.argv[2] ?? (process.env.OUT ? `${process.env.OUT}/ceiling.json` : 'bench/results/ceiling.json');
  const deadline = performance.now() + 1e3 * Number(process.env.HLA_CEILING_DEADLINE ?? 150);
  const late = () => performance.now() > deadline;
  const backend = (process.env.HLA_BACKEND ?? 'relaxed') as Backend;
  const rounds = small ? 3 : Number(process.env.HLA_THREADS_ROUNDS ?? 9);
  const d = headDim(small), all = workloads(small);
  const log = (x: string) => console.log(x);
  const workers = counts.at(-1)!;

  // Each worker copies 32 MiB: contiguous, its own slice of `source`; strided, its head (index
  // mod 16) of rows of 16, so `source` holds 16 (or more, with more workers) times that.
  const copyFloats = (small ? 1 << 20 : 32 << 20) / 4;
  const shared: Shared = {
    control: new SharedArrayBuffer(4 * (SLOT + workers)),
    times: new SharedArrayBuffer(8 * 2 * workers),
    errors: new SharedArrayBuffer(4096),
    source: new SharedArrayBuffer(4 * copyFloats * Math.max(16, workers)),
    copyFloats,
  };
  new Float32Array(shared.source).fill(1); // fault the pages in: untouched ones read as the zero page
  const ctrl = new Int32Array(shared.control), times = new Float64Array(shared.times);
  log(`ceiling bench: ${backend}, d=${d}, ${counts.join(', ')} workers (plain worker_threads, no pool), ${availableParallelism()} cores, ${rounds} rounds`);

  const pool = Array.from({ length: workers }, (_, index) => new Worker(new URL(import.meta.url), { workerData: { ...shared, index, counts, backend, small } satisfies Data }));
  try {
    await Promise.all(pool.map((w) => new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
      w.once('exit', (code) => reject(new Error(`a worker exited (${code}) before it was ready`)));
    })));
    for (const w of pool) w.removeAllListeners();

    /** Runs one job on workers `who` and waits for them (the main thread blocks: nothing else runs here). Their [start, end]. */
    const job = (kind: Kind, arg: number, who: number[]): [number, number][] => {
      Atomics.store(ctrl, KIND, kind);
      Atomics.store(ctrl, ARG, arg);
      Atomics.store(ctrl, COUNT, who.length);
      Atomics.store(ctrl, ARRIVED, 0);
      Atomics.store(ctrl, DONE, 0);
      for (const i of who) {
        Atomics.add(ctrl, SLOT + i, 1);
        Atomics.notify(ctrl, SLOT + i);
      }
      const t0 = performance.now();
      for (let done; (done = Atomics.load(ctrl, DONE)) < who.length;) {
        Atomics.wait(ctrl, DONE, done, 1000);
        if (performance.now() - t0 > 120e3) throw new Error(`a job (kind ${kind}) took over 120 s: a worker is gone`);
      }
      const len = Atomics.load(ctrl, ERR);
      if (len) throw new Error(new TextDecoder().decode(new Uint8Array(shared.errors).slice(0, len)));
      return who.map((i) => [times[2 * i], times[2 * i + 1]]);
    };
    const first = (n: number) => Array.from({ length: n }, (_, i) => i);
    const everyone = first(workers);
    /** Interleaved rounds, the order of thread counts rotated per round: each n's workers together, then worker 0 alone. */
    const measure = (kind: Kind, arg: number) => {
      const wall = new Map(counts.map((n) => [n, [] as number[]]));
      const each = new Map(counts.map((n) => [n, Array.from({ length: n }, () => [] as number[])]));
      const solo = new Map(counts.map((n) => [n, [] as number[]]));
      const spread = new Map(counts.map((n) => [n, [] as number[]]));
      for (let r = 0; r < rounds; r++) {
        for (const [j] of counts.entries()) {
          const n = counts[(j + r) % counts.length];
          const spans = job(kind, kind === Kind.Run ? n : arg, first(n));
          wall.get(n)!.push(Math.max(...spans.map((s) => s[1])) - Math.min(...spans.map((s) => s[0])));
          spread.get(n)!.push(Math.max(...spans.map((s) => s[0])) - Math.min(...spans.map((s) => s[0])));
          spans.forEach(([a, b], i) => each.get(n)![i].push(b - a));
          if (n > 1) {
            const [[a, b]] = job(kind, kind === Kind.Run ? n : arg, [0]);
            solo.get(n)!.push(b - a);
          }
        }
      }
      return counts.map((n) => {
        const perWorker = each.get(n)!.map(median);
        return { n, wall: median(wall.get(n)!), perWorker, solo: n > 1 ? median(solo.get(n)!) : perWorker[0], startSpread: median(spread.get(n)!) };
      });
    };

    const compute: Record<string, unknown>[] = [], bandwidth: Record<string, unknown>[] = [], skipped: string[] = [];
    const save = () => writeFileSync(out, JSON.stringify({ machine: { ...machineInfo(), cores: availableParallelism() }, backend, d, rounds, options: OPTIONS, gatedOptions: GATED_OPTIONS, compute, bandwidth, ...(skipped.length ? { skipped } : {}) }, null, 1) + '\n');
    const ms = (x: number) => x.toFixed(1);
    const range = (xs: number[]) => `${ms(Math.min(...xs))}–${ms(Math.max(...xs))}`;

    for (const [wi, w] of all.entries()) {
      save();
      if (late()) {
        skipped.push(`${w.op} ${w.name}`);
        log(`skipped (HLA_CEILING_DEADLINE): ${w.op} ${w.name}`);
        continue;
      }
      job(Kind.Prepare, wi, everyone);
      job(Kind.Warm, small ? 50 : 1000, everyone);
      const results = measure(Kind.Run, 0);
      const t1 = results[0].wall;
      log(`${w.op} ${w.name} B=${w.B} H=${w.H} T=${w.T}: 1 worker ${ms(t1)} ms`);
      for (const { n, wall, perWorker, solo, startSpread } of results) {
        const together = median(perWorker);
        const row = {
          workload: w.name, op: w.op, B: w.B, H: w.H, T: w.T, threads: n, share: shareOf(w, n),
          // startSpread: last start − first start (the barrier's; the wall includes it).
          t1Ms: t1, togetherWallMs: wall, startSpreadMs: startSpread, soloMs: solo, perWorkerMs: perWorker.map((x) => +x.toFixed(3)),
          ceiling: t1 / wall,
          slowdown: together / solo,
          slowestSlowdown: Math.max(...perWorker) / solo,
          // 1 where a share of 1/n of the work takes 1/n of the time alone (< 1: smaller shares run less efficiently).
          shareScaling: t1 / (n * solo),
        };
        compute.push(row);
        if (n > 1) log(`  ${n} workers: together ${ms(wall)} ms (each ${range(perWorker)}, starts within ${ms(startSpread)}), worker 0 alone ${ms(solo)} ms, ideal ${ms(t1 / n)}; ceiling ${row.ceiling.toFixed(2)}×, slowdown ${row.slowdown.toFixed(2)}× (slowest ${row.slowestSlowdown.toFixed(2)}×), share scaling ${row.shareScaling.toFixed(2)}`);
      }
    }

    // Memory bandwidth: n threads each copying 32 MiB from shared memory into a plain array at
    // once, contiguous and as the by-heads gather (256-byte rows, 4 KiB apart; `set` per row as
    // the pool does, and an indexed loop).
    const bytes = 4 * copyFloats;
    for (const [c, kind] of COPIES.entries()) {
      save();
      if (late()) {
        skipped.push(`copy ${kind}`);
        log(`skipped (HLA_CEILING_DEADLINE): copy ${kind}`);
        continue;
      }
      job(Kind.CopyWarm, c, everyone);
      const results = measure(Kind.Copy, c);
      for (const { n, wall, perWorker, solo, startSpread } of results) {
        const row = {
          copy: kind, threads: n, bytesPerWorker: bytes, togetherWallMs: wall, startSpreadMs: startSpread, soloMs: solo, perWorkerMs: perWorker.map((x) => +x.toFixed(3)),
          aggregateGBps: (n * bytes) / wall / 1e6, perWorkerGBps: bytes / median(perWorker) / 1e6, soloGBps: bytes / solo / 1e6,
        };
        bandwidth.push(row);
        log(`copy ${kind} (${bytes >> 20} MiB each), ${n} thread${n > 1 ? 's' : ''}: ${row.aggregateGBps.toFixed(1)} GB/s together (${row.perWorkerGBps.toFixed(1)} per thread, ${row.soloGBps.toFixed(1)} alone; wall ${ms(wall)} ms)`);
      }
    }
    save();
    log(`wrote ${out}`);
    job(Kind.Exit, 0, everyone);
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
}

if (isMainThread) await main();
else await worker(workerData as Data);
