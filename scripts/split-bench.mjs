// The sequence split of init({ threads }) (ts/sequence.ts, docs/math.md section f), measured.
//   node --experimental-wasm-relaxed-simd scripts/split-bench.mjs [ops] [rounds]
// B=1, H=1, dk=dv=64, T=16384 (HLA_SPLIT_T), decay 0.999: hla.run with 1 thread vs 2 (and 3)
// threads, interleaved rounds, medians; then r = summary/forward time per token per operator,
// from the wasm glue directly (same instance, interleaved), and for hla2 the deferred split's
// key summary (r_S) and settling (r_F). Run after `npm run build`.
import { readFileSync } from 'node:fs';
import { init } from '../dist/index.mjs';

const ops = (process.argv[2] ?? 'la1,hla2,ahla,hla3').split(',');
const rounds = Number(process.argv[3] ?? 7);
const T = Number(process.env.HLA_SPLIT_T ?? 16384), D = 64;
const rand = (n, s) => {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; a[i] = (s / 2 ** 32 - 0.5) * 0.5; }
  return a;
};
const med = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
const t = (shape, seed) => ({ data: rand(shape.reduce((a, b) => a * b), seed), shape });
const q = t([1, T, 1, D], 1), k = t([1, T, 1, D], 2), v = t([1, T, 1, D], 3);
const opts = { decay: 0.999 };
const one = await init(), two = await init({ threads: 2 }), three = await init({ threads: 3 });
console.log(`backend ${one.backend}, B=1 H=1 T=${T} dk=dv=${D}, ${rounds} interleaved rounds, median ms`);
for (const op of ops) {
  const times = { 1: [], 2: [], 3: [] };
  for (let r = 0; r < rounds + 1; r++) {
    for (const [n, h] of [[1, one], [2, two], [3, three]]) {
      const t0 = performance.now();
      await h.run(op, q, k, v, opts);
      if (r > 0) times[n].push(performance.now() - t0); // round 0 warms up
    }
  }
  const [a, b, c] = [med(times[1]), med(times[2]), med(times[3])];
  console.log(`${op.padEnd(5)} 1 thread ${a.toFixed(1)}  2 threads ${b.toFixed(1)} (${(a / b).toFixed(2)}×)  3 threads ${c.toFixed(1)} (${(a / c).toFixed(2)}×)`);
}
for (const h of [two, three]) h.close();

// r per operator from the glue: forward (recurrent, the default) vs summary (chunk 32 and 64).
const flavour = one.backend;
const glue = await import(`../ts/wasm/${flavour}/hla_${flavour}.js`);
await glue.default({ module_or_path: readFileSync(new URL(`../ts/wasm/${flavour}/hla_${flavour}_bg.wasm`, import.meta.url)) });
const Tr = 4096, eng = new glue.Engine(), scan = new glue.SegmentScan();
const dims = new Uint32Array([1, Tr, 1, 1, D, D]), decay = new Float32Array([0.999]);
const [qr, kr, vr, o] = [rand(Tr * D, 1), rand(Tr * D, 2), rand(Tr * D, 3), new Float32Array(Tr * D)];
for (const op of ops) {
  const code = { la1: 0, hla2: 1, ahla: 2, hla3: 3 }[op];
  const n = glue.state_len(code, 1, 1, 1, D, D, false);
  const f = [], s = { 32: [], 64: [] };
  for (let r = 0; r < rounds; r++) {
    let t0 = performance.now();
    eng.forward(code, 0, dims, 0.125, decay, false, 1e-6, 0, qr, kr, vr, o, new Float32Array(n), new Int32Array(0));
    f.push(performance.now() - t0);
    for (const c of [32, 64]) {
      t0 = performance.now();
      scan.summary(code, c, dims, 0.125, decay, false, 1e-6, 0, qr, kr, vr);
      s[c].push(performance.now() - t0);
    }
  }
  const fm = med(f);
  let line = `${op.padEnd(5)} T=${Tr}: forward ${fm.toFixed(1)} ms; summary c32 ${med(s[32]).toFixed(1)} ms (r ${(med(s[32]) / fm).toFixed(2)}), c64 ${med(s[64]).toFixed(1)} ms (r ${(med(s[64]) / fm).toFixed(2)})`;
  if (op === 'hla2') {
    // Deferred value moments: key summary (r_S) and settling (r_F), both per token.
    const ks = [], st = [], state = new Float32Array(n), carry = rand(n, 9);
    for (let r = 0; r < rounds; r++) {
      let t0 = performance.now();
      scan.key_summary(code, 64, dims, 0.125, decay, false, 1e-6, 0, kr);
      ks.push(performance.now() - t0);
      t0 = performance.now();
      scan.settle_values(code, dims, 0.125, decay, false, 1e-6, 0, qr, o, carry, state);
      st.push(performance.now() - t0);
    }
    line += `; key summary ${med(ks).toFixed(1)} ms (r_S ${(med(ks) / fm).toFixed(2)}), settle ${med(st).toFixed(1)} ms (r_F ${(med(st) / fm).toFixed(2)})`;
  }
  console.log(line);
}

// Critical path of the 2-worker schedule, each worker's work timed alone on this thread (what
// two free cores would take, copies and messages aside), against the whole forward.
{
  const T2 = T, bounds = { la1: [0, Math.round(T2 / 1.65), T2], hla2: [0, Math.round(T2 / 1.8), T2] }; // ts/sequence.ts planSegments(…, 2)
  const [q2, k2, v2] = [rand(T2 * D, 1), rand(T2 * D, 2), rand(T2 * D, 3)];
  const seg = (x, t0, t1) => x.subarray(t0 * D, t1 * D);
  const dimsOf = (t) => new Uint32Array([1, t, 1, 1, D, D]);
  for (const op of ops.filter((o) => o in bounds)) {
    const code = { la1: 0, hla2: 1 }[op];
    const n = glue.state_len(code, 1, 1, 1, D, D, false);
    const [, b1] = bounds[op];
    const fwd = (t0, t1, st = new Float32Array(n)) => {
      eng.forward(code, 0, dimsOf(t1 - t0), 0.125, decay, false, 1e-6, 0, seg(q2, t0, t1), seg(k2, t0, t1), seg(v2, t0, t1), new Float32Array((t1 - t0) * D), st, new Int32Array(0));
      return st;
    };
    const full = [], w0 = [], w1 = [], settle = [];
    for (let r = 0; r < rounds; r++) {
      let t0 = performance.now();
      fwd(0, T2);
      full.push(performance.now() - t0);
      t0 = performance.now();
      const end0 = fwd(0, b1);
      w0.push(performance.now() - t0);
      t0 = performance.now();
      const carry = new Float32Array(n);
      const o1 = new Float32Array((T2 - b1) * D);
      if (op === 'hla2') {
        // Deferred value moments: key summary of the prefix, forward from (S, 0), then settle.
        const keys = scan.key_summary(code, 64, dimsOf(b1), 0.125, decay, false, 1e-6, 0, seg(k2, 0, b1));
        scan.combine(code, dimsOf(b1), 0.125, decay, false, 1e-6, 0, carry, keys);
      } else {
        // Full summary of segment 0, folded into the carry.
        const s = scan.summary(code, 32, dimsOf(b1), 0.125, decay, false, 1e-6, 0, seg(q2, 0, b1), seg(k2, 0, b1), seg(v2, 0, b1));
        scan.combine(code, dimsOf(b1), 0.125, decay, false, 1e-6, 0, carry, s);
      }
      eng.forward(code, 0, dimsOf(T2 - b1), 0.125, decay, false, 1e-6, 0, seg(q2, b1, T2), seg(k2, b1, T2), seg(v2, b1, T2), o1, carry, new Int32Array(0));
      w1.push(performance.now() - t0);
      t0 = performance.now();
      if (op === 'hla2') scan.settle_values(code, dimsOf(T2 - b1), 0.125, decay, false, 1e-6, 0, seg(q2, b1, T2), o1, end0, carry);
      settle.push(performance.now() - t0);
    }
    // Settling waits for worker 0's end state: critical path = max(worker 0, worker 1) + settle.
    const [f, a, b, c] = [med(full), med(w0), med(w1), med(settle)];
    const path = Math.max(a, b) + c;
    console.log(`${op.padEnd(5)} T=${T2} critical path: whole ${f.toFixed(1)} ms; worker 0 ${a.toFixed(1)} ms, worker 1 ${b.toFixed(1)} ms, then settle ${c.toFixed(1)} ms → ${(f / path).toFixed(2)}× with two free cores`);
  }
}
