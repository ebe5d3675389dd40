// The benchmark's straightforward-TS baseline must itself be right.
import { expect, it } from 'vitest';
import { HLA_OPS } from '../dist/index.mjs';
import { bruteForce } from './reference/bruteforce.js';
import { baselineForward } from '../bench/baseline.js';
import { qkv, relErr, TOL } from './helpers.js';

it.each(HLA_OPS)('%s baseline matches brute force', (op) => {
  const { q, k, v } = qkv(2, 20, 2, 2, 6, 5, 3, true);
  for (const opts of [{}, { decay: 0.9, normalize: true }, ...(op === 'hla2' ? [{ ridge: 0.3, normalize: true }] : [])]) {
    expect(relErr(baselineForward(op, q, k, v, opts), bruteForce(op, q, k, v, opts)), JSON.stringify(opts)).toBeLessThanOrEqual(TOL);
  }
});
