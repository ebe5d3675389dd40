// Sessions: step ≡ functional forward, prefill + steps ≡ one forward, snapshots restore
// anywhere, views survive memory growth, nothing leaks, bad input changes nothing.
import { beforeAll, describe, expect, it } from 'vitest';
import { init, type Hla, type OpName, type Session, type Tensor, HLA_OPS } from '../dist/index.mjs';
import { allBackends, qkv, relErr, sliceT, TOL } from './helpers.js';

let backends: Hla[] = [];
let hla: Hla;
beforeAll(async () => {
  backends = await allBackends();
  hla = backends[0];
});


/** Token t of a [B, T, H, D] tensor as a [B·H·D] row. */
function token(x: Tensor, t: number): Float32Array {
  const [B, T, H, D] = x.shape;
  const out = new Float32Array(B * H * D);
  for (let b = 0; b < B; b++) out.set(x.data.subarray((b * T + t) * H * D, (b * T + t + 1) * H * D), b * H * D);
  return out;
}

/** Steps every token; returns outputs as a [B, T, HV, dv] array. */
function stepAll(s: Session, q: Tensor, k: Tensor, v: Tensor, t0 = 0, inPlace = false): Float32Array {
  const [B, T] = q.shape;
  const w = s.valueHeads * s.dv;
  const out = new Float32Array(B * (T - t0) * w);
  for (let t = t0; t < T; t++) {
    let o: Float32Array;
    if (inPlace) {
      s.inputs.q.set(token(q, t));
      s.inputs.k.set(token(k, t));
      s.inputs.v.set(token(v, t));
      o = s.stepInPlace();
    } else {
      o = s.step(token(q, t), token(k, t), token(v, t));
    }
    for (let b = 0; b < B; b++) out.set(o.subarray(b * w, (b + 1) * w), (b * (T - t0) + t - t0) * w);
  }
  return out;
}

describe.each(HLA_OPS)('%s session', (op) => {
  for (const [decay, normalize] of [[1, false], [0.9, true]] as const) {
    it(`step over T tokens ≡ functional forward (B=2, GQA, decay=${decay}, normalize=${normalize})`, () => {
      const { q, k, v } = qkv(2, 20, 2, 4, 5, 3, 41, normalize);
      const opts = { decay, normalize, ...(op === 'hla2' ? { ridge: 0.1 } : {}) };
      for (const h of backends) {
        const ref = h[op](q, k, v, { ...opts, mode: 'recurrent' }).o.data;
        for (const inPlace of [false, true]) {
          const s = h.session(op, { batch: 2, heads: 2, valueHeads: 4, dk: 5, dv: 3, ...opts });
          expect(relErr(stepAll(s, q, k, v, 0, inPlace), Float64Array.from(ref)), `${h.backend} inPlace=${inPlace}`).toBeLessThanOrEqual(TOL);
          expect(s.position).toBe(20);
          s.free();
        }
      }
    });
  }

  it('prefill then steps ≡ one forward', () => {
    const { q, k, v } = qkv(2, 30, 2, 2, 6, 4, 42, true);
    const opts = { decay: 0.95, normalize: true };
    const ref = hla[op](q, k, v, opts).o.data;
    for (const chunkSize of [1, 7, 64]) {
      const s = hla.session(op, { batch: 2, heads: 2, dk: 6, dv: 4, ...opts });
      const p = s.prefill(sliceT(q, 0, 17), sliceT(k, 0, 17), sliceT(v, 0, 17), { chunkSize });
      expect(p.shape).toEqual([2, 17, 2, 4]);
      expect(s.position).toBe(17);
      const rest = stepAll(s, q, k, v, 17);
      const w = 2 * 4;
      const joined = new Float32Array(2 * 30 * w);
      for (let b = 0; b < 2; b++) {
        joined.set(p.data.subarray(b * 17 * w, (b + 1) * 17 * w), b * 30 * w);
        joined.set(rest.subarray(b * 13 * w, (b + 1) * 13 * w), (b * 30 + 17) * w);
      }
      expect(relErr(joined, Float64Array.from(ref))).toBeLessThanOrEqual(TOL);
      s.free();
    }
  });

  it('snapshot at every position, restore, continue ≡ uninterrupted', () => {
    const T = 9;
    const { q, k, v } = qkv(1, T, 2, 2, 4, 3, 43);
    const whole = hla.session(op, { heads: 2, dk: 4, dv: 3, decay: 0.9 });
    const ref = stepAll(whole, q, k, v);
    whole.free();
    for (let pos = 0; pos <= T; pos++) {
      const s = hla.session(op, { heads: 2, dk: 4, dv: 3, decay: 0.9 });
      for (let t = 0; t < pos; t++) s.step(token(q, t), token(k, t), token(v, t));
      const bytes = s.snapshot();
      s.free();
      const r = hla.restore(bytes, { op });
      expect(r.position).toBe(pos);
      const rest = stepAll(r, q, k, v, pos);
      expect(relErr(rest, Float64Array.from(ref.subarray(pos * 6)))).toBeLessThanOrEqual(TOL);
      r.free();
    }
  });
});

describe('session portability and memory', () => {
  it('restores in a second init() instance and in every other backend', async () => {
    const { q, k, v } = qkv(1, 12, 2, 2, 8, 8, 44);
    const a = hla.session('hla3', { heads: 2, dk: 8, dv: 8, decay: 0.97 });
    const ref = stepAll(a, q, k, v);
    a.reset();
    stepAll(a, sliceT(q, 0, 5), sliceT(k, 0, 5), sliceT(v, 0, 5));
    const bytes = a.snapshot();
    a.free();
    const others = [await init(), ...backends.slice(1)];
    for (const other of others) {
      const r = other.restore(bytes);
      expect(r.op).toBe('hla3');
      expect(relErr(stepAll(r, q, k, v, 5), Float64Array.from(ref.subarray(5 * 16))), other.backend).toBeLessThanOrEqual(TOL);
      r.free();
    }
  });

  it('views stay valid across wasm memory growth', () => {
    const s = hla.session('hla2', { heads: 2, dk: 16, dv: 16, decay: 0.9 });
    const twin = hla.session('hla2', { heads: 2, dk: 16, dv: 16, decay: 0.9 });
    const { q, k, v } = qkv(1, 6, 2, 2, 16, 16, 45);
    const oldQ = s.inputs.q;
    for (let t = 0; t < 6; t++) {
      const before = hla.memoryBytes;
      // A large functional call allocates and grows wasm memory between steps.
      const big = qkv(1, 4096 * (t + 1), 2, 2, 16, 16, t);
      hla.la1(big.q, big.k, big.v);
      if (t === 0) expect(hla.memoryBytes).toBeGreaterThan(before);
      s.inputs.q.set(token(q, t));
      s.inputs.k.set(token(k, t));
      s.inputs.v.set(token(v, t));
      const o = s.stepInPlace();
      expect(o.length).toBe(32);
      const want = twin.step(token(q, t), token(k, t), token(v, t));
      expect(Array.from(o)).toEqual(Array.from(want));
      expect(Array.from(s.output)).toEqual(Array.from(want));
    }
    expect(oldQ.length).toBe(0); // the first view was detached by growth; s.inputs re-derived
    s.free();
    twin.free();
  });

  it('10 000 create/free cycles do not grow wasm memory', () => {
    hla.session('hla3', { heads: 8, dk: 64, dv: 64 }).free();
    const mem = hla.memoryBytes;
    for (let i = 0; i < 10_000; i++) {
      const s = hla.session('hla3', { heads: 8, dk: 64, dv: 64 });
      s.free();
    }
    expect(hla.memoryBytes).toBe(mem);
  });

  it('100 000 steps: wasm memory constant, JS heap stable for stepInPlace', () => {
    const s = hla.session('hla2', { heads: 2, dk: 8, dv: 8, decay: 0.99 });
    s.inputs.q.fill(0.1);
    s.inputs.k.fill(0.2);
    s.inputs.v.fill(0.3);
    for (let i = 0; i < 1000; i++) s.stepInPlace();
    const mem = hla.memoryBytes;
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const heap = process.memoryUsage().heapUsed;
    for (let i = 0; i < 100_000; i++) s.stepInPlace();
    gc?.();
    expect(hla.memoryBytes).toBe(mem);
    expect(process.memoryUsage().heapUsed - heap).toBeLessThan(1 << 20);
    expect(s.position).toBe(101_000);
    s.free();
  });

  it('`using` frees the session at the end of the scope', () => {
    let s: Session;
    {
      using scoped = hla.session('la1', { heads: 1, dk: 2, dv: 2 });
      s = scoped;
      expect(s.freed).toBe(false);
    }
    expect(s.freed).toBe(true);
  });
});

describe('session bad input', () => {
  const mk = () => hla.session('hla2', { batch: 1, heads: 2, dk: 3, dv: 2, decay: 0.9 });
  const q = new Float32Array(6).fill(0.3), k = new Float32Array(6).fill(0.2), v = new Float32Array(4).fill(1);

  it('a failing step between two good steps does not change the outputs', () => {
    const a = mk(), b = mk();
    a.step(q, k, v);
    b.step(q, k, v);
    expect(() => a.step(q, k, new Float32Array(5))).toThrow(/v\.length: expected 4 \[B=1, HV=2, dv=2\], got 5/);
    expect(() => a.step(q, Array.from(k) as never, v)).toThrow(TypeError);
    expect(() => a.step(q, k, v.subarray(0, 3))).toThrow(RangeError);
    expect(a.position).toBe(1);
    expect(Array.from(a.step(q, k, v))).toEqual(Array.from(b.step(q, k, v)));
    a.free();
    b.free();
  });

  it('use after free is an Error; double free is a no-op', () => {
    const s = mk();
    s.free();
    s.free();
    for (const f of [() => s.step(q, k, v), () => s.stepInPlace(), () => s.snapshot(), () => s.position, () => s.inputs,
      () => s.prefill({ data: new Float32Array(6), shape: [1, 1, 2, 3] }, { data: new Float32Array(6), shape: [1, 1, 2, 3] }, { data: new Float32Array(4), shape: [1, 1, 2, 2] })]) {
      expect(f).toThrow(/session \(hla2\): used after free\(\)/);
    }
  });

  it('bad session options', () => {
    expect(() => hla.session('hla2', { heads: 2, valueHeads: 3, dk: 4, dv: 4 })).toThrow(/valueHeads: expected a multiple of heads = 2, got 3/);
    expect(() => hla.session('hla2', { heads: 0, dk: 4, dv: 4 })).toThrow(/heads: expected a positive integer, got 0/);
    expect(() => hla.session('hla4' as never, { heads: 1, dk: 4, dv: 4 })).toThrow(/op: expected one of la1, hla2, ahla, hla3, got "hla4"/);
    expect(() => hla.session('la1', { heads: 1, dk: 4, dv: 4, ridge: 1 })).toThrow(/ridge: expected 0 or absent/);
    expect(() => hla.session('la1', { heads: 1, dk: 4, dv: 4, decay: 2 })).toThrow(/decay: expected a number in \(0, 1\], got 2/);
    expect(() => hla.session('la1', { heads: 1, dk: 4, dv: 4, head_dim: 3 } as never)).toThrow(/session options\.head_dim: unknown option/);
  });

  it('prefill with the wrong shape', () => {
    const s = mk();
    const t = (shape: number[]) => ({ data: new Float32Array(shape.reduce((a, b) => a * b)), shape });
    expect(() => s.prefill(t([1, 4, 2, 4]), t([1, 4, 2, 4]), t([1, 4, 2, 2]))).toThrow(/q\.shape: expected \[1, T, 2, 3\] \(the session's batch, heads, dim\), got \[1, 4, 2, 4\]/);
    expect(s.position).toBe(0);
    s.free();
  });

  it('corrupt, foreign, newer or mismatched snapshots restore nothing', () => {
    const s = mk();
    s.step(q, k, v);
    const good = s.snapshot();
    s.free();
    hla.restore(good).free();
    const mem = hla.memoryBytes;
    const flip = good.slice();
    flip[100] ^= 0x10;
    const foreign = good.slice();
    foreign.set([0x50, 0x4b, 0x03, 0x04], 0);
    const newer = good.slice();
    newer[4] = 3;
    const cases: [Uint8Array | unknown, RegExp][] = [
      [good.subarray(0, good.length - 9), /snapshot: expected \d+ bytes \(as its header says\), got \d+ bytes \(truncated or padded\)/],
      [good.subarray(0, 20), /snapshot: expected at least 56 bytes \(truncated\?\), got 20 bytes/],
      [flip, /snapshot: expected checksum [0-9a-f]{8}, got [0-9a-f]{8} \(the bytes are corrupted\)/],
      [foreign, /snapshot: expected magic 'HLAS'.*got bytes 50 4b 03 04/],
      [newer, /snapshot: expected format version ≤ 2 \(upgrade hla-wasm to read newer snapshots\), got version 3/],
      [Array.from(good), /snapshot: expected a Uint8Array/],
    ];
    for (const [bytes, msg] of cases) expect(() => hla.restore(bytes as Uint8Array)).toThrow(msg);
    expect(() => hla.restore(good, { op: 'hla3' })).toThrow(/snapshot: expected a hla3 session \(as asked\), got a hla2 session/);
    expect(hla.memoryBytes).toBe(mem);
  });
});
