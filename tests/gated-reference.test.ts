// The gated family's float64 reference and the benchmark's TS baseline must themselves be right:
// gla with a constant gate is la1 with that decay (the HLA brute force), and the Float32Array
// baseline agrees with the float64 token loops on both operators.
import { expect, it } from 'vitest';
import { bruteForce } from './reference/bruteforce.js';
import { gatedBaselineForward } from '../bench/gated-baseline.js';
import { gatedReference } from './reference/gated.js';
import { qkv, relErr, tensor, TOL } from './helpers.js';

it('gla with gk = log γ everywhere is la1 with decay γ', () => {
  const { q, k, v } = qkv(2, 17, 2, 4, 6, 5, 11);
  const gamma = 0.9;
  const gk = { data: new Float32Array(q.data.length).fill(Math.log(gamma)), shape: q.shape };
  const { o } = gatedReference('gla', q, k, v, { gk });
  // la1's brute force in float64 uses γ as given; the gate goes through float32 here.
  const ref = bruteForce('la1', q, k, v, { decay: Math.exp(Math.fround(Math.log(gamma))) });
  expect(relErr(o, ref)).toBeLessThanOrEqual(1e-9);
});

it.each(['gla', 'deltaRule'] as const)('%s TS baseline matches the float64 reference', (op) => {
  const B = 2, T = 23, H = 3, dk = 7, dv = 6;
  const { q, k, v } = qkv(B, T, H, H, dk, dv, 5);
  const gk = tensor([B, T, H, dk], 9, true);
  for (let i = 0; i < gk.data.length; i++) gk.data[i] = -2 * gk.data[i];
  const beta = tensor([B, T, H], 10, true);
  const g = tensor([B, T, H], 12, true);
  for (let i = 0; i < g.data.length; i++) g.data[i] = -0.5 * g.data[i];
  for (const qkL2norm of op === 'deltaRule' ? [false, true] : [false]) {
    const scale = 0.6;
    const got = gatedBaselineForward(op, q as { data: Float32Array; shape: number[] }, k as { data: Float32Array }, v as { data: Float32Array; shape: number[] }, { gk: gk.data as Float32Array, beta: beta.data as Float32Array, g: g.data as Float32Array, scale, qkL2norm });
    const { o } = gatedReference(op, q, k, v, { gk, beta, g, scale, qkL2norm });
    expect(relErr(got, o), `qkL2norm ${qkL2norm}`).toBeLessThanOrEqual(TOL);
  }
});
