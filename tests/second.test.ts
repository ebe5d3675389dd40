// sse and rla through the facade on every backend, against the float64 token loops of
// tests/reference/second.ts: recurrent and chunk sizes 1, 3, T+5; N ∈ {2, 4, 8}, topK ∈
// {1, 2, N} with forced router ties; both residual readings, clip active and inactive; GQA,
// B > 1, cuSeqlens; continuation ≡ one run; bad input → TypeError / RangeError naming the
// argument, nothing returned.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hla, Tensor } from '../dist/index.mjs';
import { rlaReference, sseReference } from './reference/second.js';
import { allBackends, relErr, tensor } from './helpers.js';

const TOL = 2e-4;
let backends: Hla[] = [];
beforeAll(async () => {
  backends = await allBackends();
});
afterAll(() => backends.forEach((h) => h.close()));

function gates(shape: number[], seed: number, strength = 0.3 * Math.log(1e-4)): Tensor {
  const t = tensor(shape, seed, true);
  for (let i = 0; i < t.data.length; i++) t.data[i] = strength * t.data[i];
  return t;
}

function rates(shape: number[], seed: number): Tensor {
  const t = tensor(shape, seed, true);
  for (let i = 0; i < t.data.length; i++) t.data[i] = 0.05 + 0.9 * t.data[i];
  return t;
}

/** Router logits: every third token ties all partitions, every fifth ties 1 and N−1 at the top. */
function router(B: number, T: number, N: number, seed: number): Tensor {
  const t = tensor([B, T, N], seed);
  for (let r = 0; r < B * T; r++) {
    const row = t.data.subarray(r * N, (r + 1) * N);
    for (let i = 0; i < N; i++) row[i] *= 2;
    if (r % 3 === 0) row.fill(0);
    else if (r % 5 === 1) {
      row.fill(-1);
      row[1] = 3;
      row[N - 1] = 3;
    }
  }
  return t;
}

function sseInputs(base: 'gla' | 'deltaRule', B: number, T: number, H: number, HV: number, dk: number, dv: number, N: number, seed: number) {
  const qk = [B, T, H, dk];
  const small = (t: Tensor) => {
    if (base === 'deltaRule') for (let i = 0; i < t.data.length; i++) t.data[i] /= Math.sqrt(dk);
    return t;
  };
  const x: Record<string, Tensor> = {
    q1: tensor(qk, seed), k1: small(tensor(qk, seed + 1)), q2: tensor(qk, seed + 2), k2: small(tensor(qk, seed + 3)),
    v: tensor([B, T, HV, dv], seed + 4), router: router(B, T, N, seed + 5),
  };
  if (base === 'gla') Object.assign(x, { gk1: gates(qk, seed + 6), gk2: gates(qk, seed + 7) });
  else Object.assign(x, { g1: gates([B, T, HV], seed + 6), g2: gates([B, T, HV], seed + 7), beta1: rates([B, T, HV], seed + 8), beta2: rates([B, T, HV], seed + 9) });
  return x;
}

const MODES = (T: number) => [{ mode: 'recurrent' as const }, ...[1, 3, T + 5].map((chunkSize) => ({ mode: 'chunk' as const, chunkSize }))];

describe('sse', () => {
  for (const base of ['gla', 'deltaRule'] as const) {
    for (const N of [2, 4, 8]) {
      it(`${base}, N = ${N}, topK ∈ {1, 2, N}, every form and backend, ties, GQA, B = 2, initial state`, () => {
        const [B, T, H, HV, dk, dv] = [2, 13, 2, 4, 8, 5];
        const x = sseInputs(base, B, T, H, HV, dk, dv, N, 10 * N);
        for (const topK of [...new Set([1, 2, N])]) {
          // The state after one pass is the initial state of the next (a nonzero one).
          const first = backends[0].sse(x as never, { base, topK, outputFinalState: true });
          const ref0 = sseReference(x, { base, topK });
          expect(relErr(first.o.data, ref0.o)).toBeLessThan(TOL);
          expect(relErr(first.finalState!.toFloat32Array(), ref0.state)).toBeLessThan(TOL);
          const ref = sseReference(x, { base, topK, initialState: first.finalState!.toFloat32Array() });
          for (const h of backends) {
            for (const m of MODES(T)) {
              const r = h.sse(x as never, { base, topK, ...m, outputFinalState: true, initialState: first.finalState });
              expect(relErr(r.o.data, ref.o), `${h.backend} ${JSON.stringify(m)} topK ${topK}`).toBeLessThan(TOL);
              expect(relErr(r.finalState!.toFloat32Array(), ref.state)).toBeLessThan(TOL);
            }
          }
        }
      });
    }
  }

  it('weights off, qkL2norm on gla, cuSeqlens, run ≡ the functional call', async () => {
    const x = sseInputs('gla', 1, 20, 1, 2, 6, 4, 4, 3);
    const opts = { base: 'gla' as const, topK: 2, weightQuery: false, qkL2norm: true, scale: 0.7, cuSeqlens: [0, 5, 6, 20] };
    const ref = sseReference(x, opts);
    for (const h of backends) {
      expect(relErr(h.sse(x as never, { ...opts, mode: 'chunk', chunkSize: 4 }).o.data, ref.o)).toBeLessThan(TOL);
      expect(relErr((await h.run('sse', x as never, opts)).o.data, ref.o)).toBeLessThan(TOL);
    }
  });

  it('continuation (finalState → initialState) ≡ one run', () => {
    const x = sseInputs('deltaRule', 1, 16, 1, 1, 8, 8, 4, 9);
    const cut = (t0: number, t1: number) =>
      Object.fromEntries(Object.entries(x).map(([n, t]) => {
        const w = t.data.length / 16;
        return [n, { data: t.data.slice(t0 * w, t1 * w), shape: [1, t1 - t0, ...t.shape.slice(2)] }];
      }));
    const h = backends[0];
    const whole = h.sse(x as never, { base: 'deltaRule', topK: 2, outputFinalState: true });
    const a = h.sse(cut(0, 7) as never, { base: 'deltaRule', topK: 2, outputFinalState: true });
    const b = h.sse(cut(7, 16) as never, { base: 'deltaRule', topK: 2, mode: 'chunk', initialState: a.finalState, outputFinalState: true });
    expect(relErr([...a.o.data, ...b.o.data], whole.o.data)).toBeLessThan(1e-5);
    expect(relErr(b.finalState!.toFloat32Array(), whole.finalState!.toFloat32Array())).toBeLessThan(1e-5);
  });

  it('bad input names the argument', () => {
    const h = backends[0];
    const x = sseInputs('gla', 1, 5, 1, 1, 4, 4, 4, 1);
    expect(() => h.sse(x as never, { base: 'gla', topK: 0 })).toThrow(RangeError);
    expect(() => h.sse(x as never, { base: 'gla', topK: 5 })).toThrow(/topK/);
    expect(() => h.sse({ ...x, router: { data: new Float32Array(20), shape: [1, 5, 4, 1] } } as never, { base: 'gla', topK: 1 })).toThrow(/router\.shape/);
    expect(() => h.sse({ ...x, router: { data: new Float32Array(20), shape: [1, 4, 5] } } as never, { base: 'gla', topK: 1 })).toThrow(/router\.shape/);
    expect(() => h.sse({ ...x, beta1: x.v } as never, { base: 'gla', topK: 1 })).toThrow(/inputs\.beta1/);
    expect(() => h.sse(x as never, { base: 'deltaRule', topK: 1 } as never)).toThrow(/inputs\.(gk1|beta1)/);
    expect(() => h.sse(x as never, { base: 'mamba', topK: 1 } as never)).toThrow(/base/);
    const bad = { ...x, gk2: { data: x.gk2.data.map((a) => -a + 0.5), shape: x.gk2.shape } };
    expect(() => h.sse(bad as never, { base: 'gla', topK: 1 })).toThrow(/gk2/);
  });
});

describe('rla', () => {
  for (const base of ['la', 'deltaRule'] as const) {
    for (const residual of ['undecayed', 'decayed'] as const) {
      it(`${base}, ${residual}, clip active and inactive, every form and backend, GQA, B = 2`, () => {
        const [B, T, H, HV, dk, dv] = [2, 14, 2, 4, 8, 5];
        const q = tensor([B, T, H, dk], 1), k = tensor([B, T, H, dk], 2), v = tensor([B, T, HV, dv], 3);
        for (let i = 0; i < k.data.length; i++) k.data[i] /= Math.sqrt(dk);
        const g = gates([B, T, HV], 4, Math.log(1e-4)), beta = rates([B, T, HV], 5), correction = rates([B, T, HV], 6);
        for (const clip of [0.2, 1e6]) {
          const opts = { base, residual, clip, g, beta, correction };
          const ref = rlaReference(q, k, v, opts);
          if (clip < 1) expect(ref.clipped).toBeGreaterThan(10);
          else expect(ref.clipped).toBe(0);
          for (const h of backends) {
            for (const m of MODES(T)) {
              const r = h.rla(q, k, v, { ...opts, ...m, outputFinalState: true });
              expect(relErr(r.o.data, ref.o), `${h.backend} ${JSON.stringify(m)} clip ${clip}`).toBeLessThan(TOL);
              expect(relErr(r.finalState!.toFloat32Array(), ref.state)).toBeLessThan(TOL);
            }
          }
        }
      });
    }
  }

  // The chunk form's pass 1 returns both reads of S strictly before each token (k̂'s for the
  // residual, q̂'s for the output) in one sweep: a read that saw its own token, or the wrong side
  // of a chunk boundary, changes the clipped residual there and every output after it.
  for (const base of ['la', 'deltaRule'] as const) {
    for (const residual of ['undecayed', 'decayed'] as const) {
      it(`${base}, ${residual}: pass 1's reads are strictly causal at chunk boundaries (chunk 1, 3, 16, T + 5; initial state; clip active; a reset gate at a boundary)`, () => {
        const [B, T, H, HV, dk, dv] = [1, 37, 1, 2, 8, 6];
        const q = tensor([B, T, H, dk], 31), k = tensor([B, T, H, dk], 32), v = tensor([B, T, HV, dv], 33);
        for (let i = 0; i < k.data.length; i++) k.data[i] /= Math.sqrt(dk);
        const g = gates([B, T, HV], 34, Math.log(1e-2)), beta = rates([B, T, HV], 35), correction = rates([B, T, HV], 36);
        // Value head 0 forgets everything at the first token of the second chunk of 16.
        g.data[16 * HV] = -Infinity;
        const opts = { base, residual, clip: 0.25, g, beta, correction };
        const h0 = backends[0];
        const init = h0.rla(q, k, v, { ...opts, outputFinalState: true }).finalState!;
        const ref = rlaReference(q, k, v, { ...opts, initialState: init.toFloat32Array() });
        expect(ref.clipped).toBeGreaterThan(20);
        for (const h of backends) {
          for (const chunkSize of [1, 3, 16, T + 5]) {
            const r = h.rla(q, k, v, { ...opts, mode: 'chunk', chunkSize, initialState: init, outputFinalState: true });
            expect(relErr(r.o.data, ref.o), `${h.backend} chunk ${chunkSize}`).toBeLessThan(TOL);
            expect(relErr(r.finalState!.toFloat32Array(), ref.state), `${h.backend} chunk ${chunkSize} state`).toBeLessThan(TOL);
          }
        }
      });
    }
  }

  it('cuSeqlens, g and beta absent, qkL2norm, continuation, run', async () => {
    const [T, H, HV, dk, dv] = [18, 1, 2, 6, 4];
    const q = tensor([1, T, H, dk], 7), k = tensor([1, T, H, dk], 8), v = tensor([1, T, HV, dv], 9);
    const correction = rates([1, T, HV], 10);
    const opts = { base: 'deltaRule' as const, correction, qkL2norm: true, cuSeqlens: [0, 4, 5, 18], clip: 0.5 };
    const ref = rlaReference(q, k, v, opts);
    for (const h of backends) {
      expect(relErr(h.rla(q, k, v, { ...opts, mode: 'chunk', chunkSize: 3 }).o.data, ref.o)).toBeLessThan(TOL);
      expect(relErr((await h.run('rla', q, k, v, opts)).o.data, ref.o)).toBeLessThan(TOL);
    }
    const h = backends[0];
    const cut = (x: Tensor, t0: number, t1: number) => ({ data: x.data.slice((x.data.length / T) * t0, (x.data.length / T) * t1), shape: [1, t1 - t0, ...x.shape.slice(2)] });
    const o2 = { base: 'la' as const, g: gates([1, T, HV], 11) };
    const whole = h.rla(q, k, v, { ...o2, correction, outputFinalState: true });
    const a = h.rla(cut(q, 0, 9), cut(k, 0, 9), cut(v, 0, 9), { base: 'la', g: cut(o2.g, 0, 9), correction: cut(correction, 0, 9), outputFinalState: true });
    const b = h.rla(cut(q, 9, T), cut(k, 9, T), cut(v, 9, T), { base: 'la', g: cut(o2.g, 9, T), correction: cut(correction, 9, T), initialState: a.finalState, mode: 'chunk' });
    expect(relErr([...a.o.data, ...b.o.data], whole.o.data)).toBeLessThan(1e-5);
  });

  it('bad input names the argument', () => {
    const h = backends[0];
    const q = tensor([1, 4, 1, 4], 1), k = tensor([1, 4, 1, 4], 2), v = tensor([1, 4, 1, 4], 3);
    const correction = rates([1, 4, 1], 4);
    expect(() => h.rla(q, k, v, { correction, clip: 0 })).toThrow(/clip/);
    expect(() => h.rla(q, k, v, { correction, clip: -1 })).toThrow(RangeError);
    expect(() => h.rla(q, k, v, { correction, clip: NaN })).toThrow(/clip/);
    expect(() => h.rla(q, k, v, { correction, base: 'gla' } as never)).toThrow(/base/);
    expect(() => h.rla(q, k, v, { correction, residual: 'both' } as never)).toThrow(/residual/);
    expect(() => h.rla(q, k, v, {} as never)).toThrow(/correction/);
    expect(() => h.rla(q, k, v, { correction, g: { data: new Float32Array(4).fill(0.5), shape: [1, 4, 1] } })).toThrow(/g\.data/);
  });
});

describe('sessions', () => {
  const tok = (x: Tensor, t: number, T: number) => x.data.subarray((x.data.length / T) * t, (x.data.length / T) * (t + 1));
  const cutT = (x: Tensor, t0: number, t1: number, T: number): Tensor => ({ data: x.data.slice((x.data.length / T) * t0, (x.data.length / T) * t1), shape: [x.shape[0], t1 - t0, ...x.shape.slice(2)] });

  for (const base of ['gla', 'deltaRule'] as const) {
    it(`sse over ${base}: step / stepInPlace / prefill ≡ the functional call at every position, on every backend`, () => {
      const [B, T, H, HV, dk, dv, N] = [2, 9, 2, 4, 8, 4, 4];
      const x = sseInputs(base, B, T, H, HV, dk, dv, N, 31);
      const opts = { base, topK: 2 };
      for (const h of backends) {
        const want = h.sse(x as never, opts).o.data;
        const s = h.session('sse', { batch: B, heads: H, valueHeads: HV, dk, dv, partitions: N, ...opts });
        const per = B * HV * dv;
        // Tokens are [B, 1, …] per step: batch rows interleave.
        const rowOf = (t: Tensor, b: number, tt: number) => { const w = t.data.length / (B * T); return t.data.subarray((b * T + tt) * w, (b * T + tt + 1) * w); };
        const stepTok = (tt: number) => Object.fromEntries(Object.entries(x).map(([n, t]) => {
          const w = t.data.length / (B * T);
          const out = new Float32Array(B * w);
          for (let b = 0; b < B; b++) out.set(rowOf(t, b, tt), b * w);
          return [n, out];
        }));
        for (let t = 0; t < T; t++) {
          let o: Float32Array;
          if (t % 2 === 0) o = s.step(stepTok(t));
          else {
            for (const [n, arr] of Object.entries(stepTok(t))) s.inputs[n].set(arr);
            o = s.stepInPlace();
          }
          for (let b = 0; b < B; b++) {
            const got = o.subarray(b * (per / B), (b + 1) * (per / B));
            const ref = want.subarray((b * T + t) * (per / B), (b * T + t + 1) * (per / B));
            expect(relErr(got, ref), `${h.backend} t ${t}`).toBeLessThan(1e-5);
          }
        }
        expect(s.position).toBe(T);
        s.reset();
        const cut = (t0: number, t1: number) => Object.fromEntries(Object.entries(x).map(([n, t]) => [n, {
          data: Float32Array.from({ length: B * (t1 - t0) * (t.data.length / (B * T)) }, (_, i) => {
            const w = t.data.length / (B * T), b = Math.floor(i / ((t1 - t0) * w)), r = i % ((t1 - t0) * w);
            return t.data[(b * T + t0) * w + r];
          }), shape: [B, t1 - t0, ...t.shape.slice(2)] }]));
        const a = s.prefill(cut(0, 4), { mode: 'chunk', chunkSize: 3 });
        const c = s.prefill(cut(4, T));
        const whole = h.sse(x as never, { ...opts, outputFinalState: true });
        expect(relErr(s.stateFloats(), whole.finalState!.toFloat32Array())).toBeLessThan(1e-5);
        expect(a.shape).toEqual([B, 4, HV, dv]);
        expect(c.shape).toEqual([B, T - 4, HV, dv]);
        s.free();
        expect(s.freed).toBe(true);
      }
    });
  }

  it('rla: step ≡ the functional call, beta defaults to 1 in the views, prefill continues', () => {
    const [T, H, HV, dk, dv] = [10, 1, 2, 6, 4];
    const q = tensor([1, T, H, dk], 41), k = tensor([1, T, H, dk], 42), v = tensor([1, T, HV, dv], 43);
    const g = gates([1, T, HV], 44), correction = rates([1, T, HV], 45);
    for (const base of ['la', 'deltaRule'] as const) {
      for (const h of backends) {
        const want = h.rla(q, k, v, { base, g, correction, clip: 0.3, residual: 'decayed', outputFinalState: true });
        const s = h.session('rla', { heads: H, valueHeads: HV, dk, dv, base, clip: 0.3, residual: 'decayed' });
        expect([...s.inputs.beta]).toEqual([1, 1]);
        for (let t = 0; t < T; t++) {
          const o = s.step({ q: tok(q, t, T), k: tok(k, t, T), v: tok(v, t, T), g: tok(g, t, T), correction: tok(correction, t, T) });
          expect(relErr(o, tok(want.o, t, T)), `${h.backend} ${base} t ${t}`).toBeLessThan(1e-5);
        }
        expect(relErr(s.stateFloats(), want.finalState!.toFloat32Array())).toBeLessThan(1e-5);
        s.reset();
        s.prefill(cutT(q, 0, 6, T), cutT(k, 0, 6, T), cutT(v, 0, 6, T), { g: cutT(g, 0, 6, T), correction: cutT(correction, 0, 6, T), mode: 'chunk', chunkSize: 4 });
        const rest = s.prefill(cutT(q, 6, T, T), cutT(k, 6, T, T), cutT(v, 6, T, T), { g: cutT(g, 6, T, T), correction: cutT(correction, 6, T, T) });
        expect(relErr(rest.data, want.o.data.subarray(6 * HV * dv))).toBeLessThan(1e-5);
        s.free();
      }
    }
  });

  it('bad session options name the argument', () => {
    const h = backends[0];
    const dims = { heads: 1, dk: 4, dv: 4 };
    expect(() => h.session('sse', { ...dims, base: 'gla', partitions: 4, topK: 0 })).toThrow(/topK/);
    expect(() => h.session('sse', { ...dims, base: 'gla', partitions: 4, topK: 5 })).toThrow(RangeError);
    expect(() => h.session('sse', { ...dims, base: 'mamba' as never, partitions: 4 })).toThrow(/base/);
    expect(() => h.session('sse', { ...dims, base: 'gla' })).toThrow(/partitions/);
    expect(() => h.session('rla', { ...dims, clip: 0 })).toThrow(/clip/);
    expect(() => h.session('rla', { ...dims, residual: 'x' as never })).toThrow(/residual/);
    const s = h.session('rla', dims);
    s.inputs.g.fill(0.5);
    expect(() => s.stepInPlace()).toThrow(/g/);
    expect(s.position).toBe(0);
    s.free();
  });
});
