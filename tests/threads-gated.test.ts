// hla.run over the worker pool for the operators with inputs beyond q, k, v (gla's gk;
// deltaRule's beta, g; sse's second q/k pair, router and gates per side; rla's g, beta,
// correction): split by (sequence, head) groups, each input cut by its kind (ts/inputs.ts),
// the results bit-identical to the synchronous call, on every flavour and both transports.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, init, type Hla, type Tensor } from '../target/testing/dist/index.mjs';
import { gatedCall, hlaCall, secondCall } from '../ts/call.ts';
import { checkGated } from '../ts/gated.ts';
import { INPUTS } from '../ts/inputs.ts';
import { plan } from '../ts/plan.ts';
import { checkRla } from '../ts/second.ts';
import { checkForward } from '../ts/validate.ts';
import initGlue, * as glue from '../ts/wasm/scalar/hla_scalar.js';
import { tensor } from './helpers.js';

type Result = { o: Tensor; finalState?: { toFloat32Array(): Float32Array } };
type Options = Record<string, unknown>;

/** Log decays in [strength, 0]. */
function gates(shape: number[], seed: number, strength = 0.3 * Math.log(1e-4)): Tensor {
  const t = tensor(shape, seed, true);
  for (let i = 0; i < t.data.length; i++) t.data[i] = strength * t.data[i];
  return t;
}

/** Rates in [0.05, 0.95). */
function rates(shape: number[], seed: number): Tensor {
  const t = tensor(shape, seed, true);
  for (let i = 0; i < t.data.length; i++) t.data[i] = 0.05 + 0.9 * t.data[i];
  return t;
}

interface Shape { B: number; T: number; H: number; HV: number; dk: number; dv: number; cuSeqlens?: number[] }

/**
 * One operator's call: `call(h, sync, options)` runs it on `h` through its function (sync) or
 * through `hla.run`, with fresh inputs of `shape` (the same for the same seed).
 */
interface Case {
  name: string;
  call(h: Hla, sync: boolean, s: Shape, options: Options): Promise<Result>;
}

const N = 4;
const qkvOf = (s: Shape, seed: number) => ({
  q: tensor([s.B, s.T, s.H, s.dk], seed), k: tensor([s.B, s.T, s.H, s.dk], seed + 1), v: tensor([s.B, s.T, s.HV, s.dv], seed + 2),
});
const perValueHead = (s: Shape) => [s.B, s.T, s.HV];

function sseCase(base: 'gla' | 'deltaRule'): Case {
  return {
    name: `sse over ${base}`,
    async call(h, sync, s, options) {
      const qk = [s.B, s.T, s.H, s.dk];
      const router = tensor([s.B, s.T, N], 40);
      for (let r = 0; r < s.B * s.T; r += 3) router.data.fill(0, r * N, (r + 1) * N); // ties
      const x: Record<string, Tensor> = { q1: tensor(qk, 41), k1: tensor(qk, 42), q2: tensor(qk, 43), k2: tensor(qk, 44), v: tensor([s.B, s.T, s.HV, s.dv], 45), router };
      if (base === 'gla') Object.assign(x, { gk1: gates(qk, 46), gk2: gates(qk, 47) });
      else Object.assign(x, { g1: gates(perValueHead(s), 46), g2: gates(perValueHead(s), 47), beta1: rates(perValueHead(s), 48), beta2: rates(perValueHead(s), 49) });
      const o = { base, topK: 2, ...options };
      return sync ? h.sse(x as never, o as never) : h.run('sse', x as never, o as never);
    },
  };
}

const CASES: Case[] = [
  {
    name: 'gla',
    async call(h, sync, s, options) {
      const { q, k, v } = qkvOf(s, 10);
      const o = { gk: gates([s.B, s.T, s.H, s.dk], 13), ...options };
      return sync ? h.gla(q, k, v, o) : h.run('gla', q, k, v, o);
    },
  },
  ...[true, false].map((withG): Case => ({
    name: `deltaRule ${withG ? 'with' : 'without'} g`,
    async call(h, sync, s, options) {
      const { q, k, v } = qkvOf(s, 20);
      const o = { beta: rates(perValueHead(s), 23), ...(withG ? { g: gates(perValueHead(s), 24) } : {}), qkL2norm: true, ...options };
      return sync ? h.deltaRule(q, k, v, o) : h.run('deltaRule', q, k, v, o);
    },
  })),
  sseCase('gla'),
  sseCase('deltaRule'),
  ...(['la', 'deltaRule'] as const).map((base): Case => ({
    name: `rla over ${base}`,
    async call(h, sync, s, options) {
      const { q, k, v } = qkvOf(s, 30);
      const o = {
        base, g: gates(perValueHead(s), 33), correction: rates(perValueHead(s), 34), clip: 0.5, qkL2norm: base === 'deltaRule',
        ...(base === 'deltaRule' ? { beta: rates(perValueHead(s), 35), residual: 'decayed' as const } : {}), ...options,
      };
      return sync ? h.rla(q, k, v, o) : h.run('rla', q, k, v, o);
    },
  })),
];

/** By heads (GQA, odd dims), by sequences, and packed sequences of unequal lengths. */
const SHAPES: [string, Shape][] = [
  ['by heads (B = 1, H = 3, GQA)', { B: 1, T: 19, H: 3, HV: 6, dk: 5, dv: 3 }],
  ['by sequences (B = 3, H = 1)', { B: 3, T: 13, H: 1, HV: 2, dk: 4, dv: 5 }],
  ['cuSeqlens (H = 2)', { B: 1, T: 30, H: 2, HV: 2, dk: 4, dv: 4, cuSeqlens: [0, 4, 21, 30] }],
];
const MODES: Options[] = [{ mode: 'recurrent' }, { mode: 'chunk', chunkSize: 4 }];

const bits = (x: Float32Array) => Array.from(x);

/** `pooled` ≡ `single` bit for bit for every case, shape and mode, continuing from a state; and the pool really split it. */
async function expectSame(pooled: Hla, single: Hla, c: Case, s: Shape): Promise<void> {
  const cu = s.cuSeqlens ? { cuSeqlens: s.cuSeqlens } : {};
  const first = await c.call(single, true, s, { ...cu, outputFinalState: true });
  for (const mode of MODES) {
    const options = { ...mode, ...cu, initialState: first.finalState, outputFinalState: true };
    const a = await c.call(single, true, s, options);
    const internals = pooled as unknown as { _lastRunProfile: { plan?: { kind: string } } | null };
    internals._lastRunProfile = null;
    const b = await c.call(pooled, false, s, options);
    const plan = (internals as { _lastRunProfile: { plan?: { kind: string } } | null })._lastRunProfile?.plan;
    expect(plan?.kind, 'split over the pool').toBe('groups');
    expect(bits(b.o.data)).toEqual(bits(a.o.data));
    expect(bits(b.finalState!.toFloat32Array())).toEqual(bits(a.finalState!.toFloat32Array()));
    expect(a.o.data.some((x) => x !== 0)).toBe(true);
  }
}

describe.each(BACKENDS)('%s, 2 threads', (backend) => {
  let pooled: Hla, single: Hla;
  beforeAll(async () => {
    [pooled, single] = await Promise.all([init({ backend, threads: 2 }), init({ backend })]);
  });
  afterAll(() => pooled.close());

  describe.each(SHAPES)('%s', (_, shape) => {
    it.each(CASES.map((c) => [c.name, c] as const))('%s: bit-identical to the synchronous call, with a final state', async (_name, c) => {
      await expectSame(pooled, single, c, shape);
    });
  });
});

describe.each(['shared', 'copy'] as const)('%s transport, 4 threads', (transport) => {
  const KNOB = Symbol.for('hla-wasm.transport');
  let pooled: Hla, single: Hla;
  beforeAll(async () => {
    (globalThis as Record<symbol, unknown>)[KNOB] = transport;
    [pooled, single] = await Promise.all([init({ threads: 4 }), init()]);
    delete (globalThis as Record<symbol, unknown>)[KNOB];
  });
  afterAll(() => pooled.close());

  it('is the one in use', () => expect(pooled.transport).toBe(transport));

  // Groups cut mid-sequence over 4 workers; 2 heads of one sequence over 4 workers (no split
  // along T at this T, below the split threshold: the groups only, 2 workers idle).
  it.each(CASES.map((c) => [c.name, c] as const))('%s: groups cut mid-sequence, and fewer groups than workers', async (_name, c) => {
    await expectSame(pooled, single, c, { B: 3, T: 11, H: 3, HV: 3, dk: 3, dv: 4 });
    await expectSame(pooled, single, c, { B: 1, T: 40, H: 2, HV: 4, dk: 4, dv: 4 });
  });

  it('inputs from hla.tensor (shared memory; the router read by every job) give the same results, untouched', async () => {
    const s = { B: 2, T: 9, H: 2, HV: 2, dk: 4, dv: 4 };
    const router = tensor([s.B, s.T, N], 50), v = tensor([s.B, s.T, s.HV, s.dv], 51);
    const qk = [s.B, s.T, s.H, s.dk];
    const plain: Record<string, Tensor> = { q1: tensor(qk, 52), k1: tensor(qk, 53), q2: tensor(qk, 54), k2: tensor(qk, 55), v, router, gk1: gates(qk, 56), gk2: gates(qk, 57) };
    const shared = Object.fromEntries(Object.entries(plain).map(([n, t]) => {
      const x = pooled.tensor(t.shape);
      x.data.set(t.data);
      return [n, x];
    }));
    const options = { base: 'gla' as const, topK: 3 };
    const b = await pooled.run('sse', shared as never, options);
    expect(bits(b.o.data)).toEqual(bits(single.sse(plain as never, options).o.data));
    for (const n of Object.keys(plain)) expect(bits(shared[n].data), n).toEqual(bits(plain[n].data));
  });
});

describe('plan', () => {
  it('splits one long sequence along T only for the operators with segment summaries (HLA family, gla, deltaRule); rla by groups only', () => {
    const T = 1 << 16;
    const s = (H: number) => ({ B: 1, T, H, HV: H, dk: 2, dv: 2 });
    const x = (H: number) => qkvOf(s(H), 60);
    const gk = (H: number) => ({ data: new Float32Array(T * H * 2).fill(-0.1), shape: [1, T, H, 2] });
    const rate = (H: number) => ({ data: new Float32Array(T * H).fill(0.5), shape: [1, T, H] });
    expect(plan(hlaCall('la1', checkForward('la1', x(2).q, x(2).k, x(2).v, {})), 8)?.kind).toBe('alongT');
    for (const H of [1, 2]) {
      const { q, k, v } = x(H);
      // gla and deltaRule: along T (tests/threads-gated-split.test.ts runs them).
      expect(plan(gatedCall('gla', checkGated('gla', q, k, v, { gk: gk(H) })), 8)?.kind).toBe('alongT');
      expect(plan(gatedCall('deltaRule', checkGated('deltaRule', q, k, v, { beta: rate(H) })), 8)?.kind).toBe('alongT');
      // rla, one group: nothing to split (the calling thread); two: one worker each, never along T.
      expect(plan(secondCall(checkRla(q, k, v, { correction: rate(H) })), 8)?.kind ?? null).toBe(H === 1 ? null : 'groups');
    }
  });
});

describe('the input table (ts/inputs.ts)', () => {
  it("names each operator's inputs as the binding does (Config.inputNames)", async () => {
    await initGlue({ module_or_path: readFileSync(new URL('../ts/wasm/scalar/hla_scalar_bg.wasm', import.meta.url)) });
    const dims = new Float64Array([1, 1, 1, 1, 2, 2]);
    const configs: Record<string, ReturnType<typeof glue.Config.gated>> = {
      ...Object.fromEntries(['la1', 'hla2', 'ahla', 'hla3'].map((op) => [op, glue.Config.hla(op, dims, 1, new Float32Array([1]), false, 1e-6, 0)])),
      gla: glue.Config.gated('gla', dims, 1, false),
      deltaRule: glue.Config.gated('deltaRule', dims, 1, false),
      sseGla: glue.Config.sse('gla', dims, 2, 1, true, true, false, 1),
      sseDeltaRule: glue.Config.sse('deltaRule', dims, 2, 1, true, true, false, 1),
      rla: glue.Config.rla('la', dims, 1, 'undecayed', false, 1),
    };
    expect(Object.keys(INPUTS).sort()).toEqual(Object.keys(configs).sort());
    for (const [op, config] of Object.entries(configs)) {
      expect(INPUTS[op].map(([name]) => name), op).toEqual(config.inputNames());
      config.free();
    }
  });
});
