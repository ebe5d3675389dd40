// Fuzzing every public entry (issue #10): fast-check drives the functional operators, hla.run,
// sessions (create, step, prefill, snapshot, restore), hla.stateBytes and restore with random
// bytes, and a mutation fuzz rewrites the headers of real snapshots with the CRC recomputed, so
// that the header validation, not the checksum, is what gets exercised. An independent oracle
// (below, written from the README's rules and limits, not from ts/) says whether each call is
// valid: a valid call must succeed, an invalid one must throw a TypeError or RangeError. Counted:
// traps (any other error), accepted nonsense (an invalid call that succeeded), wrongly refused
// calls; all must be zero, with wasm memory growth under 64 MiB and 24 live sessions unchanged.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HLA_OPS, init, type Hla, type Session } from '../dist/index.mjs';
import { craft, crc32, snapshotFields, type Fields } from './snapshots.js';

const MAX = 536_870_911; // floats in one wasm32 buffer
const MAX_CHUNK = 1024;
const OPS = HLA_OPS; // by snapshot code: la1, hla2, ahla, hla3
const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
/** FUZZ_RUNS=0.01 for a quick look; the counts below assume the full runs. */
const RUNS = (n: number) => Math.ceil(n * Number(process.env.FUZZ_RUNS ?? 1));

let hla: Hla;
let others: Session[];
let memoryAtStart = 0;
const counts = { cases: 0, accepted: 0, rejected: 0, traps: 0, nonsense: 0, wronglyRefused: 0 };
const mutation = { cases: 0, accepted: 0, rejected: 0, traps: 0, nonsense: 0, wronglyRefused: 0 };

beforeAll(async () => {
  hla = await init();
  others = OPS.flatMap((op, i) => Array.from({ length: 6 }, (_, j) => {
    const s = hla.session(op, { heads: 1 + (j % 2), dk: 3 + i, dv: 2 + j, decay: 0.9 });
    s.step(new Float32Array(s.inputs.q.length).fill(0.3), new Float32Array(s.inputs.k.length).fill(-0.2), new Float32Array(s.inputs.v.length).fill(0.7));
    return s;
  }));
  memoryAtStart = hla.memoryBytes;
});
afterAll(() => {
  console.log(`fuzz of the public entries: ${JSON.stringify(counts)}`);
  console.log(`snapshot mutation fuzz: ${JSON.stringify(mutation)}`);
  console.log(`wasm memory: ${(memoryAtStart / 2 ** 20).toFixed(1)} MiB before the fuzz, ${(hla.memoryBytes / 2 ** 20).toFixed(1)} MiB after`);
  others.forEach((s) => s.free());
});

// ---- the oracle -------------------------------------------------------------------------

const f32 = Math.fround;
const isF32 = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && Number.isFinite(f32(x)) && (x === 0 || f32(x) !== 0);
const isInt = (x: unknown, min: number) => typeof x === 'number' && Number.isInteger(x) && x >= min;

function groupLen(op: string, dk: number, dv: number, g: number, ridge: boolean) {
  const r = ridge ? 1 : 0;
  return op === 'la1' ? dk + g * dk * dv
    : op === 'hla2' ? dk * dk + dk + r * dk + g * dk * dv * (1 + r)
      : op === 'ahla' ? 2 * dk + 2 * g * dk * dv
        : dk * dk + 2 * dk + 2 * g * dk * dv;
}

function workspace(chunk: number, T: number, dk: number, dv: number) {
  if (chunk === 0) return 16 * dk + 4 * dv;
  const c = Math.max(1, Math.min(chunk, T, MAX_CHUNK));
  return 3 * c + 1 + 6 * c * dk + 4 * c * c + 4 * c * dv + 2 * dk * dv + 2 * dk;
}

/** Whether these sizes fit: each buffer one wasm32 allocation, all together 4 GiB. */
function fits(buffers: number[], total: number) {
  return buffers.every((n) => n <= MAX) && 4 * total <= 2 ** 32;
}

type Opts = Record<string, unknown>;

/** The option rules of the README (shared by calls and sessions). */
function optionsValid(op: string, o: Opts, H: number, known: string[]) {
  if (Object.keys(o).some((key) => !known.includes(key))) return false;
  if (o.scale !== undefined && !isF32(o.scale)) return false;
  if (o.eps !== undefined && !(isF32(o.eps) && (o.eps as number) > 0)) return false;
  if (o.ridge !== undefined && !(isF32(o.ridge) && (o.ridge === 0 || op === 'hla2'))) return false;
  if (o.normalize !== undefined && typeof o.normalize !== 'boolean') return false;
  const decayOk = (g: unknown) => isF32(g) && (g as number) > 0 && (g as number) <= 1;
  if (o.decay !== undefined) {
    if (Array.isArray(o.decay)) {
      if (!(o.decay.length === 1 || o.decay.length === H) || !o.decay.every(decayOk)) return false;
    } else if (!decayOk(o.decay)) return false;
  }
  return true;
}

// ---- arbitraries ------------------------------------------------------------------------

const hostileNumber = fc.constantFrom(0, -1, 1.5, NaN, Infinity, 65536, 2 ** 32 + 2, 2 ** 31, 1e9, 23171, '2' as unknown as number);
const dim = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 1, arbitrary: hostileNumber });
const length = fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 4, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 1, arbitrary: hostileNumber });
const opName = fc.oneof({ weight: 10, arbitrary: fc.constantFrom(...OPS) }, { weight: 1, arbitrary: fc.constantFrom('toString', 'constructor', '__proto__', 'LA1', '') });
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 2 });
const options = fc.record({
  scale: maybe(fc.constantFrom(1, 0.5, 0, -2, 1e300, 1e-50, NaN, 3e38)),
  decay: maybe(fc.constantFrom<unknown>(0.9, 1, 0, 1.5, 1e-46, NaN, [0.5], [0.5, 0.9], [0.5, 0.9, 0.1], [2])),
  eps: maybe(fc.constantFrom(1e-6, 0, -1, 1e-46, Infinity)),
  ridge: maybe(fc.constantFrom(0, 0.1, 1e-46, NaN)),
  normalize: maybe(fc.constantFrom<unknown>(true, false, 1)),
  mode: maybe(fc.constantFrom<unknown>('chunk', 'recurrent', 'parallel')),
  chunkSize: maybe(fc.constantFrom(1, 3, 64, 65536, 0, 2.5, 2 ** 40)),
}, { requiredKeys: [] });

/** Data for a shape: the product's length (or one off), an empty array past 4096 floats. */
function data(shape: unknown[], off: number): Float32Array {
  const n = shape.reduce<number>((a, b) => a * (typeof b === 'number' ? b : NaN), 1);
  if (!(Number.isInteger(n) && n >= 0 && n <= 4096)) return new Float32Array(0);
  const x = new Float32Array(Math.max(0, n + off));
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i + 1);
  return x;
}

/** Runs one call: classifies it against the oracle and counts it. */
function classify(tally: typeof counts, valid: boolean, call: () => unknown, check?: (r: unknown) => void) {
  tally.cases++;
  let result: unknown;
  try {
    result = call();
  } catch (e) {
    if (!(e instanceof TypeError || e instanceof RangeError)) {
      tally.traps++;
      throw new Error(`not a TypeError/RangeError: ${String(e)}`);
    }
    tally.rejected++;
    if (valid) {
      tally.wronglyRefused++;
      throw new Error(`a valid call was refused: ${(e as Error).message}`);
    }
    return;
  }
  tally.accepted++;
  if (!valid) {
    tally.nonsense++;
    throw new Error('an invalid call was accepted');
  }
  check?.(result);
}

/** Byte equality without vitest's deep diff (slow on the 10^5-float states some cases make). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function unchanged(before: number[][]) {
  expect(others.map((s) => Array.from(s.snapshot()))).toEqual(before);
}

// ---- the public entries -----------------------------------------------------------------

describe('fuzz: every public entry', () => {
  it('functional operators and hla.run (6000 cases)', async () => {
    const before = others.map((s) => Array.from(s.snapshot()));
    const mem = hla.memoryBytes;
    await fc.assert(fc.asyncProperty(
      opName, fc.tuple(dim, length, dim, dim, dim, dim), fc.integer({ min: -1, max: 1 }), options, fc.integer({ min: 0, max: 9 }),
      async (op0, [B, T, H, HVm, dk, dv], off, o, pick) => {
        // A hostile operator name in one case of ten, always through hla.run.
        const op = pick === 9 || (OPS as readonly string[]).includes(op0) ? op0 : 'la1';
        const HV = typeof HVm === 'number' && typeof H === 'number' && HVm <= 3 && H <= 3 ? H * HVm : HVm;
        const qs = [B, T, H, dk], vs = [B, T, HV, dv];
        const q = { data: data(qs, 0), shape: qs as number[] }, k = { data: data(qs, 0), shape: qs as number[] };
        const v = { data: data(vs, pick === 0 ? off : 0), shape: vs as number[] };
        const opts = Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined));
        const shapesOk = qs.every((x, i) => isInt(x, i === 1 ? 0 : 1)) && vs.every((x, i) => isInt(x, i === 1 ? 0 : 1)) && (HV as number) % (H as number) === 0;
        const lengthsOk = shapesOk && q.data.length === qs.reduce<number>((a, b) => a * (b as number), 1) && v.data.length === vs.reduce<number>((a, b) => a * (b as number), 1);
        let valid = (OPS as readonly string[]).includes(op) && lengthsOk && optionsValid(op, opts, H as number, ['scale', 'decay', 'normalize', 'eps', 'ridge', 'mode', 'chunkSize']);
        if (opts.mode !== undefined && opts.mode !== 'chunk' && opts.mode !== 'recurrent') valid = false;
        if (opts.chunkSize !== undefined && !(isInt(opts.chunkSize, 1) && (opts.chunkSize as number) <= 2 ** 31 - 1)) valid = false;
        if (valid) {
          const [b, t, h, hv, K, Vd] = [B, T, H, HV, dk, dv] as number[];
          const chunk = (opts.chunkSize as number | undefined) ?? (op === 'la1' ? 16 : 32);
          const cs = (opts.mode ?? (opts.chunkSize !== undefined ? 'chunk' : 'recurrent')) === 'chunk' ? chunk : 0;
          const nq = b * t * h * K, nv = b * t * hv * Vd, ns = b * h * groupLen(op, K, Vd, hv / h, !!opts.ridge), ws = workspace(cs, t, K, Vd);
          valid = fits([nq, nv, ns, ws], 2 * nq + 2 * nv + ns + ws);
        }
        const shape = () => [B, T, HV, dv];
        const check = (r: unknown) => {
          const o2 = (r as { o: { data: Float32Array; shape: number[] } }).o;
          expect(o2.shape).toEqual(shape());
          expect(o2.data.length).toBe(shape().reduce<number>((a, x) => a * (x as number), 1));
        };
        if (pick === 9) {
          counts.cases++;
          try {
            check(await hla.run(op as never, q, k, v, opts));
            counts.accepted++;
            if (!valid) { counts.nonsense++; throw new Error('run accepted an invalid call'); }
          } catch (e) {
            if (!(e instanceof TypeError || e instanceof RangeError)) { counts.traps++; throw e; }
            counts.rejected++;
            if (valid) { counts.wronglyRefused++; throw e; }
          }
        } else {
          // The operator methods have fixed names: a hostile name goes through hla.run only.
          if (!(OPS as readonly string[]).includes(op)) return;
          const f = (hla as unknown as Record<string, (...a: unknown[]) => unknown>)[op];
          classify(counts, valid, () => f.call(hla, q, k, v, opts), check);
        }
      }), { numRuns: RUNS(6000), seed: SEED });
    unchanged(before);
    expect(hla.memoryBytes - mem).toBeLessThan(64 * 2 ** 20);
  });

  it('sessions: create, step, prefill, snapshot → restore (3000 cases)', () => {
    const before = others.map((s) => Array.from(s.snapshot()));
    const mem = hla.memoryBytes;
    fc.assert(fc.property(
      opName, fc.tuple(maybe(dim), dim, maybe(dim), dim, dim), options, fc.integer({ min: -1, max: 1 }), fc.integer({ min: 0, max: 3 }),
      (op, [batch, heads, vm, dk, dv], o, off, T) => {
        const { mode: _m, chunkSize: _c, ...sessionOpts } = o;
        const valueHeads = vm === undefined ? undefined : typeof vm === 'number' && typeof heads === 'number' && vm <= 3 ? heads * vm : vm;
        const opts: Opts = Object.fromEntries(Object.entries({ batch, heads, valueHeads, dk, dv, ...sessionOpts }).filter(([, x]) => x !== undefined));
        const b = (batch ?? 1) as number, h = heads as number, hv = (valueHeads ?? heads) as number;
        let valid = (OPS as readonly string[]).includes(op) && [b, h, hv, dk, dv].every((x) => isInt(x, 1)) && hv % h === 0
          && optionsValid(op, opts, h, ['batch', 'heads', 'valueHeads', 'dk', 'dv', 'scale', 'decay', 'normalize', 'eps', 'ridge']);
        if (valid) {
          const nq = b * h * (dk as number), nv = b * hv * (dv as number), ns = b * h * groupLen(op, dk as number, dv as number, hv / h, !!opts.ridge);
          const ws = workspace(0, 1, dk as number, dv as number);
          valid = fits([nq, nv, ns], 2 * nq + 2 * nv + ns + ws);
        }
        let s: Session | null = null;
        classify(counts, valid, () => (s = hla.session(op as never, opts as never)));
        if (!s) return;
        const sess = s as Session;
        try {
          const nq = sess.inputs.q.length, nv = sess.inputs.v.length;
          // A step with one input one float off, then a right one.
          const snap0 = sess.snapshot();
          classify(counts, off === 0, () => sess.step(new Float32Array(nq + off), new Float32Array(nq), new Float32Array(nv).fill(1)));
          if (off !== 0) {
            expect(sameBytes(sess.snapshot(), snap0)).toBe(true);
            classify(counts, true, () => sess.step(new Float32Array(nq), new Float32Array(nq), new Float32Array(nv).fill(1)));
          }
          // A prefill of T tokens, chunked when T is odd (skipped for the hostile batch and
          // head counts: 65536 sequences × heads of chunk set-up is seconds, not a bug).
          if (sess.batch * sess.heads > 64) return;
          const t4 = (H: number, D: number) => ({ data: new Float32Array(sess.batch * T * H * D).fill(0.25), shape: [sess.batch, T, H, D] });
          classify(counts, true, () => sess.prefill(t4(sess.heads, sess.dk), t4(sess.heads, sess.dk), t4(sess.valueHeads, sess.dv), T % 2 ? { chunkSize: T } : {}));
          // The round trip where it is cheap: encoding is a JS loop over the floats, and the
          // hostile dims (65536) make valid sessions of 10^5–10^6 floats.
          if (sess.stateBytes > 64 * 1024) return;
          const bytes = sess.snapshot();
          let r: Session | null = null;
          classify(counts, true, () => (r = hla.restore(bytes)));
          expect(sameBytes((r as unknown as Session).snapshot(), bytes)).toBe(true);
          (r as unknown as Session).free();
        } finally {
          sess.free();
        }
      }), { numRuns: RUNS(3000), seed: SEED + 1 });
    unchanged(before);
    expect(hla.memoryBytes - mem).toBeLessThan(64 * 2 ** 20);
  });

  it('hla.stateBytes (1500 cases) and restore of random bytes (1500 cases)', () => {
    const before = others.map((s) => Array.from(s.snapshot()));
    const mem = hla.memoryBytes;
    fc.assert(fc.property(opName, fc.tuple(maybe(dim), maybe(dim), dim, dim), maybe(fc.constantFrom<unknown>(true, false, 1)), (op, [heads, vm, dk, dv], ridge) => {
      const valueHeads = vm === undefined ? undefined : typeof vm === 'number' && typeof heads === 'number' && vm <= 3 ? heads * vm : vm;
      const dims = Object.fromEntries(Object.entries({ heads, valueHeads, dk, dv, ridge }).filter(([, x]) => x !== undefined));
      const h = (heads ?? 1) as number, hv = (valueHeads ?? h) as number;
      const valid = (OPS as readonly string[]).includes(op) && [h, hv, dk, dv].every((x) => isInt(x, 1)) && hv % h === 0
        && (ridge === undefined || typeof ridge === 'boolean') && !(ridge === true && op !== 'hla2')
        && h * groupLen(op, dk as number, dv as number, hv / h, ridge === true) <= MAX;
      classify(counts, valid, () => hla.stateBytes(op as never, dims as never), (n) => {
        expect(n).toBe((4 * h * groupLen(op, dk as number, dv as number, hv / h, ridge === true)) / h);
      });
    }), { numRuns: RUNS(1500), seed: SEED + 2 });
    fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.boolean(), (bytes, magic) => {
      if (magic && bytes.length >= 8) { bytes.set([0x48, 0x4c, 0x41, 0x53, 1, 0]); }
      if (bytes.length >= 4) new DataView(bytes.buffer, bytes.byteOffset).setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)), true);
      // Random bytes are a valid snapshot only by a miracle the oracle below would see.
      classify(counts, headerValid(bytes), () => hla.restore(bytes), (r) => { expect(sameBytes((r as Session).snapshot(), bytes)).toBe(true); (r as Session).free(); });
    }), { numRuns: RUNS(1500), seed: SEED + 3 });
    unchanged(before);
    expect(hla.memoryBytes - mem).toBeLessThan(64 * 2 ** 20);
  });
});

// ---- snapshot mutations -----------------------------------------------------------------

/** The README's snapshot rules, written independently of ts/snapshot.ts. */
function headerValid(bytes: Uint8Array): boolean {
  if (bytes.length < 56) return false;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint16(4, true);
  if (dv.getUint32(0, true) !== 0x53414c48 || (version !== 1 && version !== 2)) return false;
  const nDecay = dv.getUint32(48, true);
  // Version 2: u32 E and E bytes of the operator's options between the decay values and L.
  const extAt = 52 + 4 * nDecay;
  if (bytes.length < extAt + 4) return false;
  const extLen = version === 2 ? dv.getUint32(extAt, true) : 0;
  const stateAt = version === 2 ? extAt + 4 + extLen : extAt;
  if (bytes.length < stateAt + 4) return false;
  const nState = dv.getUint32(stateAt, true);
  const end = stateAt + 4 + 4 * nState;
  if (bytes.length !== end + 4 || dv.getUint32(end, true) !== crc32(bytes.subarray(0, end))) return false;
  const op = dv.getUint8(6), flags = dv.getUint8(7);
  // Codes 4 gla, 5 deltaRule, 6 sse, 7 rla: flag bit 2 (qkL2norm) not for gla; no normalize bit.
  // sse and rla are version 2 with a 12- / 8-byte block, every other operator version 1.
  if (op > 7 || (flags & ~7) !== 0) return false;
  const gated = op >= 4;
  if (version !== (op >= 6 ? 2 : 1)) return false;
  if (op >= 6 && extLen !== (op === 6 ? 12 : 8)) return false;
  if ((flags & 4) !== 0 && op < 5) return false;
  if (gated && (flags & 1) !== 0) return false;
  const [b, h, hv, dk, dvs] = [0, 1, 2, 3, 4].map((i) => dv.getUint32(8 + 4 * i, true));
  if (![b, h, hv, dk, dvs].every((x) => x >= 1 && x <= MAX) || hv % h !== 0) return false;
  const scale = dv.getFloat32(28, true), eps = dv.getFloat32(32, true), ridge = dv.getFloat32(36, true);
  if (!Number.isFinite(scale) || !(eps > 0 && Number.isFinite(eps)) || !Number.isFinite(ridge)) return false;
  if (ridge !== 0 && op !== 1) return false;
  if (((flags & 2) !== 0) !== (ridge !== 0)) return false;
  const pos = dv.getFloat64(40, true);
  if (!(Number.isInteger(pos) && pos >= 0 && pos <= Number.MAX_SAFE_INTEGER)) return false;
  if (nDecay !== 1 && nDecay !== h) return false;
  for (let i = 0; i < nDecay; i++) {
    const g = dv.getFloat32(52 + 4 * i, true);
    if (!(g > 0 && g <= 1)) return false;
  }
  // gla / deltaRule / sse / rla: no decay or eps (stored as [1] and 1).
  if (gated && (nDecay !== 1 || dv.getFloat32(52, true) !== 1 || eps !== 1)) return false;
  if (gated && Object.is(ridge, -0)) return false; // they have no ridge: stored as +0
  const x = extAt + 4;
  let matrices = 1, extra = 0;
  if (op === 6) {
    // sse: N in [1, MAX], topK in 1..N, base 0 | 1, option bits 0..1, two zero bytes.
    const N = dv.getUint32(x, true), topK = dv.getUint32(x + 4, true);
    if (!(N >= 1 && N <= MAX && topK >= 1 && topK <= N && dv.getUint8(x + 8) <= 1 && (dv.getUint8(x + 9) & ~3) === 0 && dv.getUint16(x + 10, true) === 0)) return false;
    matrices = N + 1;
    extra = 6 * b * h * dk + b * N + 4 * b * hv + 8 + 8 * dk + 2 * dk * dvs + 4 * dvs + topK * (3 * dk + 2 * (hv / h) * dvs);
  } else if (op === 7) {
    // rla: base 0 | 1, residual 0 | 1, two zero bytes, clip > 0 (f32).
    if (!(dv.getUint8(x) <= 1 && dv.getUint8(x + 1) <= 1 && dv.getUint16(x + 2, true) === 0 && dv.getFloat32(x + 4, true) > 0)) return false;
    matrices = 2;
    extra = 2 * b * h * dk + 3 * b * hv + 8 + 13 * dk + 2 * dk * dvs + 8 * dvs;
  }
  // gla / deltaRule / sse / rla: `matrices` dk×dv matrices per value head; sse and rla take the
  // one-token sizes of their session (the chunk workspace at chunk 1 and their inputs).
  const ns = gated ? b * hv * matrices * dk * dvs : b * h * groupLen(OPS[op], dk, dvs, hv / h, ridge !== 0);
  const nq = b * h * dk, nv = b * hv * dvs;
  const total = op >= 6 ? Math.max(2 * ns, ns + 2 * nv + extra) : 2 * nq + 2 * nv + ns + workspace(0, 1, dk, dvs);
  if (!fits([nq, nv, ns], total)) return false;
  return nState === ns;
}

describe('fuzz: snapshot mutations with the CRC recomputed', () => {
  it('20 000 mutated snapshots: zero traps, zero accepted nonsense, no absurd allocation', () => {
    const before = others.map((s) => Array.from(s.snapshot()));
    const mem = hla.memoryBytes;
    let secondAccepted = 0;
    // Real snapshots of every operator, with and without ridge, normalize and per-head decay,
    // and of sse and rla.
    const bases: Fields[] = [];
    for (const [i, op] of OPS.entries()) {
      for (const extra of [{}, { normalize: true, decay: [0.5, 0.9] }, op === 'hla2' ? { ridge: 0.5 } : { decay: 0.99 }]) {
        const s = hla.session(op, { heads: 2, valueHeads: 2 + 2 * (i % 2), dk: 3, dv: 2, ...extra });
        s.step(new Float32Array(s.inputs.q.length).fill(0.5), new Float32Array(s.inputs.k.length).fill(0.25), new Float32Array(s.inputs.v.length).fill(1));
        bases.push(snapshotFields(s.snapshot()));
        s.free();
      }
    }
    // sse over both bases and rla over both with both readings (version 2, an extension block).
    for (const s of [
      hla.session('sse', { heads: 1, valueHeads: 2, dk: 3, dv: 2, base: 'gla', partitions: 3, topK: 2, weightKey: false }),
      hla.session('sse', { batch: 2, heads: 1, dk: 2, dv: 2, base: 'deltaRule', partitions: 2 }),
      hla.session('rla', { heads: 2, dk: 3, dv: 2, clip: 0.5, residual: 'decayed' }),
      hla.session('rla', { heads: 1, valueHeads: 2, dk: 2, dv: 3, base: 'deltaRule', qkL2norm: true }),
    ]) {
      for (const [name, x] of Object.entries(s.inputs)) x.fill(/^g/.test(name) ? -0.5 : 0.5); // gates are log decays ≤ 0
      s.stepInPlace();
      bases.push(snapshotFields(s.snapshot()));
      s.free();
    }
    const u32 = fc.constantFrom(0, 1, 2, 3, 4, 6, 65536, 2 ** 31, 2 ** 32 - 1, 23171, 536870912);
    const f32s = fc.constantFrom(0, -0, 1e-45, 1e-40, NaN, Infinity, -Infinity, 1, -1, 0.5, 3.4e38, 1.0000001);
    type M = (f: Fields) => void;
    const fieldMutation: fc.Arbitrary<M> = fc.oneof(
      fc.constantFrom(0, 1, 2, 65535).map((v): M => (f) => { f.version = v; }),
      fc.integer({ min: 0, max: 255 }).map((v): M => (f) => { f.op = v; }),
      fc.integer({ min: 0, max: 255 }).map((v): M => (f) => { f.flags = v; }),
      fc.tuple(fc.integer({ min: 0, max: 4 }), u32).map(([i, v]): M => (f) => { f.dims = f.dims.map((x, j) => (j === i ? v : x)); }),
      fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: -1, max: 1 })).map(([i, d]): M => (f) => { f.dims = f.dims.map((x, j) => (j === i ? Math.max(0, x + d) : x)); }),
      f32s.map((v): M => (f) => { f.scale = v; }),
      f32s.map((v): M => (f) => { f.eps = v; }),
      f32s.map((v): M => (f) => { f.ridge = v; }),
      fc.constantFrom(NaN, Infinity, -Infinity, -1, 0.5, 2 ** 53, 2 ** 53 - 1, 7, 1e300).map((v): M => (f) => { f.position = v; }),
      fc.integer({ min: 0, max: 3 }).map((n): M => (f) => { f.decay = Array.from({ length: n }, () => 0.5); }),
      f32s.map((v): M => (f) => { f.decay = f.decay!.map((g, i) => (i === 0 ? v : g)); }),
      fc.integer({ min: -2, max: 2 }).map((d): M => (f) => { f.nState = Math.max(0, f.nState! + d); f.state = Float32Array.from({ length: Math.min(f.nState, 4096) }, (_, i) => (f.state![i] ?? 0)); }),
      u32.map((n): M => (f) => { f.nState = n; f.state = (f.state as Float32Array).slice(0, Math.min(n, 64)); }),
      // The extension block (sse, rla): a byte, a u32 (N, topK), clip, its length.
      fc.tuple(fc.integer({ min: 0, max: 11 }), fc.integer({ min: 0, max: 255 })).map(([i, v]): M => (f) => { if (f.ext && i < f.ext.length) { f.ext = f.ext.slice(); f.ext[i] = v; } }),
      fc.tuple(fc.constantFrom(0, 4), u32).map(([i, v]): M => (f) => { if (f.ext && f.ext.length >= 8) { f.ext = f.ext.slice(); new DataView(f.ext.buffer).setUint32(i, v >>> 0, true); } }),
      fc.integer({ min: 1, max: 5 }).map((v): M => (f) => { if (f.ext && f.ext.length >= 8) { f.ext = f.ext.slice(); new DataView(f.ext.buffer).setUint32(0, v, true); } }),
      f32s.map((v): M => (f) => { if (f.ext && f.ext.length === 8) { f.ext = f.ext.slice(); new DataView(f.ext.buffer).setFloat32(4, v, true); } }),
      fc.constantFrom(0, 4, 8, 12, 16).map((n): M => (f) => { f.ext = Uint8Array.from({ length: n }, (_, i) => f.ext?.[i] ?? 0); }),
      fc.constantFrom(6, 7).map((v): M => (f) => { f.op = v; f.version = 2; f.ext ??= new Uint8Array(v === 6 ? 12 : 8); }),
    );
    const byteFlip = fc.tuple(fc.integer({ min: 4, max: 63 }), fc.integer({ min: 0, max: 255 }));
    fc.assert(fc.property(fc.integer({ min: 0, max: bases.length - 1 }), fc.array(fieldMutation, { minLength: 1, maxLength: 3 }), fc.array(byteFlip, { maxLength: 2 }), (bi, muts, flips) => {
      const f: Fields = { ...bases[bi], dims: [...bases[bi].dims], decay: [...bases[bi].decay!], state: Float32Array.from(bases[bi].state!), ...(bases[bi].ext ? { ext: bases[bi].ext!.slice() } : {}) };
      for (const m of muts) m(f);
      const bytes = craft(f);
      // Raw byte flips in the header (not in the state: NaN payloads need not survive a round
      // trip), then the CRC recomputed over whatever the header now says the body is.
      const headerEnd = Math.min(bytes.length - 4, 52 + 4 * f.decay!.length);
      for (const [at, value] of flips) if (at < headerEnd) bytes[at] = value;
      new DataView(bytes.buffer).setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)), true);
      classify(mutation, headerValid(bytes), () => hla.restore(bytes), (r) => {
        if (bytes[6] >= 6) secondAccepted++;
        expect(sameBytes((r as Session).snapshot(), bytes)).toBe(true);
        (r as Session).free();
      });
    }), { numRuns: RUNS(20_000), seed: SEED + 4 });
    unchanged(before);
    expect(hla.memoryBytes - mem).toBeLessThan(64 * 2 ** 20);
    expect(mutation.cases).toBeGreaterThanOrEqual(RUNS(20_000));
    expect(mutation.accepted).toBeGreaterThan(RUNS(20_000) / 100); // it reaches valid snapshots too
    expect(secondAccepted).toBeGreaterThan(RUNS(20_000) / 1000); // sse and rla among them
    expect(mutation.rejected).toBeGreaterThan(RUNS(20_000) / 2);
  });

  it('counts', () => {
    expect(counts.cases).toBeGreaterThanOrEqual(RUNS(10_000));
    expect([counts.traps, counts.nonsense, counts.wronglyRefused, mutation.traps, mutation.nonsense, mutation.wronglyRefused]).toEqual([0, 0, 0, 0, 0, 0]);
  });
});
