// Issue #10, case by case: hostile sizes, crafted snapshots, traps and the smaller holes. Every
// case runs next to 24 live sessions of the same wasm instance and must leave them bit for bit
// as they were, grow wasm memory by less than 64 MiB, throw a TypeError/RangeError naming the
// argument (or succeed, where the case is a legitimate call), and leave the instance
// and the session it targets usable.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init, type Hla, type Session } from '../target/testing/dist/index.mjs';
import { qkv, relErr, tensor } from './helpers.js';
import { crc32, craft, snapshotFields } from './snapshots.js';

const MiB = 2 ** 20;
/** The largest wasm memory growth of any case (printed at the end). */
let maxGrowth = 0;
let hla: Hla;
let others: Session[];

/** 24 sessions of every operator, stepped a few tokens: their snapshots must never change. */
function liveSessions(h: Hla): Session[] {
  const out: Session[] = [];
  for (let i = 0; i < 24; i++) {
    const op = (['la1', 'hla2', 'ahla', 'hla3'] as const)[i % 4];
    const s = h.session(op, { heads: 1 + (i % 2), dk: 4 + (i % 3), dv: 3 + (i % 5), decay: 0.95, ridge: op === 'hla2' && i % 8 === 1 ? 0.1 : undefined });
    for (let t = 0; t < 3 + (i % 4); t++) {
      const { q, k, v } = s.inputs;
      q.fill(0.1 * (t + 1)); k.fill(0.2 - 0.01 * i); v.fill(0.3 + 0.01 * t);
      s.stepInPlace();
    }
    out.push(s);
  }
  return out;
}

const snaps = () => others.map((s) => Array.from(s.snapshot()));

beforeAll(async () => {
  hla = await init();
  others = liveSessions(hla);
});
afterAll(() => {
  console.log(`hostile cases: largest wasm memory growth of one case ${(maxGrowth / MiB).toFixed(2)} MiB`);
  others.forEach((s) => s.free());
});

/** A reference call whose result must not change across any case. */
function reference(h: Hla): number[] {
  const { q, k, v } = qkv(1, 5, 2, 2, 3, 2, 77);
  return Array.from(h.hla2(q, k, v, { decay: 0.9 }).o.data);
}

/** Runs `call` and checks everything the issue asks of a rejected (or accepted) hostile call. */
function hostile(call: () => unknown, kind: typeof TypeError | typeof RangeError | null, message?: RegExp) {
  const before = snaps();
  const ref = reference(hla);
  const mem = hla.memoryBytes;
  let err: unknown = null;
  try {
    call();
  } catch (e) {
    err = e;
  }
  if (kind) {
    expect(err, 'the call must throw').toBeInstanceOf(kind);
    if (message) expect((err as Error).message).toMatch(message);
  } else {
    expect(err).toBeNull();
  }
  maxGrowth = Math.max(maxGrowth, hla.memoryBytes - mem);
  expect(hla.memoryBytes - mem, 'wasm memory growth').toBeLessThan(64 * MiB);
  expect(snaps()).toEqual(before);
  expect(reference(hla)).toEqual(ref);
  // A new session works next to the old ones.
  const s = hla.session('la1', { heads: 1, dk: 2, dv: 2 });
  expect(s.step(new Float32Array([1, 0]), new Float32Array([1, 0]), new Float32Array([2, 3]))).toEqual(new Float32Array([2 / Math.SQRT2, 3 / Math.SQRT2].map(Math.fround)));
  s.free();
}

describe('item 1: sizes that wrap in wasm32', () => {
  it("hla.session('hla2', { dk: 65536 }): RangeError naming the state", () => {
    hostile(() => hla.session('hla2', { heads: 1, dk: 65536, dv: 1 }), RangeError, /^state: expected a hla2 state .* of at most 536,870,911 floats .*got 4,295,098,368 floats/);
  });
  it('hla.hla2 with dk = 65536 (a 256 KiB input)', () => {
    const q = tensor([1, 1, 1, 65536], 1), k = tensor([1, 1, 1, 65536], 2), v = tensor([1, 1, 1, 1], 3);
    hostile(() => hla.hla2(q, k, v), RangeError, /^state: expected a hla2 state/);
  });
  it('hla.hla2 with dk = 65536 and T = 0 (no input at all)', () => {
    const z = (d: number) => ({ data: new Float32Array(0), shape: [1, 0, 1, d] });
    hostile(() => hla.hla2(z(65536), z(65536), z(1)), RangeError, /^state: /);
  });
  it('a 64-byte snapshot with a valid CRC: hla2, dims [1,1,1,65536,1], no state floats', () => {
    const bytes = craft({ op: 1, dims: [1, 1, 1, 65536, 1], nState: 0 });
    expect(bytes.length).toBe(64);
    hostile(() => hla.restore(bytes), RangeError, /^snapshot state: expected a hla2 state .*at most 536,870,911 floats/);
  });
  it("sizes ≥ 2^32: hla.session('la1', { heads: 2, dk: 2**32 + 2, dv: 4 })", () => {
    hostile(() => hla.session('la1', { heads: 2, dk: 2 ** 32 + 2, dv: 4 }), RangeError, /^dk: expected inputs q, k of batch·heads·dk of at most 536,870,911 floats/);
  });
  it('sizes ≥ 2^32 in a tensor shape (T = 0)', () => {
    const z = (d: number) => ({ data: new Float32Array(0), shape: [1, 0, 2, d] });
    hostile(() => hla.la1(z(2 ** 32 + 2), z(2 ** 32 + 2), z(4)), RangeError, /^state: /);
  });
});

describe('item 2: restore validates everything before constructing', () => {
  it('a small snapshot claiming a 256 MiB state: nothing allocated', () => {
    hostile(() => hla.restore(craft({ op: 0, dims: [1, 1, 1, 8192, 8192], nState: 0 })), RangeError, /^snapshot state: expected 67117056 floats \(the state of its dims\), got 0/);
  });
  it('a small snapshot claiming a 3.9 GiB session', () => {
    hostile(() => hla.restore(craft({ op: 3, dims: [1, 1, 1, 31000, 31000], nState: 0 })), RangeError, /^snapshot state: expected a hla3 state/);
  });
  for (const [name, position] of [['NaN', NaN], ['Infinity', Infinity], ['-Infinity', -Infinity], ['negative', -1], ['fractional', 1.5], ['past 2^53', 2 ** 60]] as const) {
    it(`position ${name}`, () => {
      hostile(() => hla.restore(craft({ op: 0, dims: [1, 1, 1, 2, 2], position })), RangeError, /^snapshot position: expected an integer in \[0, 2\^53 − 1\]/);
    });
  }
  it('reserved flag bits', () => {
    hostile(() => hla.restore(craft({ op: 0, dims: [1, 1, 1, 2, 2], flags: 8 })), RangeError, /^snapshot flags: expected bits 0 \(normalize\), 1 \(ridge\) and 2 \(qkL2norm\) only, got 8/);
    // Bit 2 (qkL2norm) belongs to deltaRule only.
    hostile(() => hla.restore(craft({ op: 0, dims: [1, 1, 1, 2, 2], flags: 4 })), RangeError, /^snapshot flags: expected no qkL2norm bit \(la1 has no qkL2norm\), got 4/);
  });
  it('version 0', () => {
    hostile(() => hla.restore(craft({ op: 0, dims: [1, 1, 1, 2, 2], version: 0 })), RangeError, /^snapshot: expected format version ≥ 1, got version 0/);
  });
  it('decay count neither 1 nor heads', () => {
    hostile(() => hla.restore(craft({ op: 0, dims: [1, 2, 2, 2, 2], decay: [0.5, 0.5, 0.5] })), RangeError, /^snapshot decay count: expected 1 or heads = 2, got 3/);
  });
  for (const g of [0, 1.5, NaN, -0.5]) {
    it(`decay ${g}`, () => {
      hostile(() => hla.restore(craft({ op: 0, dims: [1, 1, 1, 2, 2], decay: [g] })), RangeError, /^snapshot decay\[0\]: expected a number in \(0, 1\]/);
    });
  }
  it('scale, eps, ridge the session would refuse', () => {
    hostile(() => hla.restore(craft({ op: 0, dims: [1, 1, 1, 2, 2], scale: Infinity })), RangeError, /^snapshot scale: expected a finite number/);
    hostile(() => hla.restore(craft({ op: 0, dims: [1, 1, 1, 2, 2], eps: 0 })), RangeError, /^snapshot eps: expected a finite number > 0/);
    hostile(() => hla.restore(craft({ op: 0, dims: [1, 1, 1, 2, 2], ridge: 0.5, flags: 2 })), RangeError, /^snapshot ridge: expected 0 \(la1 has no ridge term\)/);
  });
  it('zero dims and value heads not a multiple of heads', () => {
    hostile(() => hla.restore(craft({ op: 0, dims: [1, 0, 1, 2, 2] })), RangeError, /^snapshot heads: expected an integer in \[1, 536870911\], got 0/);
    hostile(() => hla.restore(craft({ op: 0, dims: [1, 2, 3, 2, 2] })), RangeError, /^snapshot valueHeads: expected a multiple of heads = 2, got 3/);
  });
  it('a state count that is not the true state length', () => {
    hostile(() => hla.restore(craft({ op: 2, dims: [1, 1, 1, 2, 2], nState: 11 })), RangeError, /^snapshot state: expected 12 floats \(the state of its dims\), got 11/);
  });
  it("restore(bytes, 'la1'): a TypeError (expect is { op })", () => {
    const bytes = others[0].snapshot();
    hostile(() => hla.restore(bytes, 'la1' as never), TypeError, /^expect: expected an object \{ op \}/);
    hostile(() => hla.restore(bytes, { op: 'toString' as never }), RangeError, /^expect\.op: expected one of la1, hla2, ahla, hla3, got "toString"/);
    hostile(() => hla.restore(bytes, { op: 'hla2' }), RangeError, /^snapshot: expected a hla2 session \(as asked\), got a la1 session/);
    const s = hla.restore(bytes, { op: 'la1' });
    expect(Array.from(s.snapshot())).toEqual(Array.from(bytes));
    s.free();
  });
  it('the crafted snapshots restore when they are valid (the crafting is right)', () => {
    const s = hla.restore(craft({ op: 1, dims: [1, 2, 4, 3, 2], decay: [0.5, 0.75], position: 7, flags: 3, ridge: 0.25, nState: 78 }));
    expect([s.op, s.heads, s.valueHeads, s.dk, s.dv, s.position, s.ridge, s.normalize]).toEqual(['hla2', 2, 4, 3, 2, 7, 0.25, true]);
    s.free();
  });
});

describe('item 3: a trap is contained', () => {
  it('a panic replaces the instance: old sessions throw a true error, new ones work, memory is the fresh instance', async () => {
    const h = await init();
    const s = h.session('hla2', { heads: 1, dk: 3, dv: 2 });
    s.step(new Float32Array(3).fill(1), new Float32Array(3).fill(1), new Float32Array(2).fill(1));
    const ref = reference(h);
    expect(() => (h as unknown as { _panicForTests(): void })._panicForTests()).toThrow(/deliberate panic.*The wasm instance was replaced by a fresh one: sessions of the \w+ flavour created before now lost their state and throw when used; new calls and sessions work/);
    for (const use of [() => s.position, () => s.snapshot(), () => s.step(new Float32Array(3), new Float32Array(3), new Float32Array(2)), () => s.inputs, () => s.reset()]) {
      expect(use).toThrow(/^session \(hla2\): the wasm instance was reset after an internal error; this session's state is lost$/);
    }
    expect(() => s.free()).not.toThrow();
    expect(s.freed).toBe(true);
    expect(reference(h)).toEqual(ref);
    const t = h.session('hla2', { heads: 1, dk: 3, dv: 2 });
    expect(t.step(new Float32Array(3).fill(1), new Float32Array(3).fill(1), new Float32Array(2).fill(1)).length).toBe(2);
    t.free();
    // The shared sessions of this file were in the replaced instance too: make new ones.
    others = liveSessions(hla);
  });

  it('a trap inside a session call (mutably borrowed, as in prefill) does not brick the wrapper', async () => {
    const h = await init();
    const s = h.session('la1', { heads: 1, dk: 2, dv: 2 });
    expect(() => (s as unknown as { _panicForTests(): void })._panicForTests()).toThrow(/deliberate panic inside a session call/);
    // Before containment: "recursive use of an object detected" / "attempted to take ownership".
    expect(() => s.position).toThrow(/this session's state is lost/);
    expect(() => s.free()).not.toThrow();
    const t = h.session('la1', { heads: 1, dk: 2, dv: 2 });
    expect(t.position).toBe(0);
    t.free();
    others = liveSessions(hla);
  });

  it('20 trap cycles: no leak (each fresh instance starts small) and no stale panic message', async () => {
    const h = await init();
    for (let i = 0; i < 20; i++) {
      const s = h.session('hla3', { heads: 1, dk: 8, dv: 8 });
      expect(() => (s as unknown as { _panicForTests(): void })._panicForTests()).toThrow(/deliberate panic inside a session call/);
      expect(h.memoryBytes).toBeLessThan(8 * MiB);
    }
    const { q, k, v } = qkv(1, 4, 1, 1, 3, 2, 5);
    expect(h.la1(q, k, v).o.data.length).toBe(8);
    others = liveSessions(hla);
  });
});

describe('item 4: oversized requests', () => {
  it('la1, T = 65536, chunkSize 65536 runs (chunks of 1024) and matches the recurrence', () => {
    const { q, k, v } = qkv(1, 65536, 1, 1, 2, 2, 11);
    let chunk: Float32Array | null = null;
    hostile(() => {
      chunk = hla.la1(q, k, v, { chunkSize: 65536, decay: 0.999 }).o.data;
    }, null);
    const rec = hla.la1(q, k, v, { mode: 'recurrent', decay: 0.999 }).o.data;
    expect(relErr(chunk!, rec)).toBeLessThan(1e-4);
  });
  it('a session whose state would be ≥ 2 GiB', () => {
    hostile(() => hla.session('la1', { heads: 1, dk: 1, dv: 2 ** 29 }), RangeError, /^dv: expected inputs v, output o .* of at most 536,870,911 floats|^state: /);
    hostile(() => hla.session('hla2', { heads: 1, dk: 23171, dv: 1 }), RangeError, /^state: expected a hla2 state/);
    hostile(() => hla.session('hla3', { heads: 1, dk: 6, dv: 218007350 }), RangeError, /^state: expected a hla3 state/);
  });
  it('stateBytes validates and names the limit', () => {
    hostile(() => hla.stateBytes('hla2', { dk: 65536, dv: 1 }), RangeError, /^dims: expected a hla2 state of at most 536,870,911 floats/);
    hostile(() => hla.stateBytes('toString' as never, { dk: 2, dv: 2 }), RangeError, /^op: expected one of la1, hla2, ahla, hla3, got "toString"/);
    hostile(() => hla.stateBytes('la1', { dk: 2.5, dv: 2 }), RangeError, /^dims\.dk: expected a positive integer, got 2\.5/);
    hostile(() => hla.stateBytes('la1', { dk: 2, dv: 2, ridge: true }), RangeError, /^dims\.ridge: expected false or absent/);
    hostile(() => hla.stateBytes('la1', null as never), TypeError, /^dims: expected an object/);
    expect(hla.stateBytes('hla2', { dk: 4, dv: 2 })).toBe(4 * (16 + 4 + 8));
  });
  it("README's largest dk and dv (Limits → Sizes) are exactly the last accepted sizes", () => {
    // [op, dk, dv] at the limit; one more in the growing dimension is refused.
    const edges: [string, number, number, 'dk' | 'dv'][] = [
      ['hla2', 23169, 1, 'dk'], ['hla2', 23137, 64, 'dk'], ['hla3', 23168, 1, 'dk'], ['hla3', 23105, 64, 'dk'],
      ['la1', 268435455, 1, 'dk'], ['la1', 8259552, 64, 'dk'], ['ahla', 134217727, 1, 'dk'], ['ahla', 4129776, 64, 'dk'],
      ['la1', 64, 8388606, 'dv'], ['hla2', 64, 8388542, 'dv'], ['ahla', 64, 4194302, 'dv'], ['hla3', 64, 4194270, 'dv'],
    ];
    for (const [op, dk, dv, grow] of edges) {
      expect(hla.stateBytes(op as never, { dk, dv }), `${op} dk ${dk} dv ${dv}`).toBeLessThanOrEqual(4 * 536870911);
      const more = grow === 'dk' ? { dk: dk + 1, dv } : { dk, dv: dv + 1 };
      expect(() => hla.stateBytes(op as never, more), `${op} ${JSON.stringify(more)}`).toThrow(RangeError);
    }
  });
});

describe('item 6: the smaller holes', () => {
  it("operator names are own keys: 'toString', 'constructor', '__proto__' are refused everywhere", async () => {
    const { q, k, v } = qkv(1, 2, 1, 1, 2, 2, 1);
    for (const op of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      hostile(() => hla.session(op as never, { heads: 1, dk: 2, dv: 2 }), RangeError, /^op: expected one of la1, hla2, ahla, hla3/);
      await expect(hla.run(op as never, q, k, v)).rejects.toThrow(/^op: expected one of la1, hla2, ahla, hla3/);
    }
  });
  it("a Float32Array whose own 'length' lies is read by its true length", () => {
    const { k, v } = qkv(1, 6, 2, 2, 3, 2, 1);
    const data = new Float32Array(4096);
    Object.defineProperty(data, 'length', { value: 36 });
    hostile(() => hla.hla2({ data, shape: [1, 6, 2, 3] }, k, v), RangeError, /^q\.data\.length: expected 36 \(the product of shape \[1, 6, 2, 3\]\), got 4096/);
    const s = hla.session('la1', { heads: 1, dk: 3, dv: 2 });
    const liar = new Float32Array(100000);
    Object.defineProperty(liar, 'length', { value: 3 });
    hostile(() => s.step(liar, new Float32Array(3), new Float32Array(2)), RangeError, /^q\.length: expected 3 .*got 100000/);
    expect(s.position).toBe(0);
    s.free();
  });
  it('s.step(q, s.inputs.q, v): an argument aliasing the session’s own view is read before it is overwritten', () => {
    const a = hla.session('hla2', { heads: 1, dk: 3, dv: 2, decay: 0.9 });
    const b = hla.session('hla2', { heads: 1, dk: 3, dv: 2, decay: 0.9 });
    for (let t = 0; t < 4; t++) {
      const q = new Float32Array([0.1 * t, 0.2, -0.3]), v = new Float32Array([1, t]);
      a.inputs.q.set([0.5, -t, 0.25]);
      const oa = a.step(q, a.inputs.q, v); // the case: k is the view q's copy overwrites
      const ob = b.step(q, new Float32Array([0.5, -t, 0.25]), v);
      expect(Array.from(oa)).toEqual(Array.from(ob));
      const ov = a.step(a.inputs.k, a.inputs.q, a.output); // every argument aliased
      const ow = b.step(b.inputs.k.slice(), b.inputs.q.slice(), b.output.slice());
      expect(Array.from(ov)).toEqual(Array.from(ow));
    }
    expect(Array.from(a.snapshot())).toEqual(Array.from(b.snapshot()));
    a.free(); b.free();
  });
  it('prefill(q, k, v, 5) and step with a fourth argument are TypeErrors; the session is unchanged', () => {
    const s = hla.session('la1', { heads: 1, dk: 2, dv: 2 });
    s.step(new Float32Array([1, 2]), new Float32Array([3, 4]), new Float32Array([5, 6]));
    const before = Array.from(s.snapshot());
    const { q, k, v } = qkv(1, 3, 1, 1, 2, 2, 1);
    hostile(() => s.prefill(q, k, v, 5 as never), TypeError, /^prefill options: expected an object/);
    hostile(() => (s.prefill as (...a: unknown[]) => unknown)(q, k, v, {}, 5), TypeError, /^prefill: expected 3 or 4 arguments/);
    hostile(() => (s.step as (...a: unknown[]) => unknown)(q.data.subarray(0, 2), k.data.subarray(0, 2), v.data.subarray(0, 2), 1), TypeError, /^step: expected 3 arguments/);
    expect(Array.from(s.snapshot())).toEqual(before);
    s.free();
  });
  it('options that under/overflow float32 are refused at creation, so every snapshot restores', () => {
    hostile(() => hla.session('la1', { heads: 1, dk: 2, dv: 2, scale: 1e300 }), RangeError, /^scale: expected a number representable as float32/);
    hostile(() => hla.session('la1', { heads: 1, dk: 2, dv: 2, decay: 1e-46 }), RangeError, /^decay: expected a number representable as float32/);
    hostile(() => hla.session('hla2', { heads: 1, dk: 2, dv: 2, ridge: 1e-46 }), RangeError, /^ridge: expected a number representable as float32/);
    hostile(() => hla.session('hla2', { heads: 1, dk: 2, dv: 2, eps: 1e-46 }), RangeError, /^eps: expected a number representable as float32/);
    const { q, k, v } = qkv(1, 2, 1, 1, 2, 2, 1);
    hostile(() => hla.la1(q, k, v, { decay: [1e-50] }), RangeError, /^decay\[0\]: expected a number representable as float32/);
    // The smallest that survive do restore.
    const s = hla.session('hla2', { heads: 1, dk: 2, dv: 2, ridge: 1e-45, decay: 1e-45, eps: 1e-45, scale: 3e38 });
    const r = hla.restore(s.snapshot());
    expect(Array.from(r.snapshot())).toEqual(Array.from(s.snapshot()));
    s.free(); r.free();
  });
  it('init({ wasm }) after that flavour was loaded says so instead of ignoring it', async () => {
    await expect(init({ backend: hla.backend, wasm: new Uint8Array(8) })).rejects.toThrow(/^wasm: expected no source, or the one \w+ was first loaded from \(one instance per flavour per realm\)/);
    expect((await init({ backend: hla.backend })).backend).toBe(hla.backend);
  });
  it('after free(), inputs and output throw; views kept from before are plain zero-copy views (README)', () => {
    const s = hla.session('la1', { heads: 1, dk: 2, dv: 2 });
    s.free();
    expect(() => s.inputs).toThrow(/used after free\(\)/);
    expect(() => s.output).toThrow(/used after free\(\)/);
    expect(() => s.step(new Float32Array(2), new Float32Array(2), new Float32Array(2))).toThrow(/used after free\(\)/);
  });
  it('a failing call leaves the session unchanged and usable', () => {
    const s = hla.session('hla3', { heads: 2, dk: 3, dv: 2, decay: 0.9 });
    const { q, k, v } = qkv(1, 5, 2, 2, 3, 2, 3);
    s.prefill(q, k, v);
    const before = Array.from(s.snapshot());
    const bad: [() => unknown, typeof Error][] = [
      [() => s.step(new Float32Array(5), new Float32Array(6), new Float32Array(4)), RangeError],
      [() => s.step(new Float32Array(6), new Float32Array(6), [1, 2, 3, 4] as never), TypeError],
      [() => s.prefill(q, k, tensor([1, 4, 2, 2], 1)), RangeError],
      [() => s.prefill(q, k, v, { chunkSize: 0 }), RangeError],
      [() => s.prefill(q, k, v, { mode: 'x' as never }), RangeError],
      [() => s.prefill({ data: new Float32Array(0), shape: [1, 0, 2, 3] }, { data: new Float32Array(0), shape: [1, 0, 2, 3] }, { data: new Float32Array(0), shape: [1, 0, 2, 2] }, { chunkSize: 2 ** 40 }), RangeError],
    ];
    for (const [call, kind] of bad) {
      hostile(call, kind);
      expect(Array.from(s.snapshot())).toEqual(before);
    }
    expect(s.position).toBe(5);
    s.step(new Float32Array(6), new Float32Array(6), new Float32Array(4));
    expect(s.position).toBe(6);
    s.free();
  });
});

describe('snapshot helpers used by the fuzz', () => {
  it('craft() writes what session.snapshot() writes', () => {
    const s = others[1];
    const f = snapshotFields(s.snapshot());
    const again = craft(f);
    expect(Array.from(again)).toEqual(Array.from(s.snapshot()));
    expect(crc32(new Uint8Array([1, 2, 3]))).toBe(0x55bc801d);
  });
});
