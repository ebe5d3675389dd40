// The binding itself (crates/hla-wasm), below the facade: its argument errors reach JS as
// RangeError naming the argument (the facade checks first, so only direct glue users and
// facade bugs see these), and the shipped .wasm files export no test or bench hook.
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import initGlue, * as glue from '../ts/wasm/scalar/hla_scalar.js';

const root = new URL('..', import.meta.url);

describe('binding errors', async () => {
  const wasm = await initGlue({ module_or_path: readFileSync(new URL('ts/wasm/scalar/hla_scalar_bg.wasm', root)) });
  const hla = (op: string, dims: number[], ridge = 0) =>
    glue.Config.hla(op, new Float64Array(dims), 1, new Float32Array([1]), false, 1e-6, ridge);

  it('an unknown operator is a RangeError naming it', () => {
    expect(() => hla('la9', [1, 1, 1, 1, 2, 2])).toThrow(RangeError);
    expect(() => hla('la9', [1, 1, 1, 1, 2, 2])).toThrow(/op: expected one of la1, hla2, ahla, hla3, gla, deltaRule, sseGla, sseDeltaRule, rla, got la9/);
    expect(() => hla('la1', [1, 1, 1])).toThrow(/dims: expected 6 values/);
  });

  it('kernel argument errors are RangeErrors naming the argument, expected and actual', () => {
    const config = hla('hla2', [1, 4, 1, 1, 2, 2]);
    const engine = new glue.Engine();
    const state = new Float32Array(config.stateLen(1));
    const o = new Float32Array(8);
    // No inputs staged.
    expect(() => engine.forward(config, 0, o, state, new Int32Array(0))).toThrow(RangeError);
    expect(() => engine.forward(config, 0, o, state, new Int32Array(0))).toThrow(/inputs: expected 3 tensors \(q, k, v\), got 0/);
    // A short q.
    engine.setInput(0, new Float32Array(7));
    engine.setInput(1, new Float32Array(8));
    engine.setInput(2, new Float32Array(8));
    expect(() => engine.forward(config, 0, o, state, new Int32Array(0))).toThrow(/q: expected 8 floats, got 7/);
    // The same config runs once its inputs are right.
    for (let i = 0; i < 3; i++) engine.setInput(i, new Float32Array(8).fill(0.5));
    engine.forward(config, 0, o, state, new Int32Array(0));
    expect(o.every((x) => x > 0)).toBe(true);
    // A ridge on an operator without one, at session creation.
    const la1 = hla('la1', [1, 1, 1, 1, 2, 2], 0.5);
    expect(() => new glue.Session(la1)).toThrow(RangeError);
    expect(() => new glue.Session(la1)).toThrow(/ridge: expected 0 \(la1 has no ridge\), got 0.5/);
    for (const x of [config, la1, engine]) x.free();
  });

  it("the engine's own buffers (the pool's one-copy path) give the forward of setInput, bit for bit", () => {
    const config = hla('hla2', [1, 5, 2, 2, 3, 3]);
    const n = 5 * 2 * 3;
    const inputs = [0, 1, 2].map((i) => Float32Array.from({ length: n }, (_, j) => Math.sin(1 + i * 31 + j * 0.7)));
    const engine = new glue.Engine();
    const want = new Float32Array(n);
    const wantState = new Float32Array(config.stateLen(1));
    inputs.forEach((x, i) => engine.setInput(i, x));
    engine.forward(config, 2, want, wantState, new Int32Array(0));
    const memory = () => wasm.memory;
    // Stale contents from an earlier call: the output buffer is zeroed, inputs are overwritten.
    for (const round of [0, 1]) {
      const ptrs = inputs.map((x, i) => engine.inputBuffer(i, x.length));
      const out = engine.outputBuffer(n);
      inputs.forEach((x, i) => new Float32Array(memory().buffer, ptrs[i], x.length).set(x));
      const state = new Float32Array(config.stateLen(1));
      engine.forwardBuffers(config, 2, 3, state, new Int32Array(0));
      expect(Array.from(new Float32Array(memory().buffer, out, n))).toEqual(Array.from(want));
      expect(Array.from(state)).toEqual(Array.from(wantState));
      if (round === 0) new Float32Array(memory().buffer, out, n).fill(7);
    }
    // A short buffer is the forward's own RangeError naming the input; fewer inputs than the operator's too.
    engine.inputBuffer(1, n - 1);
    expect(() => engine.forwardBuffers(config, 2, 3, new Float32Array(config.stateLen(1)), new Int32Array(0))).toThrow(/k: expected 30 floats, got 29/);
    expect(() => engine.forwardBuffers(config, 2, 2, new Float32Array(config.stateLen(1)), new Int32Array(0))).toThrow(/inputs: expected 3 tensors \(q, k, v\), got 2/);
    for (const x of [config, engine]) x.free();
  });
});

describe('the shipped .wasm files', () => {
  const files = readdirSync(new URL('dist/', root)).filter((f) => f.endsWith('.wasm'));

  it('are the three flavours', () => {
    expect(files.sort()).toEqual(['hla_relaxed.wasm', 'hla_scalar.wasm', 'hla_simd128.wasm']);
  });

  it.each(files)('%s exports no test or bench hook', (file) => {
    const names = WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(new URL(`dist/${file}`, root)))).map((e) => e.name);
    // The binding's API is there …
    expect(names).toEqual(expect.arrayContaining(['engine_forward', 'config_hla', 'session_step', 'segmentscan_summary', 'lastPanic']));
    // … and none of the `testing` feature's hooks.
    expect(names.filter((n) => /panic_?for_?tests|fma_?probe/i.test(n))).toEqual([]);
  });
});
