// gla and deltaRule sessions on every backend: stepInPlace / step / prefill (recurrent and chunk
// sizes 1, 3, 16, T+5) ≡ the functional call over the same tokens, state ≡ finalState after every
// position; a bad gate in a step is a RangeError and leaves the state and position unchanged.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hla, Tensor } from '../dist/index.mjs';
import { allBackends, relErr, sliceT, tensor, TOL } from './helpers.js';

let backends: Hla[] = [];
beforeAll(async () => {
  backends = await allBackends();
});
afterAll(() => backends.forEach((h) => h.close()));

const B = 2, T = 11, H = 2, HV = 4, dk = 7, dv = 5;
const q = tensor([B, T, H, dk], 1), k = tensor([B, T, H, dk], 2), v = tensor([B, T, HV, dv], 3);
const gk = tensor([B, T, H, dk], 4, true), beta = tensor([B, T, HV], 5, true), g = tensor([B, T, HV], 6, true);
for (let i = 0; i < gk.data.length; i++) gk.data[i] = Math.log(1e-4) * gk.data[i];
for (let i = 0; i < g.data.length; i++) g.data[i] = -0.3 * g.data[i];
const token = (x: Tensor, t: number) => {
  const [b, , h, d] = x.shape.length === 4 ? x.shape : [...x.shape, 1];
  const out = new Float32Array(b * h * d);
  for (let r = 0; r < b; r++) out.set(x.data.subarray((r * T + t) * h * d, (r * T + t + 1) * h * d), r * h * d);
  return out;
};
const slice3 = (x: Tensor, a: number, c: number): Tensor => {
  const s = sliceT({ data: x.data, shape: [...x.shape, 1] }, a, c);
  return { data: s.data, shape: s.shape.slice(0, 3) };
};

describe.each(['gla', 'deltaRule'] as const)('%s session', (op) => {
  const opts = op === 'gla' ? { gk } : { beta, g, qkL2norm: true };
  const sopts = { batch: B, heads: H, valueHeads: HV, dk, dv, scale: 0.8, ...(op === 'deltaRule' ? { qkL2norm: true } : {}) };
  const functional = (hla: Hla, t: number) =>
    op === 'gla' ? hla.gla(sliceT(q, 0, t), sliceT(k, 0, t), sliceT(v, 0, t), { gk: sliceT(gk, 0, t), scale: 0.8, outputFinalState: true })
      : hla.deltaRule(sliceT(q, 0, t), sliceT(k, 0, t), sliceT(v, 0, t), { beta: slice3(beta, 0, t), g: slice3(g, 0, t), qkL2norm: true, scale: 0.8, outputFinalState: true });

  it('stepInPlace and step equal the functional call at every position', () => {
    for (const hla of backends) {
      const whole = functional(hla, T).o.data;
      const s = hla.session(op, sopts);
      const s2 = hla.session(op, sopts);
      expect(Object.keys(s.inputs)).toEqual(op === 'gla' ? ['q', 'k', 'v', 'gk'] : ['q', 'k', 'v', 'beta', 'g']);
      for (let t = 0; t < T; t++) {
        const x = op === 'gla' ? [token(q, t), token(k, t), token(v, t), token(gk, t)] : [token(q, t), token(k, t), token(v, t), token(beta, t), token(g, t)];
        Object.values(s.inputs).forEach((view, i) => view.set(x[i]));
        const out = s.stepInPlace();
        const viaStep = s2.step(...x);
        const want = new Float32Array(B * HV * dv);
        for (let r = 0; r < B; r++) want.set(whole.subarray((r * T + t) * HV * dv, (r * T + t + 1) * HV * dv), r * HV * dv);
        const ref = Array.from(want);
        expect(relErr(out, ref), `${hla.backend} t=${t}`).toBeLessThanOrEqual(TOL);
        expect(relErr(viaStep, ref), `${hla.backend} step t=${t}`).toBeLessThanOrEqual(TOL);
        // The state after t+1 tokens is the functional finalState over them.
        const fs = functional(hla, t + 1).finalState!.toFloat32Array();
        expect(relErr(s.stateFloats(), Array.from(fs)), `${hla.backend} state t=${t}`).toBeLessThanOrEqual(TOL);
        expect(s.position).toBe(t + 1);
      }
      s.free();
      s2.free();
    }
  });

  it('prefill (recurrent, chunk 1, 3, 16, T+5) then steps equals the functional call', () => {
    for (const hla of backends) {
      const whole = functional(hla, T);
      for (const m of [{ mode: 'recurrent' as const }, ...[1, 3, 16, T + 5].map((chunkSize) => ({ mode: 'chunk' as const, chunkSize }))]) {
        const s = hla.session(op, sopts);
        const cut = 6;
        const gates = op === 'gla' ? { gk: sliceT(gk, 0, cut) } : { beta: slice3(beta, 0, cut), g: slice3(g, 0, cut) };
        const o = s.prefill(sliceT(q, 0, cut), sliceT(k, 0, cut), sliceT(v, 0, cut), { ...gates, ...m } as never);
        expect(relErr(o.data, Array.from(functional(hla, cut).o.data)), `${hla.backend} ${JSON.stringify(m)}`).toBeLessThanOrEqual(TOL);
        for (let t = cut; t < T; t++) {
          const x = op === 'gla' ? [token(q, t), token(k, t), token(v, t), token(gk, t)] : [token(q, t), token(k, t), token(v, t), token(beta, t), token(g, t)];
          s.step(...x);
        }
        expect(relErr(s.stateFloats(), Array.from(whole.finalState!.toFloat32Array())), `${hla.backend} ${JSON.stringify(m)}`).toBeLessThanOrEqual(TOL);
        s.free();
      }
    }
  });

  it('snapshot at every position, restored, continues exactly like the original', () => {
    for (const hla of backends) {
      const tok = (t: number) => (op === 'gla' ? [token(q, t), token(k, t), token(v, t), token(gk, t)] : [token(q, t), token(k, t), token(v, t), token(beta, t), token(g, t)]);
      const whole = functional(hla, T).o.data;
      for (let p = 0; p <= T; p++) {
        const s = hla.session(op, sopts);
        for (let t = 0; t < p; t++) s.step(...tok(t));
        const r = hla.restore(s.snapshot(), { op });
        expect(r.op).toBe(op);
        expect(r.position).toBe(p);
        expect(r.qkL2norm).toBe(op === 'deltaRule');
        expect(Array.from(r.stateFloats())).toEqual(Array.from(s.stateFloats()));
        s.free();
        // The restored session continues to the functional outputs.
        for (let t = p; t < T; t++) {
          const out = r.step(...tok(t));
          const want: number[] = [];
          for (let row = 0; row < B; row++) want.push(...whole.subarray((row * T + t) * HV * dv, (row * T + t + 1) * HV * dv));
          expect(relErr(out, want), `${hla.backend} from ${p} at ${t}`).toBeLessThanOrEqual(TOL);
        }
        r.free();
      }
    }
    // A gated snapshot is not another operator's.
    const hla = backends[0];
    const s = hla.session(op, sopts);
    const other = op === 'gla' ? 'deltaRule' : 'gla';
    expect(() => hla.restore(s.snapshot(), { op: other })).toThrow(new RegExp(`^snapshot: expected a ${other} session`));
    s.free();
  });

  it('a bad gate in a step is a RangeError naming it; state and position unchanged', () => {
    const hla = backends[0];
    const s = hla.session(op, sopts);
    const x = op === 'gla' ? [token(q, 0), token(k, 0), token(v, 0), token(gk, 0)] : [token(q, 0), token(k, 0), token(v, 0), token(beta, 0), token(g, 0)];
    s.step(...x);
    const before = s.stateFloats();
    const bad = x.map((a) => a.slice());
    bad[3][1] = op === 'gla' ? 0.5 : NaN;
    expect(() => s.step(...bad)).toThrow(RangeError);
    expect(() => s.step(...bad)).toThrow(op === 'gla' ? /^gk\[1\]: expected a log decay ≤ 0/ : /^beta\[1\]: expected a finite rate/);
    // Written straight into the views, the kernel's own check refuses it.
    Object.values(s.inputs).forEach((view, i) => view.set(bad[i]));
    expect(() => s.stepInPlace()).toThrow(op === 'gla' ? /gk/ : /beta/);
    expect(Array.from(s.stateFloats())).toEqual(Array.from(before));
    expect(s.position).toBe(1);
    s.free();
  });
});
