// finalState → initialState continues exactly; cuSeqlens ≡ separate runs.
import { beforeAll, describe, expect, it } from 'vitest';
import { HLA_OPS, type Hla, type OpName } from '../dist/index.mjs';
import { bruteForce } from './reference/bruteforce.js';
import { allBackends, concatT, qkv, relErr, rng, sliceT, TOL } from './helpers.js';

let backends: Hla[] = [];
beforeAll(async () => {
  backends = await allBackends();
});



describe.each(HLA_OPS)('%s continuation', (op) => {
  it('[0,s) then [s,T) with the final state equals one run, at several split points and modes', () => {
    const T = 45;
    const { q, k, v } = qkv(2, T, 2, 4, 6, 5, 31, true);
    const opts = { decay: 0.9, normalize: true, ...(op === 'hla2' ? { ridge: 0.2 } : {}) };
    const ref = bruteForce(op, q, k, v, opts);
    const r = rng(5);
    const splits = [1, 16, 44, 1 + Math.floor(((r() + 1) / 2) * 43)];
    for (const hla of backends) {
      for (const s of splits) {
        for (const [m1, m2] of [['recurrent', 'chunk'], ['chunk', 'recurrent'], ['chunk', 'chunk']] as const) {
          const a = hla[op](sliceT(q, 0, s), sliceT(k, 0, s), sliceT(v, 0, s), { ...opts, mode: m1, chunkSize: 8, outputFinalState: true });
          expect(a.finalState).toBeDefined();
          const b = hla[op](sliceT(q, s, T), sliceT(k, s, T), sliceT(v, s, T), { ...opts, mode: m2, chunkSize: 5, initialState: a.finalState });
          const joined = concatT(a.o, b.o);
          expect(relErr(joined.data, ref), `${hla.backend} split ${s} ${m1}→${m2}`).toBeLessThanOrEqual(TOL);
        }
      }
    }
  });

  it('a finalState is reusable: continuing twice from it gives the same result', () => {
    const { q, k, v } = qkv(1, 10, 1, 1, 4, 4, 8);
    const hla = backends[0];
    const a = hla[op](q, k, v, { outputFinalState: true });
    const b1 = hla[op](q, k, v, { initialState: a.finalState }).o.data;
    const b2 = hla[op](q, k, v, { initialState: a.finalState }).o.data;
    expect(Array.from(b1)).toEqual(Array.from(b2));
  });

  it('cuSeqlens equals separate runs, and finalState holds one state per sequence', () => {
    const cu = [0, 7, 8, 30];
    const T = 30;
    const { q, k, v } = qkv(1, T, 2, 2, 5, 3, 12);
    const ref = bruteForce(op, q, k, v, { decay: 0.9, cuSeqlens: cu });
    for (const hla of backends) {
      for (const mode of ['recurrent', 'chunk'] as const) {
        const res = hla[op](q, k, v, { decay: 0.9, mode, chunkSize: 3, cuSeqlens: new Int32Array(cu), outputFinalState: true });
        expect(relErr(res.o.data, ref), `${hla.backend} ${mode}`).toBeLessThanOrEqual(TOL);
        expect(res.finalState!.sequences).toBe(3);
        // The last sequence's state continues it exactly.
        const last = hla[op](sliceT(q, 8, 30), sliceT(k, 8, 30), sliceT(v, 8, 30), { decay: 0.9, outputFinalState: true });
        const all = res.finalState!.toFloat32Array();
        const one = last.finalState!.toFloat32Array();
        expect(relErr(all.subarray(all.length - one.length), Float64Array.from(one))).toBeLessThanOrEqual(TOL);
      }
    }
  });
});
