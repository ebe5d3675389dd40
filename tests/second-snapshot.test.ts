// Snapshots of sse and rla sessions (format version 2, ts/snapshot.ts): on every backend, a
// snapshot taken at every position restores and continues bit for bit like the session that was
// never interrupted (outputs and state), for sse over both bases (N = 4, topK = 2) and rla over
// both bases with both residual readings; `expect: { op }` picks the operator; headers crafted
// with a valid CRC (tests/snapshots.ts) are refused with a RangeError naming the field, before
// any session is created.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hla } from '../dist/index.mjs';
import { allBackends, tensor } from './helpers.js';
import { craft, snapshotFields, type Fields } from './snapshots.js';

let backends: Hla[] = [];
beforeAll(async () => {
  backends = await allBackends();
});
afterAll(() => backends.forEach((h) => h.close()));

const [B, H, HV, dk, dv, N, T] = [2, 1, 2, 4, 3, 4, 7];
type Token = Record<string, Float32Array>;

/** T tokens of every input `names` takes, gates ≤ 0, rates in (0, 1), router ties on t % 3 == 0. */
function tokens(names: readonly string[], seed: number): Token[] {
  const width: Record<string, number> = { q: H * dk, k: H * dk, q1: H * dk, k1: H * dk, q2: H * dk, k2: H * dk, gk1: H * dk, gk2: H * dk, v: HV * dv, router: N };
  return Array.from({ length: T }, (_, t) => Object.fromEntries(names.map((n, i) => {
    const x = tensor([B * (width[n] ?? HV)], seed + 97 * t + i, /^(g|beta|correction)/.test(n)).data;
    if (/^g/.test(n)) x.forEach((y, j) => (x[j] = -0.5 * y));
    if (n === 'router' && t % 3 === 0) x.fill(0.25);
    return [n, x];
  })));
}

const CASES = [
  { label: 'sse over gla', op: 'sse' as const, options: { base: 'gla' as const, partitions: N, topK: 2, weightKey: false, scale: 0.7 }, names: ['q1', 'k1', 'q2', 'k2', 'v', 'router', 'gk1', 'gk2'] },
  { label: 'sse over deltaRule', op: 'sse' as const, options: { base: 'deltaRule' as const, partitions: N, topK: 2 }, names: ['q1', 'k1', 'q2', 'k2', 'v', 'router', 'g1', 'g2', 'beta1', 'beta2'] },
  ...(['la', 'deltaRule'] as const).flatMap((base) => (['undecayed', 'decayed'] as const).map((residual) => ({
    label: `rla over ${base}, ${residual}`, op: 'rla' as const, options: { base, residual, clip: 0.3, qkL2norm: base === 'la' }, names: ['q', 'k', 'v', 'g', 'beta', 'correction'],
  }))),
];

describe('sse and rla snapshots', () => {
  for (const [ci, c] of CASES.entries()) {
    it(`${c.label}: a snapshot at every position restores and continues bit for bit, on every backend`, () => {
      const toks = tokens(c.names, 100 + 10 * ci);
      for (const hla of backends) {
        const make = () => hla.session(c.op, { batch: B, heads: H, valueHeads: HV, dk, dv, ...c.options } as never);
        const whole = make();
        const want = toks.map((tk) => whole.step(tk));
        const finalState = whole.stateFloats();
        const finalBytes = whole.snapshot();
        whole.free();
        for (let p = 0; p <= T; p++) {
          const s = make();
          for (let t = 0; t < p; t++) s.step(toks[t]);
          const bytes = s.snapshot();
          expect(snapshotFields(bytes)).toMatchObject({ version: 2, op: c.op === 'sse' ? 6 : 7, position: p });
          const r = hla.restore(bytes, { op: c.op });
          expect(r.op).toBe(c.op);
          expect(r.position).toBe(p);
          expect(Array.from(r.snapshot()), 'restore → snapshot gives the same bytes').toEqual(Array.from(bytes));
          s.free();
          for (let t = p; t < T; t++) expect(Array.from(r.step(toks[t])), `${hla.backend} from ${p} at ${t}`).toEqual(Array.from(want[t]));
          expect(Array.from(r.stateFloats())).toEqual(Array.from(finalState));
          expect(Array.from(r.snapshot())).toEqual(Array.from(finalBytes));
          r.free();
        }
      }
    });
  }

  it('the restored session keeps every option (defaults written out) and moves between backends', () => {
    const [a, b] = [backends[0], backends[backends.length - 1]];
    const s = a.session('sse', { batch: B, heads: H, valueHeads: HV, dk, dv, base: 'deltaRule', partitions: N });
    s.step(tokens(CASES[1].names, 7)[0]);
    const r = b.restore(s.snapshot(), { op: 'sse' });
    expect(r.options).toEqual({ base: 'deltaRule', topK: 1, weightQuery: true, weightKey: true, qkL2norm: true, scale: Math.fround(1 / Math.sqrt(dk)) });
    expect(Array.from(r.stateFloats())).toEqual(Array.from(s.stateFloats()));
    r.free();
    s.free();
    const q = a.session('rla', { heads: H, dk, dv });
    const rq = b.restore(q.snapshot());
    expect(rq.op).toBe('rla');
    expect((rq as unknown as { options: unknown }).options).toEqual({ base: 'la', clip: 1, residual: 'undecayed', qkL2norm: false, scale: Math.fround(1 / Math.sqrt(dk)) });
    rq.free();
    q.free();
  });

  it('expect: { op } refuses a snapshot of another operator', () => {
    const hla = backends[0];
    const s = hla.session('sse', { heads: H, dk, dv, base: 'gla', partitions: N });
    const q = hla.session('rla', { heads: H, dk, dv });
    const la = hla.session('la1', { heads: H, dk, dv });
    expect(() => hla.restore(s.snapshot(), { op: 'rla' })).toThrow(/^snapshot: expected a rla session \(as asked\), got a sse session/);
    expect(() => hla.restore(q.snapshot(), { op: 'gla' })).toThrow(/^snapshot: expected a gla session \(as asked\), got a rla session/);
    expect(() => hla.restore(la.snapshot(), { op: 'sse' })).toThrow(/^snapshot: expected a sse session \(as asked\), got a la1 session/);
    expect(() => hla.restore(s.snapshot(), { op: 'mamba' as never })).toThrow(/^expect\.op/);
    [s, q, la].forEach((x) => x.free());
  });
});

describe('crafted sse / rla headers (valid CRC) are refused naming the field', () => {
  let sse: Fields, rla: Fields;
  beforeAll(() => {
    const hla = backends[0];
    const s = hla.session('sse', { heads: H, valueHeads: HV, dk, dv, base: 'gla', partitions: N, topK: 2 });
    const q = hla.session('rla', { heads: H, valueHeads: HV, dk, dv, base: 'deltaRule' });
    sse = snapshotFields(s.snapshot());
    rla = snapshotFields(q.snapshot());
    s.free();
    q.free();
  });
  /** The fields with the extension block's byte `at` set to `value` (u8, or u32 / f32 where `kind` says). */
  const withExt = (f: Fields, at: number, value: number, kind: 'u8' | 'u32' | 'f32' = 'u8'): Fields => {
    const ext = f.ext!.slice();
    const d = new DataView(ext.buffer);
    if (kind === 'u8') d.setUint8(at, value);
    else if (kind === 'u32') d.setUint32(at, value, true);
    else d.setFloat32(at, value, true);
    return { ...f, ext };
  };
  const refused = (f: Fields, message: RegExp) => {
    const hla = backends[0];
    const mem = hla.memoryBytes;
    expect(() => hla.restore(craft(f))).toThrow(RangeError);
    expect(() => hla.restore(craft(f))).toThrow(message);
    expect(hla.memoryBytes).toBe(mem);
  };

  it('the unmutated crafts restore (the crafting is right)', () => {
    for (const f of [sse, rla]) {
      const r = backends[0].restore(craft(f));
      expect(Array.from(r.snapshot())).toEqual(Array.from(craft(f)));
      r.free();
    }
  });

  it('sse block: partitions, topK, base, option bits, reserved bytes', () => {
    refused(withExt(sse, 0, 0, 'u32'), /^snapshot partitions: expected an integer in \[1, 536870911\], got 0/);
    refused(withExt(sse, 0, 5, 'u32'), /^snapshot state: expected \d+ floats \(the state of its dims\), got \d+/);
    refused(withExt(sse, 0, 2 ** 27, 'u32'), /^snapshot state: expected a sse state .*partitions=134217728.* at most 536,870,911 floats/);
    refused(withExt(sse, 4, 0, 'u32'), /^snapshot topK: expected an integer in 1\.\.4 \(partitions\), got 0/);
    refused(withExt(sse, 4, 5, 'u32'), /^snapshot topK: expected an integer in 1\.\.4 \(partitions\), got 5/);
    refused(withExt(sse, 8, 2), /^snapshot base: expected 0 \('gla'\) or 1 \('deltaRule'\), got 2/);
    refused(withExt(sse, 9, 4), /^snapshot sse options: expected bits 0 \(weightQuery\) and 1 \(weightKey\) only, got 4/);
    refused(withExt(sse, 11, 1), /^snapshot reserved: expected 0/);
    // One more state matrix per partition: the state count must follow N.
    refused({ ...sse, nState: sse.nState! - 1, state: (sse.state as Float32Array).slice(1) }, /^snapshot state: expected \d+ floats/);
  });

  it('rla block: base, residual, clip, reserved bytes', () => {
    refused(withExt(rla, 0, 2), /^snapshot base: expected 0 \('la'\) or 1 \('deltaRule'\), got 2/);
    refused(withExt(rla, 1, 2), /^snapshot residual: expected 0 \('undecayed'\) or 1 \('decayed'\), got 2/);
    refused(withExt(rla, 2, 1), /^snapshot reserved: expected 0/);
    for (const clip of [0, -0, -1, NaN, -Infinity]) refused(withExt(rla, 4, clip, 'f32'), /^snapshot clip: expected a number > 0/);
    expect(() => backends[0].session('rla', { heads: H, dk, dv, clip: 1e-50 })).toThrow(/^clip: expected a number > 0 that float32 does not round to 0, got 1e-50/);
    const r = backends[0].restore(craft(withExt(rla, 4, Infinity, 'f32')), { op: 'rla' });
    expect(r.options).toMatchObject({ clip: Infinity });
    r.free();
  });

  it('version, extension length, flags, decay and eps', () => {
    refused({ ...sse, version: 1 }, /^snapshot: expected format version 2 \(sse and rla store their options in an extension block\), got version 1/);
    refused({ ...rla, version: 3 }, /^snapshot: expected format version ≤ 2/);
    refused({ ...sse, op: 0, ext: undefined, version: 2 }, /^snapshot: expected format version 1 \(la1 has no extension block\), got version 2/);
    refused({ ...sse, op: 7 }, /^snapshot extension length: expected 8 bytes \(rla's options\), got 12/);
    refused({ ...rla, op: 6 }, /^snapshot extension length: expected 12 bytes \(sse's options\), got 8/);
    refused({ ...rla, ext: new Uint8Array(12) }, /^snapshot extension length: expected 8 bytes/);
    refused({ ...sse, flags: 1 }, /^snapshot flags: expected no normalize bit \(sse has no normalize\)/);
    refused({ ...rla, flags: 8 }, /^snapshot flags: expected bits 0 \(normalize\), 1 \(ridge\) and 2 \(qkL2norm\) only/);
    refused({ ...sse, decay: [0.5] }, /^snapshot: expected decay \[1\] and eps 1 \(sse has neither\)/);
    refused({ ...sse, ridge: -0 }, /^snapshot ridge: expected \+0 \(sse has no ridge term\), got -0$/);
    refused({ ...rla, eps: 0.5 }, /^snapshot: expected decay \[1\] and eps 1 \(rla has neither\)/);
    refused({ ...rla, nState: rla.nState! + 1, state: Float32Array.from({ length: rla.nState! + 1 }) }, /^snapshot state: expected \d+ floats/);
    refused({ ...sse, dims: [1, 2, 3, dk, dv] }, /^snapshot valueHeads: expected a multiple of heads = 2, got 3/);
    refused({ ...rla, extLen: 1000 }, /^snapshot: expected at least \d+ bytes/);
    // qkL2norm (flag bit 2) is an option of both.
    for (const f of [sse, rla]) {
      const r = backends[0].restore(craft({ ...f, flags: (f.flags ?? 0) ^ 4 }));
      expect((r as unknown as { options: { qkL2norm: boolean } }).options.qkL2norm).toBe(((f.flags ?? 0) & 4) === 0);
      r.free();
    }
  });
});
