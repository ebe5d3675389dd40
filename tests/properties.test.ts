// Property tests: random shapes, options and inputs against the float64 brute force.
import fc from 'fast-check';
import { beforeAll, expect, it } from 'vitest';
import { HLA_OPS, type Hla } from '../dist/index.mjs';
import { bruteForce } from './reference/bruteforce.js';
import { allBackends, qkv, relErr, TOL } from './helpers.js';

let backends: Hla[] = [];
beforeAll(async () => {
  backends = await allBackends();
});

const config = fc.record({
  op: fc.constantFrom(...HLA_OPS),
  B: fc.integer({ min: 1, max: 2 }),
  T: fc.integer({ min: 1, max: 24 }),
  H: fc.integer({ min: 1, max: 2 }),
  g: fc.integer({ min: 1, max: 3 }),
  dk: fc.integer({ min: 1, max: 9 }),
  dv: fc.integer({ min: 1, max: 9 }),
  decay: fc.constantFrom(1, 0.97, 0.8),
  normalize: fc.boolean(),
  ridge: fc.constantFrom(0, 0.5),
  chunkSize: fc.integer({ min: 1, max: 30 }),
  backend: fc.nat(),
  seed: fc.integer({ min: 0, max: 1e6 }),
});

it('random shapes and options: recurrent and chunk match the brute force', () => {
  fc.assert(
    fc.property(config, (c) => {
      const ridge = c.op === 'hla2' ? c.ridge : 0;
      const { q, k, v } = qkv(c.B, c.T, c.H, c.H * c.g, c.dk, c.dv, c.seed, c.normalize);
      const opts = { decay: c.decay, normalize: c.normalize, ridge };
      const ref = bruteForce(c.op, q, k, v, opts);
      const hla = backends[c.backend % backends.length];
      for (const m of [{ mode: 'recurrent' as const }, { mode: 'chunk' as const, chunkSize: c.chunkSize }]) {
        const { o } = hla[c.op](q, k, v, { ...opts, ...m });
        expect(o.shape).toEqual([c.B, c.T, c.H * c.g, c.dv]);
        expect(relErr(o.data, ref)).toBeLessThanOrEqual(TOL);
      }
    }),
    { numRuns: 150, seed: 20261123 },
  );
});
