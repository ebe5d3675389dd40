// The README's threads chart and table from bench/results/threads.json (bench/threads.ts):
// speed-up over the synchronous call per workload and pool size, shared-memory and plain inputs.
// Usage: node scripts/run-ts.mjs bench/threads-chart.ts   (writes bench/results/threads.svg, prints the
// speed-up table and the slowest worker's breakdown at the two largest pools)
//   With OUT set (the device tool's machine, scripts/device-threads.sh): $OUT/threads.json in, $OUT/threads.svg out.
import { readFileSync, writeFileSync } from 'node:fs';
import { table } from './harness.js';

interface WorkerTimes { jobs: number; io: number; compute: number; carry: number; touch?: number; copyIn?: number; copyOut?: number; wait: number; back: number }
interface Row { workload: string; op: string; B: number; H: number; T: number; threads: number; inputs: string; ms: number; speedup: number; breakdown?: { main: { prepare: number; run: number }; workers: WorkerTimes[] } }
const dir = process.env.OUT ? `${process.env.OUT}/` : `${process.cwd()}/bench/results/`; // run from the repository root
const data = JSON.parse(readFileSync(`${dir}threads.json`, 'utf8')) as { machine: { date: string; node: string; cores: number }; backend: string; rows: Row[] };
const counts = [...new Set(data.rows.map((r) => r.threads))].filter((n) => n > 1).sort((a, b) => a - b);
const workloads = [...new Map(data.rows.map((r) => [`${r.op} ${r.workload}`, r])).values()];
const name = (r: Row) => `${r.op} ${r.workload}, B=${r.B} H=${r.H} T=${r.T}`;
const speedup = (w: Row, n: number, inputs: string) =>
  data.rows.find((r) => r.op === w.op && r.workload === w.workload && r.threads === n && r.inputs === inputs)?.speedup ?? NaN;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
const COLOURS = ['#9aa3ad', '#14a085', '#2f6fdb', '#8a5cd1', '#c8433a'];
const max = Math.max(...counts);
const labelW = 300, barW = 420, barH = 11, left = 12, top = 50;
const blockH = counts.length * (barH + 2) + 12;
let y = top;
const parts: string[] = [];
for (const w of workloads) {
  parts.push(`<text x="${left + labelW - 8}" y="${y + (blockH - 12) / 2 + 4}" text-anchor="end">${esc(name(w))}</text>`);
  counts.forEach((n, i) => {
    const s = speedup(w, n, 'shared');
    const len = Math.max(1, (s / max) * barW);
    parts.push(`<rect x="${left + labelW}" y="${y}" width="${len.toFixed(1)}" height="${barH}" rx="2" fill="${COLOURS[i % COLOURS.length]}"/>`);
    parts.push(`<text x="${left + labelW + len + 5}" y="${y + barH - 1}" font-size="11">${s.toFixed(2)}×</text>`);
    y += barH + 2;
  });
  y += 12;
}
// Ideal speed-up ticks.
for (const n of counts) {
  const x = left + labelW + (n / max) * barW;
  parts.push(`<line x1="${x}" y1="${top - 6}" x2="${x}" y2="${y - 12}" stroke="#d0d4da" stroke-dasharray="3 3"/><text x="${x}" y="${top - 9}" font-size="10" text-anchor="middle" fill="#5b6472">${n}×</text>`);
}
let lx = left;
const legend = counts.map((n, i) => {
  const item = `<rect x="${lx}" y="${y}" width="12" height="12" rx="2" fill="${COLOURS[i % COLOURS.length]}"/><text x="${lx + 17}" y="${y + 10}">${n} workers</text>`;
  lx += 100;
  return item;
}).join('');
const h = y + 44, wTotal = left + labelW + barW + 70;
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${wTotal}" height="${h}" viewBox="0 0 ${wTotal} ${h}" font-family="system-ui, sans-serif" font-size="13" fill="#1d2330">
<rect width="100%" height="100%" fill="#fff"/>
<text x="${left}" y="20" font-size="15" font-weight="600">hla.run over a worker pool: speed-up over the synchronous call</text>
<text x="${left}" y="36" fill="#5b6472">${esc(`inputs built with hla.tensor (shared memory), ${data.backend}, dk=dv=64, decay 0.999; dashed lines: ideal`)}</text>
${parts.join('\n')}
${legend}
<text x="${left}" y="${h - 8}" fill="#5b6472" font-size="11">${esc(`bench/threads.ts · ${data.machine.cores}-core Intel Xeon (KVM) · node ${data.machine.node} · ${data.machine.date.slice(0, 10)}`)}</text>
</svg>
`;
writeFileSync(`${dir}threads.svg`, svg);
const base = (w: Row) => data.rows.find((r) => r.op === w.op && r.workload === w.workload && r.threads === 1)!.ms;
console.log(table(
  ['workload', '1 thread', ...counts.map((n) => `${n} workers`)],
  workloads.flatMap((w) => ['shared', 'plain'].map((inputs) => [
    `${name(w)}, ${inputs === 'shared' ? 'hla.tensor inputs' : 'plain inputs'}`,
    inputs === 'shared' ? `${base(w).toFixed(0)} ms` : '',
    ...counts.map((n) => `${speedup(w, n, inputs).toFixed(2)}×`),
  ])),
));

// Where the time goes: the slowest worker (most busy: copies + forward + split work) of the
// median call, hla.tensor inputs, at the two largest pools. touch + copy in + copy out = io;
// "forward, all workers": the fastest and slowest worker's forward time (by groups every
// worker's tasks add up to about equal work only if the cores run at one speed); idle: the
// call's time on the calling thread less the worker's busy time (its tasks queue behind each
// other in the worker, so the time from posting a task to its start says little).
const f = (x: number | undefined) => `${(x ?? 0).toFixed(1)}`;
console.log('\nWhere the time goes (the slowest worker of the median call, hla.tensor inputs; ms):\n');
console.log(table(
  ['workload', 'workers', 'wall', 'ideal (1 thread / n)', 'tasks', 'forward', 'forward, all workers', 'split work', 'touch', 'copy in', 'copy out', 'idle'],
  workloads.flatMap((w) => counts.slice(-2).map((n) => {
    const r = data.rows.find((x) => x.op === w.op && x.workload === w.workload && x.threads === n && x.inputs === 'shared');
    const ws = r?.breakdown?.workers ?? [];
    const busy = (x: WorkerTimes) => x.io + x.compute + x.carry;
    const s = ws.reduce<WorkerTimes | null>((a, x) => (a === null || busy(x) > busy(a) ? x : a), null);
    const all = ws.length ? `${f(Math.min(...ws.map((x) => x.compute)))}–${f(Math.max(...ws.map((x) => x.compute)))}` : '–';
    return [`${w.op} ${w.workload}`, n, r ? f(r.ms) : '–', f(base(w) / n), s?.jobs ?? '–', f(s?.compute), all, f(s?.carry), f(s?.touch), f(s?.copyIn), f(s?.copyOut), s && r?.breakdown ? f(r.breakdown.main.prepare + r.breakdown.main.run - busy(s)) : '–'];
  })),
));
