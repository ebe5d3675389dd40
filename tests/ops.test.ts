// Every operator × form × option against the float64 brute force, on every backend.
import { beforeAll, describe, expect, it } from 'vitest';
import { HLA_OPS, type Hla, type OpName } from '../dist/index.mjs';
import { bruteForce } from './reference/bruteforce.js';
import { allBackends, qkv, relErr, TOL } from './helpers.js';

let backends: Hla[] = [];
beforeAll(async () => {
  backends = await allBackends();
  expect(backends.length).toBeGreaterThanOrEqual(2);
});


const SHAPES = [
  { name: 'GQA H=2 HV=4, odd dk=7 dv=5, B=2', B: 2, T: 37, H: 2, HV: 4, dk: 7, dv: 5 },
  { name: 'dk=dv=16, B=1', B: 1, T: 70, H: 1, HV: 1, dk: 16, dv: 16 },
];

describe.each(HLA_OPS)('%s', (op) => {
  for (const s of SHAPES) {
    const T = op === 'hla3' ? Math.min(s.T, 32) : s.T;
    for (const decay of [1, 0.9]) {
      for (const normalize of [false, true]) {
        const ridges = op === 'hla2' ? [0, 0.25] : [0];
        for (const ridge of ridges) {
          it(`${s.name} T=${T} decay=${decay} normalize=${normalize} ridge=${ridge}: every mode matches brute force`, () => {
            const { q, k, v } = qkv(s.B, T, s.H, s.HV, s.dk, s.dv, 100 + T, normalize);
            const opts = { decay, normalize, ...(ridge ? { ridge } : {}) };
            const ref = bruteForce(op, q, k, v, opts);
            for (const hla of backends) {
              const modes = [{ mode: 'recurrent' as const }, ...[1, 3, 16, 64, T + 5].map((chunkSize) => ({ mode: 'chunk' as const, chunkSize }))];
              for (const m of modes) {
                const { o } = hla[op](q, k, v, { ...opts, ...m });
                expect(o.shape).toEqual([s.B, T, s.HV, s.dv]);
                const e = relErr(o.data, ref);
                expect(e, `${hla.backend} ${JSON.stringify(m)}`).toBeLessThanOrEqual(TOL);
              }
            }
          });
        }
      }
    }
  }

  it('T up to 256 (512 for first order) against brute force, recurrent and chunk', () => {
    const T = op === 'hla3' ? 48 : op === 'la1' ? 512 : 256;
    const { q, k, v } = qkv(1, T, 2, 2, 8, 4, 7);
    const ref = bruteForce(op, q, k, v, { decay: 0.97 });
    for (const hla of backends) {
      for (const m of [{ mode: 'recurrent' as const }, { mode: 'chunk' as const, chunkSize: 64 }]) {
        expect(relErr(hla[op](q, k, v, { decay: 0.97, ...m }).o.data, ref), `${hla.backend} ${m.mode}`).toBeLessThanOrEqual(TOL);
      }
    }
  });

  it('per-head decay and an explicit scale', () => {
    const { q, k, v } = qkv(1, 19, 3, 3, 4, 3, 21);
    const opts = { decay: [1, 0.8, 0.95], scale: 0.7 };
    const ref = bruteForce(op, q, k, v, opts);
    for (const hla of backends) {
      for (const mode of ['recurrent', 'chunk'] as const) {
        expect(relErr(hla[op](q, k, v, { ...opts, mode, chunkSize: 4 }).o.data, ref)).toBeLessThanOrEqual(TOL);
      }
    }
  });

  it('recurrent and chunk agree with each other (serial ≡ chunk)', () => {
    const { q, k, v } = qkv(2, 100, 2, 4, 12, 10, 5);
    for (const hla of backends) {
      const a = hla[op](q, k, v, { mode: 'recurrent', decay: 0.95 }).o.data;
      for (const chunkSize of [1, 7, 32, 128]) {
        const b = hla[op](q, k, v, { mode: 'chunk', chunkSize, decay: 0.95 }).o.data;
        expect(relErr(b, Float64Array.from(a))).toBeLessThanOrEqual(TOL);
      }
    }
  });
});

describe('backends agree', () => {
  it('every backend gives the same outputs within tolerance', () => {
    const { q, k, v } = qkv(1, 64, 2, 2, 16, 16, 77);
    for (const op of HLA_OPS) {
      const outs = backends.map((h) => h[op](q, k, v, { decay: 0.99 }).o.data);
      for (const o of outs.slice(1)) expect(relErr(o, Float64Array.from(outs[0]))).toBeLessThanOrEqual(TOL);
    }
  });

  it('reports its backend', () => {
    expect(backends.map((b) => b.backend)).toContain('simd128');
    expect(backends.map((b) => b.backend)).toContain('scalar');
  });
});
