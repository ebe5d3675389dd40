// The operator table (ts/operators.ts) against the binding it describes: every state layout is
// the kernels' own state length (Config.stateLen), and the table and the package agree on which
// operators there are.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { GATED_OPS, HLA_OPS, OPS } from '../dist/index.mjs';
import { stateFloats } from '../ts/limits.ts';
import { entryOf, OPERATORS, opsOf, type OperatorName } from '../ts/operators.ts';
import initGlue, * as glue from '../ts/wasm/scalar/hla_scalar.js';

beforeAll(async () => {
  await initGlue({ module_or_path: readFileSync(new URL('../ts/wasm/scalar/hla_scalar_bg.wasm', import.meta.url)) });
});

type Config = ReturnType<typeof glue.Config.gated>;

/** The binding's config of `op` for `dims` ([B, T, H, HV, dk, dv]); sse with `n` partitions. */
function configOf(op: OperatorName, dims: Float64Array, ridge: number, n: number, base: number): Config {
  switch (entryOf(op).family) {
    case 'hla': return glue.Config.hla(op, dims, 1, new Float32Array([1]), false, 1e-6, ridge);
    case 'gated': return glue.Config.gated(op, dims, 1, false);
    case 'sse': return glue.Config.sse(base ? 'deltaRule' : 'gla', dims, n, 1, true, true, false, 1);
    case 'rla': return glue.Config.rla(base ? 'deltaRule' : 'la', dims, 1, 'undecayed', false, 1);
  }
}

describe('the operator table (ts/operators.ts)', () => {
  it("gives every operator's state length as the kernels do (Config.stateLen)", () => {
    let checked = 0;
    for (const op of OPS) {
      for (const [H, HV, dk, dv] of [[1, 1, 1, 1], [1, 1, 3, 2], [2, 4, 5, 3], [3, 3, 2, 7]]) {
        for (const ridge of op === 'hla2' ? [0, 0.5] : [0]) {
          for (const n of op === 'sse' ? [1, 3] : [0]) {
            for (const base of [0, 1]) {
              const config = configOf(op, new Float64Array([1, 1, H, HV, dk, dv]), ridge, n, base);
              try {
                for (const nSeq of [1, 3]) {
                  expect(stateFloats(op, nSeq, H, HV, dk, dv, ridge !== 0, n), `${op} ${[nSeq, H, HV, dk, dv, ridge, n, base]}`).toBe(config.stateLen(nSeq));
                  checked++;
                }
              } finally {
                config.free();
              }
            }
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('lists every operator once, with distinct snapshot codes 0..n−1, and the family lists from it', () => {
    expect([...OPS]).toEqual(Object.keys(OPERATORS));
    expect(OPS.length).toBe(8);
    expect(OPS.map((op) => entryOf(op).code)).toEqual(OPS.map((_, i) => i));
    expect([...HLA_OPS]).toEqual(['la1', 'hla2', 'ahla', 'hla3']);
    expect([...GATED_OPS]).toEqual(['gla', 'deltaRule']);
    expect([...opsOf('sse'), ...opsOf('rla')]).toEqual(['sse', 'rla']);
    // Only operators with segment summaries are split along T (ts/sequence.ts): the HLA family,
    // gla and deltaRule (docs/math.md §f, §g).
    expect(OPS.filter((op) => entryOf(op).summary)).toEqual([...HLA_OPS, ...GATED_OPS]);
  });
});
