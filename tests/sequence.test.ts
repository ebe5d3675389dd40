// init({ threads }) on one long sequence: hla.run cuts T into segments (ts/sequence.ts), the
// workers compute segment summaries, fold carries and run the segments; the result equals the
// single-threaded call within 1e-4 (relative) for every operator and option, on every backend.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init, type Backend, type Hla, type OpName, HLA_OPS } from '../target/testing/dist/index.mjs';
import { KEY_COST, MIN_GAIN, planSegments, SETTLE_COST, SPLIT_MIN_T, SUMMARY_COST } from '../ts/sequence.ts';
import { checkForward } from '../ts/validate.ts';
import { allBackends, qkv, relErr, TOL } from './helpers.js';

// The internal threshold knob (not a public option): split sequences from 256 tokens on.
const KNOB = Symbol.for('hla-wasm.splitMinT');
const MIN_T = 256;
(globalThis as Record<symbol, unknown>)[KNOB] = MIN_T;

const backends = await allBackends(init);
const pools = new Map<string, Hla>();
beforeAll(async () => {
  for (const b of backends) {
    for (const threads of [2, 3]) pools.set(`${b.backend}/${threads}`, await init({ backend: b.backend as Backend, threads }));
  }
});
afterAll(() => {
  for (const p of pools.values()) p.close();
  delete (globalThis as Record<symbol, unknown>)[KNOB];
});

describe('planSegments', () => {
  it('splits one long sequence with fewer groups than workers, balanced by the summary cost', () => {
    const { q, k, v } = qkv(1, 1000, 1, 1, 4, 4, 5);
    for (const op of HLA_OPS) {
      for (const normalize of [false, true]) {
        const { bounds: b, deferred } = planSegments(op, checkForward(op, q, k, v, { normalize }), 2)!;
        expect(deferred).toBe(op === 'hla2' && !normalize);
        expect(b[0]).toBe(0);
        expect(b[2]).toBe(1000);
        // Full summaries: L1 = L0 (1 − r), worker 1 summarises segment 0 first. Deferred:
        // L0 (1 − r_S) = L1 (1 + r_F), the others wait for segment 0's key summary and settle.
        const r = Math.min(SUMMARY_COST[op], 0.5); // the knob clamps r
        if (deferred) expect(Math.abs((b[2] - b[1]) * (1 + SETTLE_COST) - b[1] * (1 - KEY_COST))).toBeLessThanOrEqual(2);
        else expect(Math.abs((b[2] - b[1]) - b[1] * (1 - r))).toBeLessThanOrEqual(1);
        expect(planSegments(op, checkForward(op, q, k, v, { normalize }), 3)!.bounds.length).toBe(4);
      }
    }
    const c = checkForward('hla2', q, k, v, {});
    expect(planSegments('hla2', c, 1)).toBeNull();
    expect(planSegments('hla2', checkForward('hla2', q, k, v, { cuSeqlens: [0, 500, 1000] }), 2)).toBeNull();
    const short = qkv(1, MIN_T - 1, 1, 1, 4, 4, 5);
    expect(planSegments('hla2', checkForward('hla2', short.q, short.k, short.v, {}), 2)).toBeNull();
    const two = qkv(2, 1000, 1, 1, 4, 4, 5);
    expect(planSegments('la1', checkForward('la1', two.q, two.k, two.v, {}), 2)).toBeNull();
    const heads = qkv(1, 1000, 2, 2, 4, 4, 5);
    expect(planSegments('la1', checkForward('la1', heads.q, heads.k, heads.v, {}), 2)).toBeNull();
    expect(planSegments('la1', checkForward('la1', heads.q, heads.k, heads.v, {}), 3)).not.toBeNull();
    expect(SPLIT_MIN_T).toBeGreaterThanOrEqual(1024);
  });

  it('without the test knob, splits only long calls the cost model says gain from', () => {
    const g = globalThis as Record<symbol, unknown>;
    delete g[KNOB];
    try {
      const long = qkv(1, SPLIT_MIN_T, 1, 1, 2, 2, 6);
      const plan = (op: OpName, o = {}) => planSegments(op, checkForward(op, long.q, long.k, long.v, o), 2);
      for (const op of HLA_OPS) {
        const gain = 2 - SUMMARY_COST[op];
        expect(plan(op, { normalize: true }) !== null, op).toBe(gain >= MIN_GAIN);
      }
      expect(plan('hla2')!.deferred).toBe(true);
      const short = qkv(1, SPLIT_MIN_T - 1, 1, 1, 2, 2, 6);
      expect(planSegments('la1', checkForward('la1', short.q, short.k, short.v, {}), 2)).toBeNull();
    } finally {
      g[KNOB] = MIN_T;
    }
  });
});

describe.each(backends.map((b) => b.backend))('%s backend, one sequence split over workers', (backend) => {
  const single = () => backends.find((b) => b.backend === backend)!;
  it.each(HLA_OPS)('%s equals the single-threaded call for every option', async (op) => {
    let worst = 0;
    let n = 0;
    for (const threads of [2, 3]) {
      const pooled = pools.get(`${backend}/${threads}`)!;
      for (const [H, HV] of [[1, 1], [1, 2], [2, 4]]) {
        if (H >= threads) continue;
        for (const normalize of [false, true]) {
          const T = 300 + 97 * n++ % 400;
          const { q, k, v } = qkv(1, T, H, HV, 5, 3, 70 + n, normalize);
          const prefix = qkv(1, 40, H, HV, 5, 3, 170 + n, normalize);
          for (const decay of [1, 0.9, H === 2 ? [0.95, 0.8] : [0.97]]) {
            for (const ridge of op === 'hla2' ? [0, 0.3] : [0]) {
              for (const mode of [{}, { mode: 'chunk' as const, chunkSize: 16 }]) {
                const opts = { decay, normalize, ridge, ...mode };
                expect(planSegments(op, checkForward(op, q, k, v, opts), threads)).not.toBeNull();
                const first = single()[op](prefix.q, prefix.k, prefix.v, { ...opts, outputFinalState: true });
                for (const initialState of [undefined, first.finalState]) {
                  const a = single()[op](q, k, v, { ...opts, initialState, outputFinalState: true });
                  const b = await pooled.run(op, q, k, v, { ...opts, initialState, outputFinalState: true });
                  const e = Math.max(relErr(b.o.data, a.o.data), relErr(b.finalState!.toFloat32Array(), a.finalState!.toFloat32Array()));
                  expect(e, `${op} threads ${threads} H ${H} HV ${HV} ${JSON.stringify(opts)} initial ${!!initialState}`).toBeLessThanOrEqual(TOL);
                  worst = Math.max(worst, e);
                  expect(b.finalState!.describe()).toBe(a.finalState!.describe());
                }
              }
            }
          }
        }
      }
    }
    expect(worst).toBeLessThanOrEqual(TOL);
  });
});

describe('split and head split agree with the serial call', () => {
  it('B=2, H=1 (head path) and each row alone (split path) give the serial result', async () => {
    const pooled = pools.get(`${backends[0].backend}/2`)!;
    const single = backends[0];
    const T = 400;
    for (const op of HLA_OPS) {
      const { q, k, v } = qkv(2, T, 1, 1, 4, 4, 90);
      const opts = { decay: 0.95, outputFinalState: true };
      const serial = single[op](q, k, v, opts);
      const heads = await pooled.run(op, q, k, v, opts);
      expect(Array.from(heads.o.data)).toEqual(Array.from(serial.o.data));
      const rows = [0, 1].map((b) => ({
        q: { data: q.data.slice(b * T * 4, (b + 1) * T * 4), shape: [1, T, 1, 4] },
        k: { data: k.data.slice(b * T * 4, (b + 1) * T * 4), shape: [1, T, 1, 4] },
        v: { data: v.data.slice(b * T * 4, (b + 1) * T * 4), shape: [1, T, 1, 4] },
      }));
      for (const [b, r] of rows.entries()) {
        const split = await pooled.run(op, r.q, r.k, r.v, opts);
        expect(relErr(split.o.data, serial.o.data.subarray(b * T * 4, (b + 1) * T * 4))).toBeLessThanOrEqual(TOL);
        const s = serial.finalState!.toFloat32Array();
        const half = s.length / 2;
        expect(relErr(split.finalState!.toFloat32Array(), s.subarray(b * half, (b + 1) * half))).toBeLessThanOrEqual(TOL);
      }
    }
  });

  it('cuSeqlens and bad input fall back or fail as the synchronous call does', async () => {
    const pooled = pools.get(`${backends[0].backend}/2`)!;
    const { q, k, v } = qkv(1, 600, 1, 1, 4, 4, 91);
    const cu = { cuSeqlens: [0, 250, 600], outputFinalState: true };
    const a = backends[0].hla2(q, k, v, cu);
    const b = await pooled.run('hla2', q, k, v, cu);
    expect(Array.from(b.o.data)).toEqual(Array.from(a.o.data));
    await expect(pooled.run('hla2', q, k, v, { ridge: Number.NaN })).rejects.toThrow(/ridge/);
    await expect(pooled.run('la1', q, k, v, { ridge: 1 })).rejects.toThrow(/ridge/);
  });
});
