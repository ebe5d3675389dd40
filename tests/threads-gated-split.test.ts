// hla.run splits one long gla / deltaRule sequence along T (segment summaries, docs/math.md §g;
// ts/sequence.ts): the chain schedule on 2 workers, two phases (each worker summarises its own
// segment) on 8, both transports; results equal the synchronous call within float32 rounding,
// with weak and strong gates, deltaRule with and without g and qkL2norm, GQA value heads, an
// initial state and the final state.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HLA_OPS, init, type Hla, type Tensor } from '../target/testing/dist/index.mjs';
import { gatedCall } from '../ts/call.ts';
import { checkGated } from '../ts/gated.ts';
import { plan, type Plan } from '../ts/plan.ts';
import { boundsAlongT, MIN_GAIN, SPLIT_OPS, SUMMARY_COST } from '../ts/sequence.ts';
import { qkv, relErr, tensor, TOL } from './helpers.js';

type Result = { o: Tensor; finalState?: { toFloat32Array(): Float32Array } };
type Options = Record<string, unknown>;
/** The plan of `h`'s last `run` (an internal profile, stripped from the declarations). */
const lastPlan = (h: Hla) => (h as unknown as { _lastRunProfile: { plan?: Plan } | null })._lastRunProfile?.plan;

/** Log decays in [lo, 0]. */
function gates(shape: number[], seed: number, lo: number): Tensor {
  const t = tensor(shape, seed, true);
  for (let i = 0; i < t.data.length; i++) t.data[i] = lo * t.data[i];
  return t;
}

const WEAK = -0.05, STRONG = Math.log(1e-4);
const T = 300, H = 1, HV = 2, dk = 7, dv = 5;

interface Case { name: string; op: 'gla' | 'deltaRule'; options: Options }
const qk = [1, T, H, dk], perValueHead = [1, T, HV];
const beta = (() => {
  const t = tensor(perValueHead, 30, true);
  for (let i = 0; i < t.data.length; i++) t.data[i] = 0.05 + 0.9 * t.data[i];
  return t;
})();
const CASES: Case[] = [
  { name: 'gla weak', op: 'gla', options: { gk: gates(qk, 31, WEAK) } },
  { name: 'gla strong (log 1e-4 per token)', op: 'gla', options: { gk: gates(qk, 32, STRONG), scale: 0.7 } },
  { name: 'deltaRule with g, qkL2norm', op: 'deltaRule', options: { beta, g: gates(perValueHead, 33, STRONG), qkL2norm: true } },
  { name: 'deltaRule with weak g', op: 'deltaRule', options: { beta, g: gates(perValueHead, 34, WEAK) } },
  { name: 'deltaRule without g, qkL2norm', op: 'deltaRule', options: { beta, qkL2norm: true } },
  { name: 'deltaRule without g', op: 'deltaRule', options: { beta } },
];

const q = tensor(qk, 40), v = tensor([1, T, HV, dv], 42);
// deltaRule without qkL2norm: ‖k‖² ≈ 1/3 keeps β‖k‖² < 2, where the recurrence is stable.
const k = tensor(qk, 41);
const kSmall = { data: k.data.map((x) => x / Math.sqrt(dk)), shape: k.shape };

function call(h: Hla, pooled: boolean, c: Case, options: Options): Promise<Result> | Result {
  const kk = c.op === 'deltaRule' && !c.options.qkL2norm ? kSmall : k;
  const o = { ...c.options, ...options };
  if (pooled) return h.run(c.op as never, q, kk, v, o as never) as Promise<Result>;
  return (h[c.op] as (...a: unknown[]) => Result)(q, kk, v, o);
}

describe.each(['shared', 'copy'] as const)('%s transport', (transport) => {
  const KNOB = Symbol.for('hla-wasm.transport'), KNOB_T = Symbol.for('hla-wasm.splitMinT');
  let h2: Hla, h8: Hla, single: Hla;
  beforeAll(async () => {
    (globalThis as Record<symbol, unknown>)[KNOB] = transport;
    [h2, h8, single] = await Promise.all([init({ threads: 2 }), init({ threads: 8 }), init()]);
    delete (globalThis as Record<symbol, unknown>)[KNOB];
    (globalThis as Record<symbol, unknown>)[KNOB_T] = 64;
  });
  afterAll(() => {
    delete (globalThis as Record<symbol, unknown>)[KNOB_T];
    [h2, h8].forEach((h) => h.close());
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s: along T on 2 and 8 workers ≡ the synchronous call', async (_name, c) => {
    const first = call(single, false, c, { outputFinalState: true }) as Result;
    for (const mode of [{}, { mode: 'chunk', chunkSize: 16 }]) {
      const opts = { ...mode, initialState: first.finalState, outputFinalState: true };
      const a = call(single, false, c, opts) as Result;
      for (const h of [h2, h8]) {
        const b = await call(h, true, c, opts);
        // The split happened, in the schedule the knob's cost model picks (r clamped to ≤ 0.5).
        const p = lastPlan(h);
        expect(p?.kind === 'alongT' && p.parts.map((x) => [x.bounds?.length, x.own])).toEqual([[h.threads + 1, h.threads > 2]]);
        expect(relErr(b.o.data, a.o.data), `${h.threads} threads o`).toBeLessThanOrEqual(TOL);
        expect(relErr(b.finalState!.toFloat32Array(), a.finalState!.toFloat32Array()), `${h.threads} threads state`).toBeLessThanOrEqual(TOL);
      }
      // From a zero state, no final state asked for.
      // (8 workers: two phases, each worker summarising its own segment.)
      const z = await call(h8, true, c, mode);
      expect(relErr(z.o.data, (call(single, false, c, mode) as Result).o.data)).toBeLessThanOrEqual(TOL);
    }
  });

  // The two-phase schedule is the operators' common one: the HLA family takes it too (from 4
  // workers at r = 0.5; tests/sequence.test.ts runs the chain on 2 and 3).
  it.each(HLA_OPS)('%s: along T on 8 workers in two phases ≡ the synchronous call', async (op) => {
    const { q, k: kk, v: vv } = qkv(1, 300, 1, 2, 5, 3, 90, true);
    const opts = { decay: 0.97, normalize: true, outputFinalState: true }; // hla2: full summaries
    const first = single[op](q, kk, vv, opts);
    const a = single[op](q, kk, vv, { ...opts, initialState: first.finalState });
    const b = await h8.run(op, q, kk, vv, { ...opts, initialState: first.finalState });
    const p = lastPlan(h8);
    expect(p?.kind === 'alongT' && p.parts.map((x) => [x.bounds?.length, x.own, x.deferred])).toEqual([[9, true, false]]);
    expect(relErr(b.o.data, a.o.data)).toBeLessThanOrEqual(TOL);
    expect(relErr(b.finalState!.toFloat32Array(), a.finalState!.toFloat32Array())).toBeLessThanOrEqual(TOL);
  });
});

describe('plan', () => {
  it('takes the faster of the chain and two phases by the cost model, for every operator with summaries', () => {
    const g = globalThis as Record<symbol, unknown>, KNOB_T = Symbol.for('hla-wasm.splitMinT');
    delete g[KNOB_T];
    const long = 1 << 16;
    expect(SPLIT_OPS).toEqual(['la1', 'hla2', 'ahla', 'hla3', 'gla', 'deltaRule']);
    for (const op of SPLIT_OPS) {
      const r = SUMMARY_COST[op];
      for (const W of [2, 3, 4, 8, 16]) {
        const chain = r < 1 ? 1 + (W - 1) * (1 - r) : 0, twoPhase = W / (1 + r);
        // hla2 without normalize: the deferred schedule, whatever r.
        const p = boundsAlongT(op, long, true, W);
        expect(p !== null, `${op} ${W}`).toBe(Math.max(chain, twoPhase) >= MIN_GAIN);
        if (!p) continue;
        expect(p.own, `${op} ${W}`).toBe(twoPhase > chain);
        expect(p.deferred).toBe(false);
        const len = p.bounds.slice(1).map((x, w) => x - p.bounds[w]);
        // Two phases: equal segments; the chain: each L_w = L_0 (1 − r) after the first.
        if (p.own) expect(Math.max(...len) - Math.min(...len)).toBeLessThanOrEqual(1);
        else for (const l of len.slice(1)) expect(Math.abs(l - len[0] * (1 - r))).toBeLessThanOrEqual(1);
      }
    }
    expect(boundsAlongT('hla2', long, false, 8)!.deferred).toBe(true);
  });


  it('splits one long gla / deltaRule sequence along T where the cost model gains, in the better schedule', () => {
    const long = 1 << 16;
    const s = [1, long, 1, 64];
    const x = (n: number) => ({ data: new Float32Array(long * 64), shape: s, n });
    const gk = { data: new Float32Array(long * 64).fill(-0.01), shape: s };
    const b = { data: new Float32Array(long).fill(0.5), shape: [1, long, 1] };
    const gla = gatedCall('gla', checkGated('gla', x(0), x(1), x(2), { gk }));
    const delta = gatedCall('deltaRule', checkGated('deltaRule', x(0), x(1), x(2), { beta: b }));
    for (const [c, op] of [[gla, 'gla'], [delta, 'deltaRule']] as const) {
      for (const W of [2, 4, 8, 16]) {
        const r = SUMMARY_COST[op];
        const chain = 1 + (W - 1) * (1 - r), twoPhase = W / (1 + r);
        const p = plan(c, W);
        expect(p?.kind ?? null, `${op} ${W}`).toBe(Math.max(chain, twoPhase) >= MIN_GAIN ? 'alongT' : null);
        if (p?.kind !== 'alongT') continue;
        const [part] = p.parts;
        expect(part.own, `${op} ${W}`).toBe(twoPhase > chain);
        expect(part.bounds).toEqual(boundsAlongT(op, long, false, W)!.bounds);
        if (part.own) expect(part.bounds).toEqual(Array.from({ length: W + 1 }, (_, w) => Math.round((w * long) / W)));
      }
    }
  });
});
