// Old build vs new build of the worker pool (`hla.run`), in one process: `raceAsync` alternates
// the contenders per round, so machine noise hits both alike. For a change to the pool's
// transport on a small machine (1 and 2 threads), where a timing on its own means little.
// Usage (after building both trees):
//   node --experimental-wasm-relaxed-simd scripts/run-ts.mjs bench/pool-ab.ts OLD/dist/index.mjs NEW/dist/index.mjs [threads…]
// Prints a table of new/old time ratios (< 1: the new build is faster) and the slowest worker's
// busy time in each (the pool's own timers: less sensitive to a loaded machine than wall time).
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { fmt, median, raceAsync, table } from './harness.js';
import { rand } from './matrix.js';

type Api = typeof import('../dist/index.mjs');
type Hla = Awaited<ReturnType<Api['init']>>;
const [oldPath, newPath, ...threadArgs] = process.argv.slice(2);
if (!oldPath || !newPath) throw new Error('usage: bench/pool-ab.ts OLD/dist/index.mjs NEW/dist/index.mjs [threads…]');
const counts = threadArgs.length ? threadArgs.map(Number) : [1, 2];
const backend = (process.env.HLA_BACKEND ?? 'relaxed') as never;
const rounds = Number(process.env.AB_ROUNDS ?? 9);
const apis = [await import(pathToFileURL(resolve(oldPath)).href), await import(pathToFileURL(resolve(newPath)).href)] as Api[];

const d = 64;
const WORKLOADS = [
  { name: 'hla2 by heads B=1 H=16 T=2048', op: 'hla2', B: 1, H: 16, T: 2048 },
  { name: 'la1 batch B=16 H=8 T=1024', op: 'la1', B: 16, H: 8, T: 1024 },
  { name: 'la1 along T B=1 H=1 T=65536', op: 'la1', B: 1, H: 1, T: 65536 },
] as const;

const rows: (string | number)[][] = [];
for (const threads of counts) {
  const [older, newer] = (await Promise.all(apis.map((a) => a.init({ backend, threads })))) as Hla[];
  for (const w of WORKLOADS) {
    for (const inputs of ['tensor', 'plain'] as const) {
      const shape = [w.B, w.T, w.H, d];
      // Each build gets its own inputs (hla.tensor: shared memory), with the same values.
      const make = (h: Hla) => [1, 2, 3].map((seed) => {
        const data = rand(w.B * w.T * w.H * d, seed);
        if (inputs === 'plain') return { data, shape };
        const t = h.tensor(shape);
        t.data.set(data);
        return t;
      });
      const [a, b] = [make(older), make(newer)];
      const want = (await older.run(w.op, a[0], a[1], a[2], { decay: 0.999 })).o.data;
      const got = (await newer.run(w.op, b[0], b[1], b[2], { decay: 0.999 })).o.data;
      // Same split, same kernels: the same bits.
      if (!want.every((x: number, i: number) => Object.is(x, got[i]))) throw new Error(`${w.name}: the builds disagree`);
      // Also the slowest worker's busy time (io + compute + carry, the pool's own timers; none
      // with 1 thread): the old build counted setInput's copy as compute, the new one as io.
      const io: Record<string, number[]> = { old: [], new: [] };
      const call = (name: 'old' | 'new', h: Hla, x: typeof a) => async () => {
        await h.run(w.op, x[0], x[1], x[2], { decay: 0.999 });
        const p = (h as unknown as { _lastRunProfile: { workers: { io: number; compute: number; carry: number }[] } | null })._lastRunProfile;
        if (threads > 1 && p) io[name].push(Math.max(...p.workers.map((x) => x.io + x.compute + x.carry)));
      };
      const r = await raceAsync({ old: call('old', older, a), new: call('new', newer, b) }, { rounds, warmupSeconds: 0.5 });
      const ioMs = (name: string) => (io[name].length ? fmt(median(io[name]), 2) : '–');
      rows.push([`${w.name}, ${inputs} inputs`, threads, fmt(r.old.median * 1e3, 1), fmt(r.new.median * 1e3, 1), fmt(r.new.median / r.old.median, 3), ioMs('old'), ioMs('new')]);
      console.error(rows.at(-1)!.join('  '));
    }
  }
  older.close();
  newer.close();
}
console.log(`backend ${backend}, dk=dv=${d}, decay 0.999; hla.run, median of ${rounds} interleaved rounds`);
console.log(table(['case', 'threads', 'old ms', 'new ms', 'new/old', 'old slowest worker busy ms', 'new'], rows));
