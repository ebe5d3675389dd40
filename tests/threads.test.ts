// init({ threads }): hla.run splits a call over workers by (sequence, head) groups or along T,
// with either transport (shared memory, copies); results equal the single-threaded call for
// every operator and option (bit for bit by groups), and the pool ends with close().
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init, type Hla, type OpName, HLA_OPS } from '../target/testing/dist/index.mjs';
import { availableParallelism } from 'node:os';
import { hlaCall } from '../ts/call.ts';
import { plan, tasks, type Piece } from '../ts/plan.ts';
import { checkForward } from '../ts/validate.ts';
import { bruteForce } from './reference/bruteforce.js';
import { qkv, relErr, TOL } from './helpers.js';

let pooled: Hla, single: Hla;
beforeAll(async () => {
  pooled = await init({ threads: 2 });
  single = await init();
});
afterAll(() => pooled.close());


describe.each(HLA_OPS)('%s with 2 threads', (op) => {
  it('equals the single-threaded call (GQA, B=2, odd dims, decay per head, normalize, chunk and recurrent)', async () => {
    const { q, k, v } = qkv(2, 23, 3, 6, 5, 3, 61, true);
    const opts = { decay: [0.9, 1, 0.8], normalize: true, ...(op === 'hla2' ? { ridge: 0.2 } : {}) };
    const ref = bruteForce(op, q, k, v, opts);
    for (const mode of [{ mode: 'recurrent' as const }, { mode: 'chunk' as const, chunkSize: 4 }]) {
      const a = single[op](q, k, v, { ...opts, ...mode, outputFinalState: true });
      const b = await pooled.run(op, q, k, v, { ...opts, ...mode, outputFinalState: true });
      expect(Array.from(b.o.data)).toEqual(Array.from(a.o.data));
      expect(Array.from(b.finalState!.toFloat32Array())).toEqual(Array.from(a.finalState!.toFloat32Array()));
      expect(relErr(b.o.data, ref)).toBeLessThanOrEqual(TOL);
    }
  });

  it('continues from an initial state and handles cuSeqlens', async () => {
    const { q, k, v } = qkv(1, 20, 4, 4, 4, 4, 62);
    const first = single[op](q, k, v, { decay: 0.95, outputFinalState: true, cuSeqlens: [0, 5, 20] });
    const a = single[op](q, k, v, { decay: 0.95, initialState: first.finalState, cuSeqlens: [0, 9, 20], outputFinalState: true });
    const b = await pooled.run(op, q, k, v, { decay: 0.95, initialState: first.finalState, cuSeqlens: [0, 9, 20], outputFinalState: true });
    expect(Array.from(b.o.data)).toEqual(Array.from(a.o.data));
    expect(b.finalState!.sequences).toBe(2);
  });
});

describe('one long sequence', () => {
  // Lower the split threshold (an internal knob, tests/sequence.test.ts has the full matrix).
  const KNOB = Symbol.for('hla-wasm.splitMinT');
  beforeAll(() => void ((globalThis as Record<symbol, unknown>)[KNOB] = 256));
  afterAll(() => void delete (globalThis as Record<symbol, unknown>)[KNOB]);

  it.each(HLA_OPS)('%s: B=1, H=1 split along T and B=2, H=1 equal the single-threaded call', async (op) => {
    const opts = { decay: 0.97, normalize: true, outputFinalState: true, ...(op === 'hla2' ? { ridge: 0.1 } : {}) };
    for (const B of [1, 2]) {
      const { q, k, v } = qkv(B, 300, 1, 1, 7, 5, 65, true);
      const first = single[op](q, k, v, opts);
      const a = single[op](q, k, v, { ...opts, initialState: first.finalState });
      const b = await pooled.run(op, q, k, v, { ...opts, initialState: first.finalState });
      expect(relErr(b.o.data, a.o.data)).toBeLessThanOrEqual(TOL);
      expect(relErr(b.finalState!.toFloat32Array(), a.finalState!.toFloat32Array())).toBeLessThanOrEqual(TOL);
      if (B === 1) expect(relErr((await pooled.run(op, q, k, v, opts)).o.data, bruteForce(op, q, k, v, opts))).toBeLessThanOrEqual(TOL);
    }
  });
});

describe('pool', () => {
  it('reports its size; a single head runs inline; bad input is rejected before any worker runs', async () => {
    expect(pooled.threads).toBe(2);
    expect(single.threads).toBe(1);
    const { q, k, v } = qkv(1, 8, 1, 1, 4, 4, 63);
    expect(Array.from((await pooled.run('hla3', q, k, v)).o.data)).toEqual(Array.from(single.hla3(q, k, v).o.data));
    await expect(pooled.run('hla2', q, k, v, { decay: 2 })).rejects.toThrow(/decay: expected a number in \(0, 1\], got 2/);
    await expect(pooled.run('hla9' as never, q, k, v)).rejects.toThrow(/op: expected one of la1, hla2, ahla, hla3/);
  });

  it('close() ends the workers; run then falls back to the calling thread', async () => {
    const h = await init({ threads: 2 });
    const { q, k, v } = qkv(1, 8, 2, 2, 4, 4, 64);
    const before = (await h.run('la1', q, k, v)).o.data;
    h.close();
    expect(h.threads).toBe(1);
    expect(Array.from((await h.run('la1', q, k, v)).o.data)).toEqual(Array.from(before));
  });
});

describe.each(['shared', 'copy'] as const)('%s transport', (transport) => {
  const KNOB = Symbol.for('hla-wasm.transport');
  let h3: Hla, h4: Hla;
  beforeAll(async () => {
    (globalThis as Record<symbol, unknown>)[KNOB] = transport;
    [h3, h4] = await Promise.all([init({ threads: 3 }), init({ threads: 4 })]);
    delete (globalThis as Record<symbol, unknown>)[KNOB];
  });
  afterAll(() => [h3, h4].forEach((h) => h.close()));

  it('is the one in use', () => {
    expect(h3.transport).toBe(transport);
    expect(single.transport).toBeNull();
  });

  it.each(HLA_OPS)('%s: (sequence, head) groups cut mid-sequence, GQA, initial state, both modes: bit-identical', async (op) => {
    const { q, k, v } = qkv(3, 17, 5, 10, 6, 3, 81, true);
    const first = single[op](q, k, v, { decay: 0.9, outputFinalState: true });
    for (const mode of [{ mode: 'recurrent' as const }, { mode: 'chunk' as const, chunkSize: 4 }]) {
      const opts = { ...mode, decay: [0.9, 1, 0.8, 0.95, 0.7], normalize: true, initialState: first.finalState, outputFinalState: true };
      const a = single[op](q, k, v, opts);
      for (const h of [h3, h4]) {
        const b = await h.run(op, q, k, v, opts);
        expect(Array.from(b.o.data)).toEqual(Array.from(a.o.data));
        expect(Array.from(b.finalState!.toFloat32Array())).toEqual(Array.from(a.finalState!.toFloat32Array()));
      }
    }
  });

  it('tasks go to whichever worker is free; with shared memory a stalled worker\'s queued tasks are taken over too', async () => {
    const { q, k, v } = qkv(4, 64, 8, 8, 8, 8, 86);
    const opts = { decay: 0.97, outputFinalState: true };
    const a = single.la1(q, k, v, opts);
    (h3 as unknown as { _stallWorkerForTests(w: number, ms: number): void })._stallWorkerForTests(0, 400);
    const b = await h3.run('la1', q, k, v, opts);
    expect(Array.from(b.o.data)).toEqual(Array.from(a.o.data));
    expect(Array.from(b.finalState!.toFloat32Array())).toEqual(Array.from(a.finalState!.toFloat32Array()));
    const workers = (h3 as unknown as { _lastRunProfile: { workers: ({ jobs: number } | undefined)[] } })._lastRunProfile.workers;
    const jobs = [0, 1, 2].map((w) => workers[w]?.jobs ?? 0);
    expect(jobs[1] + jobs[2]).toBeGreaterThanOrEqual(8);
    // Shared memory: both tasks queued on it were taken over (it replies that it skipped them);
    // without, it runs the two it was sent.
    expect(jobs[0]).toBe(transport === 'shared' ? 0 : 2);
    expect(Array.from((await h3.run('la1', q, k, v, opts)).o.data)).toEqual(Array.from(a.o.data)); // the pool goes on
  });

  it('sequences split into four or more tasks by heads (their rows faulted in by this thread, between replies): bit-identical', async () => {
    const { q, k, v } = qkv(2, 64, 32, 32, 4, 4, 87);
    const opts = { decay: 0.97, outputFinalState: true };
    const a = single.hla2(q, k, v, opts);
    const b = await h4.run('hla2', q, k, v, opts);
    const plan = (h4 as unknown as { _lastRunProfile: { plan: { tasks: { s0: number }[] } } })._lastRunProfile.plan;
    for (const s of [0, 1]) expect(plan.tasks.filter((t) => t.s0 === s).length).toBeGreaterThanOrEqual(4);
    expect(Array.from(b.o.data)).toEqual(Array.from(a.o.data));
    expect(Array.from(b.finalState!.toFloat32Array())).toEqual(Array.from(a.finalState!.toFloat32Array()));
  });

  it('plain inputs of several MiB go into shared memory a step at a time while the first tasks run: bit-identical', async () => {
    // Another call first, so that the reused staging buffers hold other values: a task posted
    // before its rows were copied would read those.
    const other = qkv(8, 256, 4, 4, 32, 32, 88);
    await h4.run('la1', other.q, other.k, other.v, { decay: 0.9 });
    const { q, k, v } = qkv(8, 256, 4, 4, 32, 32, 89);
    const opts = { decay: 0.97, outputFinalState: true };
    const a = single.la1(q, k, v, opts);
    const b = await h4.run('la1', q, k, v, opts);
    expect(Array.from(b.o.data)).toEqual(Array.from(a.o.data));
    expect(Array.from(b.finalState!.toFloat32Array())).toEqual(Array.from(a.finalState!.toFloat32Array()));
  });

  it('cuSeqlens of unequal lengths over 4 workers: bit-identical', async () => {
    const { q, k, v } = qkv(1, 40, 3, 3, 4, 4, 82);
    const opts = { decay: 0.95, cuSeqlens: [0, 3, 30, 31, 40], outputFinalState: true };
    const a = single.la1(q, k, v, opts), b = await h4.run('la1', q, k, v, opts);
    expect(Array.from(b.o.data)).toEqual(Array.from(a.o.data));
    expect(Array.from(b.finalState!.toFloat32Array())).toEqual(Array.from(a.finalState!.toFloat32Array()));
  });

  it('inputs from hla.tensor (shared memory) give the same results as plain ones', async () => {
    const { q, k, v } = qkv(2, 33, 4, 4, 8, 8, 83);
    const shared = [q, k, v].map((t) => {
      const s = h4.tensor(t.shape);
      s.data.set(t.data);
      return s;
    });
    expect(shared[0].data.buffer).toBeInstanceOf(SharedArrayBuffer);
    const b = await h4.run('hla2', shared[0], shared[1], shared[2], { decay: 0.97 });
    expect(Array.from(b.o.data)).toEqual(Array.from(single.hla2(q, k, v, { decay: 0.97 }).o.data));
    expect(Array.from(shared[0].data)).toEqual(Array.from(q.data)); // inputs untouched
  });

  describe('heads × T: one sequence with fewer heads than workers', () => {
    const KNOB_T = Symbol.for('hla-wasm.splitMinT');
    beforeAll(() => void ((globalThis as Record<symbol, unknown>)[KNOB_T] = 256));
    afterAll(() => void delete (globalThis as Record<symbol, unknown>)[KNOB_T]);

    it.each(HLA_OPS)('%s: 2 heads over 4 workers (each head along T on 2) within float32 rounding', async (op) => {
      const { q, k, v } = qkv(1, 600, 2, 4, 6, 5, 84, true);
      for (const normalize of [false, true]) {
        const opts = { decay: [0.97, 0.99], normalize, outputFinalState: true };
        const first = single[op](q, k, v, opts);
        const a = single[op](q, k, v, { ...opts, initialState: first.finalState });
        const b = await h4.run(op, q, k, v, { ...opts, initialState: first.finalState });
        expect(relErr(b.o.data, a.o.data)).toBeLessThanOrEqual(TOL);
        expect(relErr(b.finalState!.toFloat32Array(), a.finalState!.toFloat32Array())).toBeLessThanOrEqual(TOL);
      }
    });
  });
});

describe('plan', () => {
  const c = (B: number, T: number, H: number, cuSeqlens?: number[]) => {
    const { q, k, v } = qkv(B, T, H, H, 2, 2, 85);
    return hlaCall('la1', checkForward('la1', q, k, v, cuSeqlens ? { cuSeqlens } : {}));
  };
  const work = (pieces: Piece[], cu: (s: number) => number) => pieces.reduce((a, p) => a + (p.h1 - p.h0) * (cu(p.s1) - cu(p.s0)), 0);

  /** The groups g = s·H + h of a task list, in order. */
  const groupsOf = (ts: Piece[], H: number) => ts.flatMap((p) => Array.from({ length: (p.s1 - p.s0) * (p.h1 - p.h0) }, (_, i) => {
    const s = p.s0 + Math.floor(i / (p.h1 - p.h0));
    return s * H + p.h0 + (i % (p.h1 - p.h0));
  }));

  it('cuts (sequence, head) groups into tasks that shrink: whole sequences first, every group once, in order', () => {
    const seq = (s: number, h0 = 0, h1 = 8) => ({ s0: s, s1: s + 1, h0, h1 });
    // B=16, H=8 over 8 workers: a sequence each, then halves, then quarters (twice).
    expect(tasks(c(16, 1024, 8), 8)).toEqual([
      ...Array.from({ length: 8 }, (_, s) => seq(s)),
      ...[8, 9, 10, 11].flatMap((s) => [seq(s, 0, 4), seq(s, 4, 8)]),
      ...[12, 13, 14, 15].flatMap((s) => [0, 2, 4, 6].map((h) => seq(s, h, h + 2))),
    ]);
    // A small call: two tasks per worker, as large as the first ones.
    expect(tasks(c(16, 8, 8), 8)).toEqual(Array.from({ length: 16 }, (_, s) => seq(s)));
    // Fewer than four groups per worker: equal shares, one per worker.
    expect(tasks(c(1, 8, 16), 8)).toEqual(Array.from({ length: 8 }, (_, w) => ({ s0: 0, s1: 1, h0: 2 * w, h1: 2 * w + 2 })));
    expect(tasks(c(1, 8, 16), 16)).toEqual(Array.from({ length: 16 }, (_, h) => ({ s0: 0, s1: 1, h0: h, h1: h + 1 })));
    expect(tasks(c(3, 8, 5), 4).map((t) => work([t], (s) => 8 * s) / 8)).toEqual([4, 1, 3, 2, 2, 3]); // 15 groups: runs of 4, 4, 4, 3 (cut at sequences)
    expect(tasks(c(16, 1024, 8), 1)).toEqual([{ s0: 0, s1: 8, h0: 0, h1: 8 }, { s0: 8, s1: 12, h0: 0, h1: 8 }, { s0: 12, s1: 14, h0: 0, h1: 8 }, { s0: 14, s1: 16, h0: 0, h1: 8 }]);
    // A sequence that holds most of the work is a task of its own.
    const cu = [0, 2, 30, 32, 40];
    const uneven = tasks(c(1, 40, 2, cu), 4);
    expect(uneven.map((t) => work([t], (s) => cu[s]))).toEqual([4, 28, 28, 20]); // 8 groups over 4 workers: equal shares
    for (const [B, T, H, w] of [[3, 8, 5, 4], [7, 3, 3, 16], [1, 5, 64, 3], [40, 2, 1, 6], [2, 9, 7, 2]]) {
      const ts = tasks(c(B, T, H), w);
      expect(groupsOf(ts, H)).toEqual(Array.from({ length: B * H }, (_, g) => g));
      expect(ts.length).toBeLessThanOrEqual(Math.min(B * H, 4 * w + 2 * B));
      const costs = ts.map((t) => work([t], (s) => T * s));
      // No task over half an even share (an even share with fewer than four groups per worker).
      expect(Math.max(...costs)).toBeLessThanOrEqual(Math.max(T, (B * H * T) / (B * H < 4 * w ? w : 2 * w) + T / 2));
    }
  });

  it('splits along T (heads × T) only for one sequence with fewer heads than workers', () => {
    expect(plan(c(1, 65536, 1), 8)?.kind).toBe('alongT');
    const mixed = plan(c(1, 65536, 2), 8);
    expect(mixed?.kind === 'alongT' && mixed.parts.map((p) => [p.h0, p.h1, p.workers])).toEqual([[0, 1, [0, 1, 2, 3]], [1, 2, [4, 5, 6, 7]]]);
    expect(plan(c(1, 65536, 8), 8)?.kind).toBe('groups');
    expect(plan(c(2, 65536, 1), 8)?.kind).toBe('groups');
    expect(plan(c(1, 100, 1), 8)).toBeNull(); // short: nothing to split
    expect(plan(c(1, 65536, 4), 1)).toBeNull();
  });

  it("init({ threads: 'auto' }) starts one worker per core", async () => {
    const h = await init({ threads: 'auto' });
    try {
      expect(h.threads).toBe(Math.min(64, availableParallelism()));
    } finally {
      h.close();
    }
  });
});
