// One pool worker's forward job, on one thread: the two-copy path it had (gather the window
// into a JS array, `setInput` copies it again into wasm memory; the output copied into wasm
// and back by the glue, then scattered) against the one-copy path it has (ts/worker.ts: the
// window straight into the engine's input buffers, the output straight out of its output
// buffer), interleaved (`race`). la1 recurrent, whose forward is cheap, so the copies show.
// Usage: node --experimental-wasm-relaxed-simd scripts/run-ts.mjs bench/worker-copies.ts
import { readFileSync } from 'node:fs';
import initGlue, * as glue from '../ts/wasm/relaxed/hla_relaxed.js';
import { withSpec, type ConfigSpec } from '../ts/config.js';
import { fmt, race, table } from './harness.js';
import { rand } from './matrix.js';

// Run from the repository root.
const wasm = await initGlue({ module_or_path: readFileSync(`${process.cwd()}/ts/wasm/relaxed/hla_relaxed_bg.wasm`) });
const [T, H, d] = [2048, 16, 64];
const shared = (seed: number) => {
  const x = new Float32Array(new SharedArrayBuffer(4 * T * H * d));
  x.set(rand(T * H * d, seed));
  return x;
};
const [q, k, v] = [shared(1), shared(2), shared(3)];
const oOld = new Float32Array(new SharedArrayBuffer(4 * T * H * d));
const oNew = new Float32Array(new SharedArrayBuffer(4 * T * H * d));
const spec: ConfigSpec = { family: 'hla', op: 'la1', scale: 1 / 8, decay: new Float32Array([0.999]), normalize: false, eps: 1e-6, ridge: 0 };
const engine = new glue.Engine();

const rows: (string | number)[][] = [];
for (const heads of [1, 2, 8]) {
  const h0 = 3 % (H - heads + 1), h1 = h0 + heads, w = heads * d;
  const dims = { B: 1, T, H: heads, HV: heads, dk: d, dv: d };
  const scratch = [0, 1, 2, 3].map(() => new Float32Array(T * w));
  const gather = (x: Float32Array, out: Float32Array) => {
    for (let r = 0; r < T; r++) out.set(x.subarray((r * H + h0) * d, (r * H + h1) * d), r * w);
    return out;
  };
  const scatter = (x: Float32Array, out: Float32Array) => {
    for (let r = 0; r < T; r++) out.set(x.subarray(r * w, (r + 1) * w), (r * H + h0) * d);
  };
  const twoCopies = () => {
    const inputs = [q, k, v].map((x, i) => gather(x, scratch[1 + i]));
    const o = gather(oOld, scratch[0]);
    withSpec(glue, spec, dims, (config) => {
      inputs.forEach((x, i) => engine.setInput(i, x));
      engine.forward(config, 0, o, new Float32Array(config.stateLen(1)), new Int32Array(0));
    });
    scatter(o, oOld);
  };
  const oneCopy = () => {
    const ptrs = [0, 1, 2].map((i) => engine.inputBuffer(i, T * w));
    const out = engine.outputBuffer(T * w);
    [q, k, v].forEach((x, i) => gather(x, new Float32Array(wasm.memory.buffer, ptrs[i], T * w)));
    withSpec(glue, spec, dims, (config) => engine.forwardBuffers(config, 0, 3, new Float32Array(config.stateLen(1)), new Int32Array(0)));
    scatter(new Float32Array(wasm.memory.buffer, out, T * w), oNew);
  };
  oOld.fill(0);
  const r = race({ 'two copies': twoCopies, 'one copy': oneCopy }, { rounds: Number(process.env.AB_ROUNDS ?? 15), warmupSeconds: 0.5 });
  if (!oOld.every((x, i) => Object.is(x, oNew[i]))) throw new Error('the two paths disagree');
  rows.push([`${heads} of ${H} heads`, fmt(r['two copies'].median * 1e3, 2), fmt(r['one copy'].median * 1e3, 2), fmt(r['one copy'].median / r['two copies'].median, 3)]);
  console.error(rows.at(-1)!.join('  '));
}
console.log(`la1 recurrent, one worker's window of a [1, ${T}, ${H}, ${d}] call in shared memory; median of interleaved rounds`);
console.log(table(['window', 'two copies ms', 'one copy ms', 'one/two'], rows));
