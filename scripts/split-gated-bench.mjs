// r = (segment summary time) / (forward time) per token for gla and deltaRule (the cost model of
// ts/sequence.ts, docs/math.md §g): one instance of the wasm glue, contenders interleaved round
// by round, medians of this process's CPU time (process.cpuUsage: robust to the time slicing of a
// shared machine, unlike wall time; the glue runs on this thread). B=1, H=1, dk=dv=64,
// T=HLA_SPLIT_T (4096).
//   node --experimental-wasm-relaxed-simd scripts/split-gated-bench.mjs [rounds] [flavour]
// Run after `npm run build` (or `HLA_FLAVOURS=relaxed bash scripts/build.sh`).
import { readFileSync } from 'node:fs';

const rounds = Number(process.argv[2] ?? 9);
const flavour = process.argv[3] ?? 'relaxed';
const T = Number(process.env.HLA_SPLIT_T ?? 4096), D = 64;
const glue = await import(`../ts/wasm/${flavour}/hla_${flavour}.js`);
await glue.default({ module_or_path: readFileSync(new URL(`../ts/wasm/${flavour}/hla_${flavour}_bg.wasm`, import.meta.url)) });
const rand = (n, s, lo = -0.5, hi = 0.5) => {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; a[i] = lo + (hi - lo) * (s / 2 ** 32); }
  return a;
};
const med = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
const dims = new Float64Array([1, T, 1, 1, D, D]);
const q = rand(T * D, 1), k = rand(T * D, 2, -0.06, 0.06), v = rand(T * D, 3);
const CASES = {
  gla: { config: () => glue.Config.gated('gla', dims, 0.125, false), inputs: [q, k, v, rand(T * D, 4, -0.05, 0)] },
  deltaRule: { config: () => glue.Config.gated('deltaRule', dims, 0.125, true), inputs: [q, k, v, rand(T, 5, 0.1, 0.9), rand(T, 6, -0.05, 0)] },
};
const eng = new glue.Engine();
console.log(`${flavour}: B=1 H=1 T=${T} dk=dv=${D}, ${rounds} interleaved rounds, median CPU ms`);
for (const [op, c] of Object.entries(CASES)) {
  const config = c.config();
  const scan = new glue.SegmentScan(config);
  const o = new Float32Array(T * D);
  const stateLen = config.stateLen(1);
  const times = { rec: [], c64: [], s16: [], s32: [], s64: [], combine: [] };
  for (let r = 0; r <= rounds; r++) {
    const time = (key, f) => {
      const t0 = process.cpuUsage();
      f();
      const t = process.cpuUsage(t0);
      if (r > 0) times[key].push((t.user + t.system) / 1e3); // round 0 warms up
    };
    for (const [key, chunk] of [['rec', 0], ['c64', 64]]) {
      time(key, () => {
        c.inputs.forEach((x, i) => eng.setInput(i, x));
        eng.forward(config, chunk, o, new Float32Array(stateLen), new Int32Array(0));
      });
    }
    let s;
    for (const [key, chunk] of [['s16', 16], ['s32', 32], ['s64', 64]]) {
      time(key, () => {
        c.inputs.forEach((x, i) => scan.setInput(i, x));
        s = scan.summary(T, chunk);
      });
    }
    const state = new Float32Array(stateLen);
    time('combine', () => scan.combine(state, s));
  }
  const [f, fc] = [med(times.rec), med(times.c64)];
  const s = Math.min(med(times.s16), med(times.s32), med(times.s64));
  console.log(`${op.padEnd(9)} forward recurrent ${f.toFixed(1)}, chunk 64 ${fc.toFixed(1)}; summary c16 ${med(times.s16).toFixed(1)}, c32 ${med(times.s32).toFixed(1)}, c64 ${med(times.s64).toFixed(1)}; combine ${med(times.combine).toFixed(3)}` +
    `  → r = ${(s / f).toFixed(2)} (vs recurrent), ${(s / fc).toFixed(2)} (vs chunk 64)`);
  for (const W of [2, 4, 8, 16]) {
    const r = s / f;
    console.log(`    model, W=${W}: chain ${(1 + (W - 1) * Math.max(0, 1 - r)).toFixed(2)}×, two phases ${(W / (1 + r)).toFixed(2)}×`);
  }
  // The two-phase schedule's critical path from its parts, each timed alone on this thread
  // (what W free cores would give, messages and copies aside): the summary of a segment of
  // L = T/W tokens, W − 1 folds, the segment's forward; against the whole forward.
  const chunk = op === 'gla' ? 64 : 16;
  for (const W of [4, 8, 16]) {
    const L = T / W;
    const seg = glue.Config.gated(op, new Float64Array([1, L, 1, 1, D, D]), 0.125, op === 'deltaRule');
    const segScan = new glue.SegmentScan(seg);
    const inputs = c.inputs.map((x) => x.subarray(0, (x.length / T) * L));
    const t = { f: [], s: [] };
    for (let r = 0; r <= rounds; r++) {
      let t0 = process.cpuUsage();
      inputs.forEach((x, i) => eng.setInput(i, x));
      eng.forward(seg, 0, o.subarray(0, L * D), new Float32Array(stateLen), new Int32Array(0));
      let dt = process.cpuUsage(t0);
      if (r > 0) t.f.push((dt.user + dt.system) / 1e3);
      t0 = process.cpuUsage();
      inputs.forEach((x, i) => segScan.setInput(i, x));
      segScan.summary(L, chunk);
      dt = process.cpuUsage(t0);
      if (r > 0) t.s.push((dt.user + dt.system) / 1e3);
    }
    const cp = med(t.s) + (W - 1) * med(times.combine) + med(t.f);
    console.log(`    two phases, W=${W} (L=${L}): summary ${med(t.s).toFixed(2)} + ${W - 1} folds + forward ${med(t.f).toFixed(2)} = ${cp.toFixed(2)} ms → ${(f / cp).toFixed(2)}× the whole forward`);
    segScan.free();
    seg.free();
  }
  scan.free();
  config.free();
}
