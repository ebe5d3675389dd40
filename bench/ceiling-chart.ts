// bench/ceiling.ts's results as Markdown tables: per workload and thread count, the ceiling
// (one worker's time for the whole workload / n plain workers' wall on their shares, no pool)
// and the slowdown (a worker's time with the others running / alone); then the copy bandwidth.
// Usage: node scripts/run-ts.mjs bench/ceiling-chart.ts [ceiling.json]
//   (default: $OUT/ceiling.json where OUT is set, as on the device tool's machine, else
//   bench/results/ceiling.json)
import { readFileSync } from 'node:fs';
import { table } from './harness.js';

interface Compute { workload: string; op: string; B: number; H: number; T: number; threads: number; t1Ms: number; ceiling: number; slowdown: number; slowestSlowdown: number }
interface Bandwidth { copy: string; threads: number; bytesPerWorker: number; aggregateGBps: number; perWorkerGBps: number }
const file = process.argv[2] ?? (process.env.OUT ? `${process.env.OUT}/ceiling.json` : 'bench/results/ceiling.json');
const data = JSON.parse(readFileSync(file, 'utf8')) as { machine: { date: string; node: string; cores: number }; backend: string; rounds: number; compute: Compute[]; bandwidth: Bandwidth[]; skipped?: string[] };

const counts = [...new Set(data.compute.map((r) => r.threads))].filter((n) => n > 1).sort((a, b) => a - b);
const workloads = [...new Map(data.compute.map((r) => [`${r.op} ${r.workload}`, r])).values()];
const at = (w: Compute, n: number) => data.compute.find((r) => r.op === w.op && r.workload === w.workload && r.threads === n);
const x = (v: number | undefined) => (v === undefined ? '–' : `${v.toFixed(2)}×`);

console.log(`Ceiling without a pool (bench/ceiling.ts; ${data.machine.cores} cores, node ${data.machine.node}, ${data.backend}, ${data.rounds} interleaved rounds, ${data.machine.date.slice(0, 10)}): ` +
  'ceiling = one worker on the whole workload / the wall of n workers on their shares started together; ' +
  'slowdown = a worker\'s time with the others running / worker 0 alone on the same share (the slowest worker\'s in brackets).\n');
console.log(table(
  ['workload', '1 worker', ...counts.flatMap((n) => [`${n}: ceiling`, `${n}: slowdown`])],
  workloads.map((w) => [
    `${w.op} ${w.workload}, B=${w.B} H=${w.H} T=${w.T}`,
    `${w.t1Ms.toFixed(0)} ms`,
    ...counts.flatMap((n) => {
      const r = at(w, n);
      return [x(r?.ceiling), r ? `${x(r.slowdown)} (${x(r.slowestSlowdown)})` : '–'];
    }),
  ]),
));

const copies = [...new Set(data.bandwidth.map((r) => r.copy))];
if (copies.length) {
  const mib = data.bandwidth[0].bytesPerWorker / 2 ** 20;
  const bwCounts = [...new Set(data.bandwidth.map((r) => r.threads))].sort((a, b) => a - b);
  console.log(`\nCopy bandwidth, shared → plain, ${mib} MiB per thread, all threads at once: GB/s in all (per thread); strided = 256-byte rows 4 KiB apart (one head of 16: the by-heads gather), a set() per row as the pool does it, or an indexed loop\n`);
  console.log(table(
    ['copy', ...bwCounts.map((n) => `${n} thread${n > 1 ? 's' : ''}`)],
    copies.map((c) => [c, ...bwCounts.map((n) => {
      const r = data.bandwidth.find((b) => b.copy === c && b.threads === n);
      return r ? `${r.aggregateGBps.toFixed(1)} (${r.perWorkerGBps.toFixed(1)})` : '–';
    })]),
  ));
}
if (data.skipped?.length) console.log(`\nskipped (deadline): ${data.skipped.join(', ')}`);
