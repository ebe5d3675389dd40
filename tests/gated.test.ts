// gla and deltaRule through the facade on every backend, against the float64 token loops of
// tests/reference/gated.ts: recurrent and chunk sizes 1, 3, 16, T+5; GQA, B > 1, odd head sizes,
// cuSeqlens, weak / strong (log 1e-4 per token) / extreme (−30, −∞) gates, qkL2norm on and off,
// custom scale, an initial state; continuation ≡ one run; bad input → TypeError / RangeError
// naming the argument, nothing returned.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hla, Tensor } from '../dist/index.mjs';
import { gatedReference } from './reference/gated.js';
import { allBackends, relErr, sliceT, concatT, tensor, TOL } from './helpers.js';

let backends: Hla[] = [];
beforeAll(async () => {
  backends = await allBackends();
});
afterAll(() => backends.forEach((h) => h.close()));

type Strength = 'weak' | 'strong' | 'extreme';

function logGates(shape: number[], s: Strength, seed: number): Tensor {
  const t = tensor(shape, seed, true);
  const d = t.data;
  for (let i = 0; i < d.length; i++) {
    const x = d[i];
    d[i] = s === 'weak' ? -0.05 * x : s === 'strong' ? Math.log(1e-4) * x : i % 37 === 5 ? -Infinity : i % 3 === 0 ? -30 * x : Math.log(1e-4) * x;
  }
  return t;
}

interface Case {
  name: string; B: number; T: number; H: number; HV: number; dk: number; dv: number;
  strength: Strength; qkL2norm: boolean; scale?: number; cuSeqlens?: number[]; noG?: boolean;
}

const CASES: Case[] = [
  { name: 'single head, weak', B: 1, T: 37, H: 1, HV: 1, dk: 8, dv: 8, strength: 'weak', qkL2norm: false },
  { name: 'GQA, B=2, odd dims, strong, qkL2norm, scale', B: 2, T: 29, H: 2, HV: 4, dk: 7, dv: 5, strength: 'strong', qkL2norm: true, scale: 0.7 },
  { name: 'wide odd heads, extreme gates', B: 1, T: 41, H: 1, HV: 2, dk: 33, dv: 75, strength: 'extreme', qkL2norm: true, scale: 1.3 },
  { name: 'cuSeqlens, strong', B: 1, T: 40, H: 2, HV: 2, dk: 12, dv: 20, strength: 'strong', qkL2norm: false, cuSeqlens: [0, 7, 8, 40] },
  { name: 'no g (plain delta rule), B=2', B: 2, T: 23, H: 1, HV: 3, dk: 16, dv: 9, strength: 'weak', qkL2norm: false, noG: true },
];

function inputs(op: 'gla' | 'deltaRule', c: Case, seed: number) {
  const q = tensor([c.B, c.T, c.H, c.dk], seed);
  const k = tensor([c.B, c.T, c.H, c.dk], seed + 1);
  if (op === 'deltaRule' && !c.qkL2norm) for (let i = 0; i < k.data.length; i++) k.data[i] /= Math.sqrt(c.dk);
  const v = tensor([c.B, c.T, c.HV, c.dv], seed + 2);
  const gk = logGates([c.B, c.T, c.H, c.dk], c.strength, seed + 3);
  const beta = tensor([c.B, c.T, c.HV], seed + 4, true);
  for (let i = 0; i < beta.data.length; i++) beta.data[i] = 0.05 + 0.9 * beta.data[i];
  const g = logGates([c.B, c.T, c.HV], c.strength, seed + 5);
  return { q, k, v, gk, beta, g: c.noG ? undefined : g };
}

function options(op: 'gla' | 'deltaRule', c: Case, x: ReturnType<typeof inputs>) {
  const common = { scale: c.scale, cuSeqlens: c.cuSeqlens };
  return op === 'gla' ? { ...common, gk: x.gk } : { ...common, beta: x.beta, g: x.g, qkL2norm: c.qkL2norm };
}

const MODES = (T: number) => [{ mode: 'recurrent' as const }, ...[1, 3, 16, T + 5].map((chunkSize) => ({ mode: 'chunk' as const, chunkSize }))];

describe.each(['gla', 'deltaRule'] as const)('%s', (op) => {
  it.each(CASES.filter((c) => !(op === 'gla' && c.noG)).map((c) => [c.name, c]))('matches the float64 reference on every backend: %s', (_, c) => {
    expect(backends.length).toBeGreaterThan(0);
    const x = inputs(op, c as Case, 100);
    const opts = options(op, c as Case, x);
    const ref = gatedReference(op, x.q, x.k, x.v, { ...opts, qkL2norm: op === 'deltaRule' && (c as Case).qkL2norm });
    for (const hla of backends) {
      for (const m of MODES((c as Case).T)) {
        const r = op === 'gla' ? hla.gla(x.q, x.k, x.v, { ...(opts as { gk: Tensor }), ...m, outputFinalState: true })
          : hla.deltaRule(x.q, x.k, x.v, { ...(opts as { beta: Tensor }), ...m, outputFinalState: true });
        const what = `${hla.backend} ${JSON.stringify(m)}`;
        expect(relErr(r.o.data, ref.o), what).toBeLessThanOrEqual(TOL);
        expect(relErr(r.finalState!.toFloat32Array(), ref.state), what).toBeLessThanOrEqual(TOL);
        expect(r.o.shape).toEqual([(c as Case).B, (c as Case).T, (c as Case).HV, (c as Case).dv]);
      }
    }
  });

  it('continuation (finalState → initialState) equals one run, and an initial state is honoured', () => {
    const c = CASES[1];
    const x = inputs(op, c, 300);
    const cut = (t: Tensor, a: number, b: number) => sliceT(t, a, b);
    const cut3 = (t: Tensor | undefined, a: number, b: number) => {
      if (!t) return undefined;
      const s = sliceT({ data: t.data, shape: [...t.shape, 1] }, a, b);
      return { data: s.data, shape: s.shape.slice(0, 3) };
    };
    for (const hla of backends) {
      for (const m of MODES(c.T)) {
        const run = (a: number, b: number, initialState?: unknown) => {
          const base = { ...m, outputFinalState: true, scale: c.scale, initialState } as Record<string, unknown>;
          return op === 'gla'
            ? hla.gla(cut(x.q, a, b), cut(x.k, a, b), cut(x.v, a, b), { ...base, gk: cut(x.gk, a, b) } as never)
            : hla.deltaRule(cut(x.q, a, b), cut(x.k, a, b), cut(x.v, a, b), { ...base, beta: cut3(x.beta, a, b), g: cut3(x.g, a, b), qkL2norm: c.qkL2norm } as never);
        };
        const whole = run(0, c.T);
        for (const t of [1, 13, c.T - 1]) {
          const first = run(0, t);
          const rest = run(t, c.T, first.finalState);
          const joined = concatT(first.o, rest.o);
          const what = `${hla.backend} ${JSON.stringify(m)} cut ${t}`;
          expect(relErr(joined.data, whole.o.data), what).toBeLessThanOrEqual(TOL);
          expect(relErr(rest.finalState!.toFloat32Array(), whole.finalState!.toFloat32Array()), what).toBeLessThanOrEqual(TOL);
        }
      }
    }
  });

  it('hla.run gives the same results as the synchronous call', async () => {
    const c = CASES[0];
    const x = inputs(op, c, 500);
    const opts = options(op, c, x) as never;
    for (const hla of backends) {
      const a = op === 'gla' ? hla.gla(x.q, x.k, x.v, opts) : hla.deltaRule(x.q, x.k, x.v, opts);
      const b = await hla.run(op as never, x.q, x.k, x.v, opts);
      expect(Array.from(b.o.data)).toEqual(Array.from(a.o.data));
    }
  });
});

describe('bad gated input', () => {
  const q = tensor([1, 3, 1, 2], 1), v = tensor([1, 3, 1, 2], 2);
  const gk = { data: new Float32Array(6).fill(-0.1), shape: [1, 3, 1, 2] };
  const beta = { data: new Float32Array(3).fill(0.5), shape: [1, 3, 1] };
  const g0 = { data: new Float32Array(3), shape: [1, 3, 1] };
  const call = (op: 'gla' | 'deltaRule', o: unknown) => () => {
    const hla = backends[0];
    return op === 'gla' ? hla.gla(q, q, v, o as never) : hla.deltaRule(q, q, v, o as never);
  };
  const with1 = (t: { data: Float32Array; shape: number[] }, i: number, x: number) => {
    const data = t.data.slice();
    data[i] = x;
    return { data, shape: t.shape };
  };
  it.each([
    ['gla', undefined, TypeError, /^options: expected an object \{ gk/],
    ['gla', {}, TypeError, /^gk: expected a tensor \[1, 3, 1, 2\].*required/],
    ['gla', { gk: { data: new Float32Array(4), shape: [1, 2, 1, 2] } }, RangeError, /^gk\.shape: expected \[1, 3, 1, 2\]/],
    ['gla', { gk: with1(gk, 3, 0.5) }, RangeError, /^gk\.data\[3\]: expected a log decay ≤ 0 \(not NaN\), got 0\.5/],
    ['gla', { gk: with1(gk, 0, NaN) }, RangeError, /^gk\.data\[0\]: .* got NaN/],
    ['gla', { gk, qkL2norm: true }, TypeError, /^options\.qkL2norm: unknown option/],
    ['deltaRule', {}, TypeError, /^beta: expected a tensor \[1, 3, 1\].*required/],
    ['deltaRule', { beta: { data: new Float32Array(3), shape: [1, 3] } }, RangeError, /^beta\.shape: expected \[1, 3, 1\]/],
    ['deltaRule', { beta: with1(beta, 1, NaN) }, RangeError, /^beta\.data\[1\]: expected a finite rate, got NaN/],
    ['deltaRule', { beta: with1(beta, 2, Infinity) }, RangeError, /^beta\.data\[2\]: .* got Infinity/],
    ['deltaRule', { beta: with1(beta, 2, -Infinity) }, RangeError, /^beta\.data\[2\]: .* got -Infinity/],
    ['deltaRule', { beta, g: with1(g0, 1, 0.25) }, RangeError, /^g\.data\[1\]: expected a log decay ≤ 0/],
    ['deltaRule', { beta, g: { data: new Float32Array(2), shape: [1, 2, 1] } }, RangeError, /^g\.shape: expected \[1, 3, 1\]/],
    ['deltaRule', { beta, qkL2norm: 1 }, TypeError, /^qkL2norm: expected a boolean/],
    ['deltaRule', { beta, gk }, TypeError, /^options\.gk: unknown option/],
    ['deltaRule', { beta, chunkSize: 0 }, RangeError, /^chunkSize: expected a positive integer/],
  ] as const)('%s: %o', (op, o, cls, msg) => {
    expect(call(op, o)).toThrow(cls);
    expect(call(op, o)).toThrow(msg);
  });

  it('an initialState of another operator or shape is refused by name', () => {
    const hla = backends[0];
    const s = hla.gla(q, q, v, { gk, outputFinalState: true }).finalState!;
    expect(() => hla.deltaRule(q, q, v, { beta, initialState: s })).toThrow(/^initialState: expected a deltaRule state/);
    const la1 = hla.la1(q, q, v, { outputFinalState: true }).finalState!;
    expect(() => hla.gla(q, q, v, { gk, initialState: la1 })).toThrow(/^initialState: expected a gla state/);
  });
});
