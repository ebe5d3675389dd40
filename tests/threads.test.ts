// init({ threads }): hla.run splits a call over workers by query-key heads; results equal the
// single-threaded call for every operator and option, and the pool ends with close().
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init, type Hla, type OpName } from '../target/testing/dist/index.mjs';
import { bruteForce } from './reference/bruteforce.js';
import { qkv, relErr, TOL } from './helpers.js';

let pooled: Hla, single: Hla;
beforeAll(async () => {
  pooled = await init({ threads: 2 });
  single = await init();
});
afterAll(() => pooled.close());

const OPS: OpName[] = ['la1', 'hla2', 'ahla', 'hla3'];

describe.each(OPS)('%s with 2 threads', (op) => {
  it('equals the single-threaded call (GQA, B=2, odd dims, decay per head, normalize, chunk and recurrent)', async () => {
    const { q, k, v } = qkv(2, 23, 3, 6, 5, 3, 61, true);
    const opts = { decay: [0.9, 1, 0.8], normalize: true, ...(op === 'hla2' ? { ridge: 0.2 } : {}) };
    const ref = bruteForce(op, q, k, v, opts);
    for (const mode of [{ mode: 'recurrent' as const }, { mode: 'chunk' as const, chunkSize: 4 }]) {
      const a = single[op](q, k, v, { ...opts, ...mode, outputFinalState: true });
      const b = await pooled.run(op, q, k, v, { ...opts, ...mode, outputFinalState: true });
      expect(Array.from(b.o.data)).toEqual(Array.from(a.o.data));
      expect(Array.from(b.finalState!.toFloat32Array())).toEqual(Array.from(a.finalState!.toFloat32Array()));
      expect(relErr(b.o.data, ref)).toBeLessThanOrEqual(TOL);
    }
  });

  it('continues from an initial state and handles cuSeqlens', async () => {
    const { q, k, v } = qkv(1, 20, 4, 4, 4, 4, 62);
    const first = single[op](q, k, v, { decay: 0.95, outputFinalState: true, cuSeqlens: [0, 5, 20] });
    const a = single[op](q, k, v, { decay: 0.95, initialState: first.finalState, cuSeqlens: [0, 9, 20], outputFinalState: true });
    const b = await pooled.run(op, q, k, v, { decay: 0.95, initialState: first.finalState, cuSeqlens: [0, 9, 20], outputFinalState: true });
    expect(Array.from(b.o.data)).toEqual(Array.from(a.o.data));
    expect(b.finalState!.sequences).toBe(2);
  });
});

describe('one long sequence', () => {
  // Lower the split threshold (an internal knob, tests/sequence.test.ts has the full matrix).
  const KNOB = Symbol.for('hla-wasm.splitMinT');
  beforeAll(() => void ((globalThis as Record<symbol, unknown>)[KNOB] = 256));
  afterAll(() => void delete (globalThis as Record<symbol, unknown>)[KNOB]);

  it.each(OPS)('%s: B=1, H=1 split along T and B=2, H=1 equal the single-threaded call', async (op) => {
    const opts = { decay: 0.97, normalize: true, outputFinalState: true, ...(op === 'hla2' ? { ridge: 0.1 } : {}) };
    for (const B of [1, 2]) {
      const { q, k, v } = qkv(B, 300, 1, 1, 7, 5, 65, true);
      const first = single[op](q, k, v, opts);
      const a = single[op](q, k, v, { ...opts, initialState: first.finalState });
      const b = await pooled.run(op, q, k, v, { ...opts, initialState: first.finalState });
      expect(relErr(b.o.data, a.o.data)).toBeLessThanOrEqual(TOL);
      expect(relErr(b.finalState!.toFloat32Array(), a.finalState!.toFloat32Array())).toBeLessThanOrEqual(TOL);
      if (B === 1) expect(relErr((await pooled.run(op, q, k, v, opts)).o.data, bruteForce(op, q, k, v, opts))).toBeLessThanOrEqual(TOL);
    }
  });
});

describe('pool', () => {
  it('reports its size; a single head runs inline; bad input is rejected before any worker runs', async () => {
    expect(pooled.threads).toBe(2);
    expect(single.threads).toBe(1);
    const { q, k, v } = qkv(1, 8, 1, 1, 4, 4, 63);
    expect(Array.from((await pooled.run('hla3', q, k, v)).o.data)).toEqual(Array.from(single.hla3(q, k, v).o.data));
    await expect(pooled.run('hla2', q, k, v, { decay: 2 })).rejects.toThrow(/decay: expected a number in \(0, 1\], got 2/);
    await expect(pooled.run('hla9' as never, q, k, v)).rejects.toThrow(/op: expected one of la1, hla2, ahla, hla3/);
  });

  it('close() ends the workers; run then falls back to the calling thread', async () => {
    const h = await init({ threads: 2 });
    const { q, k, v } = qkv(1, 8, 2, 2, 4, 4, 64);
    const before = (await h.run('la1', q, k, v)).o.data;
    h.close();
    expect(h.threads).toBe(1);
    expect(Array.from((await h.run('la1', q, k, v)).o.data)).toEqual(Array.from(before));
  });
});
