// Bad input: a precise Error (argument, expected, actual) before wasm memory is touched; the
// instance keeps working, nothing leaks, and a Rust panic never surfaces as `unreachable`.
import { beforeAll, describe, expect, it } from 'vitest';
import { init, type Hla } from '../target/testing/dist/index.mjs';
import { qkv, tensor } from './helpers.js';

let hla: Hla;
beforeAll(async () => {
  hla = await init();
});

const good = () => qkv(1, 6, 2, 4, 3, 2, 1);

type Case = [string, () => unknown, typeof TypeError | typeof RangeError, RegExp];
const f32 = (n: number) => new Float32Array(n);

const cases: Case[] = [
  ['data not a Float32Array', () => { const { q, k, v } = good(); return hla.hla2({ data: Array.from(q.data) as never, shape: q.shape }, k, v); }, TypeError, /q\.data: expected a Float32Array, got Array\(36\)/],
  ['Float64Array data', () => { const { q, k, v } = good(); return hla.hla2(q, { data: new Float64Array(36) as never, shape: k.shape }, v); }, TypeError, /k\.data: expected a Float32Array, got Float64Array\(36\)/],
  ['not a tensor', () => { const { k, v } = good(); return hla.hla2(null as never, k, v); }, TypeError, /q: expected a tensor/],
  ['length ≠ product of shape', () => { const { q, k, v } = good(); return hla.hla2(q, k, { data: f32(47), shape: v.shape }); }, RangeError, /v\.data\.length: expected 48 \(the product of shape \[1, 6, 4, 2\]\), got 47/],
  ['rank ≠ 4', () => { const { k, v } = good(); return hla.hla2({ data: f32(36), shape: [6, 2, 3] }, k, v); }, RangeError, /q\.shape: expected rank 4 \[B, T, heads, dim\], got rank 3 \[6, 2, 3\]/],
  ['non-integer dim', () => { const { k, v } = good(); return hla.hla2({ data: f32(36), shape: [1, 6, 2, 3.5] as never }, k, v); }, RangeError, /q\.shape\[3\]: expected an integer ≥ 1, got 3\.5/],
  ['q/k shape mismatch', () => { const { q, v } = good(); return hla.hla2(q, tensor([1, 6, 2, 4], 1), v); }, RangeError, /k\.shape: expected \[1, 6, 2, 3\] \(the shape of q\), got \[1, 6, 2, 4\]/],
  ['B mismatch q/v', () => { const { q, k } = good(); return hla.hla2(q, k, tensor([2, 6, 4, 2], 1)); }, RangeError, /v\.shape\[0\]: expected B = 1 \(the batch of q\), got 2/],
  ['T mismatch q/v', () => { const { q, k } = good(); return hla.hla2(q, k, tensor([1, 5, 4, 2], 1)); }, RangeError, /v\.shape\[1\]: expected T = 6 \(the length of q\), got 5/],
  ['HV not a multiple of H', () => { const { q, k } = good(); return hla.hla2(q, k, tensor([1, 6, 3, 2], 1)); }, RangeError, /v\.shape\[2\]: expected a multiple of H = 2 .*got 3/],
  ['decay > 1', () => { const { q, k, v } = good(); return hla.hla2(q, k, v, { decay: 1.5 }); }, RangeError, /decay: expected a number in \(0, 1\], got 1\.5/],
  ['decay 0', () => { const { q, k, v } = good(); return hla.la1(q, k, v, { decay: 0 }); }, RangeError, /decay: expected a number in \(0, 1\], got 0/],
  ['per-head decay of the wrong length', () => { const { q, k, v } = good(); return hla.hla2(q, k, v, { decay: [0.9, 0.9, 0.9] }); }, RangeError, /decay\.length: expected 1 or H = 2, got 3/],
  ['per-head decay out of range', () => { const { q, k, v } = good(); return hla.hla2(q, k, v, { decay: [0.9, -1] }); }, RangeError, /decay\[1\]: expected a number in \(0, 1\], got -1/],
  ['eps ≤ 0', () => { const { q, k, v } = good(); return hla.hla2(q, k, v, { eps: 0 }); }, RangeError, /eps: expected a finite number > 0, got 0/],
  ['scale NaN', () => { const { q, k, v } = good(); return hla.hla2(q, k, v, { scale: NaN }); }, RangeError, /scale: expected a finite number, got NaN/],
  ['scale a string', () => { const { q, k, v } = good(); return hla.hla2(q, k, v, { scale: '1' as never }); }, TypeError, /scale: expected a finite number, got "1"/],
  ['ridge Infinity', () => { const { q, k, v } = good(); return hla.hla2(q, k, v, { ridge: Infinity }); }, RangeError, /ridge: expected a finite number, got Infinity/],
  ['ridge on an operator without one', () => { const { q, k, v } = good(); return hla.hla3(q, k, v, { ridge: 0.1 }); }, RangeError, /ridge: expected 0 or absent \(hla3 has no ridge term; only hla2 does\), got 0\.1/],
  ['normalize not a boolean', () => { const { q, k, v } = good(); return hla.hla2(q, k, v, { normalize: 1 as never }); }, TypeError, /normalize: expected a boolean, got 1/],
  ['unknown option (typo)', () => { const { q, k, v } = good(); return hla.hla2(q, k, v, { normalise: true } as never); }, TypeError, /options\.normalise: unknown option; expected one of .*normalize/],
  ['mode unknown', () => { const { q, k, v } = good(); return hla.hla2(q, k, v, { mode: 'parallel' as never }); }, RangeError, /mode: expected 'chunk' or 'recurrent', got "parallel"/],
  ['chunkSize 0', () => { const { q, k, v } = good(); return hla.hla2(q, k, v, { chunkSize: 0 }); }, RangeError, /chunkSize: expected a positive integer, got 0/],
  ['chunkSize fractional', () => { const { q, k, v } = good(); return hla.ahla(q, k, v, { chunkSize: 2.5 }); }, RangeError, /chunkSize: expected a positive integer, got 2\.5/],
  ['cuSeqlens not increasing', () => { const { q, k, v } = good(); return hla.hla2(q, k, v, { cuSeqlens: new Int32Array([0, 4, 4, 6]) }); }, RangeError, /cuSeqlens\[2\]: expected an offset > 4 \(strictly increasing\), got 4/],
  ['cuSeqlens not starting at 0', () => { const { q, k, v } = good(); return hla.hla2(q, k, v, { cuSeqlens: new Int32Array([1, 6]) }); }, RangeError, /cuSeqlens\[0\]: expected 0, got 1/],
  ['cuSeqlens not ending at T', () => { const { q, k, v } = good(); return hla.hla2(q, k, v, { cuSeqlens: new Int32Array([0, 5]) }); }, RangeError, /cuSeqlens\[1\]: expected T = 6 .*got 5/],
  ['cuSeqlens with B > 1', () => { const { q, k, v } = qkv(2, 6, 2, 4, 3, 2, 1); return hla.hla2(q, k, v, { cuSeqlens: new Int32Array([0, 6]) }); }, RangeError, /cuSeqlens: expected batch size B = 1 .*got B = 2/],
  ['initialState from another shape', () => { const { q, k, v } = good(); const s = hla.hla2(tensor([1, 2, 2, 5], 1), tensor([1, 2, 2, 5], 2), tensor([1, 2, 4, 2], 3), { outputFinalState: true }).finalState; return hla.hla2(q, k, v, { initialState: s }); }, RangeError, /initialState: expected a hla2 state: 1 sequence\(s\), H=2, HV=4, dk=3, dv=2, got a hla2 state: 1 sequence\(s\), H=2, HV=4, dk=5, dv=2/],
  ['initialState from another operator', () => { const { q, k, v } = good(); const s = hla.hla3(q, k, v, { outputFinalState: true }).finalState; return hla.hla2(q, k, v, { initialState: s }); }, RangeError, /initialState: expected a hla2 state.*got a hla3 state/],
  ['initialState without ridge moments', () => { const { q, k, v } = good(); const s = hla.hla2(q, k, v, { outputFinalState: true }).finalState; return hla.hla2(q, k, v, { initialState: s, ridge: 0.5 }); }, RangeError, /initialState: expected a hla2 state.*with ridge, got/],
  ['initialState not a state', () => { const { q, k, v } = good(); return hla.hla2(q, k, v, { initialState: { data: f32(3) } as never }); }, TypeError, /initialState: expected a finalState returned by hla-wasm, got an object/],
];

describe('bad input', () => {
  it.each(cases)('%s', (_name, call, kind, message) => {
    const { q, k, v } = good();
    const before = hla.hla2(q, k, v, { decay: 0.9 }).o.data;
    const mem = hla.memoryBytes;
    let err: unknown;
    try {
      call();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(kind);
    expect((err as Error).message).toMatch(message);
    // The instance keeps working and gives the same result as before.
    expect(Array.from(hla.hla2(q, k, v, { decay: 0.9 }).o.data)).toEqual(Array.from(before));
    expect(hla.memoryBytes).toBe(mem);
  });

  it('1000 failing calls leak no wasm memory', () => {
    const { q, k, v } = good();
    hla.hla2(q, k, v);
    const mem = hla.memoryBytes;
    for (let i = 0; i < 1000; i++) expect(() => hla.hla2(q, k, v, { chunkSize: -1 })).toThrow(RangeError);
    expect(hla.memoryBytes).toBe(mem);
  });

  it('10 000 good calls do not grow wasm memory after warm-up', () => {
    const { q, k, v } = qkv(1, 64, 2, 2, 16, 16, 9);
    for (const mode of ['recurrent', 'chunk'] as const) hla.hla3(q, k, v, { mode, outputFinalState: true });
    const mem = hla.memoryBytes;
    for (let i = 0; i < 10_000; i++) hla.hla3(q, k, v, { mode: i % 2 ? 'chunk' : 'recurrent', outputFinalState: true });
    expect(hla.memoryBytes).toBe(mem);
  });

  it('a Rust panic becomes a readable Error (never `unreachable`) and the instance keeps working', () => {
    const { q, k, v } = good();
    const before = Array.from(hla.la1(q, k, v).o.data);
    expect(() => (hla as unknown as { _panicForTests(): void })._panicForTests()).toThrow(/hla-wasm internal error in the \w+ kernel: .*deliberate panic/);
    expect(Array.from(hla.la1(q, k, v).o.data)).toEqual(before);
  });

  it('init rejects unknown options and backends', async () => {
    await expect(init({ backend: 'avx512' as never })).rejects.toThrow(/backend: expected one of relaxed, simd128, scalar, got "avx512"/);
    await expect(init({ threads: 0 })).rejects.toThrow(/threads: expected an integer from 1 to 64 or 'auto', got 0/);
    await expect(init({ threads: 'many' as never })).rejects.toThrow(/threads: expected an integer from 1 to 64 or 'auto', got "?many/);
    await expect(init({ thread: 2 } as never)).rejects.toThrow(/init options\.thread: unknown option/);
  });
});
