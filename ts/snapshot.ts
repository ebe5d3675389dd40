// The snapshot format: self-describing, little-endian, checksummed. Version 1:
//
//   off  size  field
//   0    4     magic "HLAS"
//   4    2     format version (u16) = 1
//   6    1     operator code (u8): 0 la1, 1 hla2, 2 ahla, 3 hla3, 4 gla, 5 deltaRule
//   7    1     flags (u8): bit 0 normalize, bit 1 ridge moments present, bit 2 qkL2norm
//              (gla and deltaRule: no normalize, eps 1, ridge 0, one decay value 1; their
//              state is [batch, valueHeads, dk, dv])
//   8    20    batch, heads, valueHeads, dk, dv (u32 each)
//   28   12    scale, eps, ridge (f32 each)
//   40   8     position: tokens consumed (f64)
//   48   4     number of decay values n (u32), then n × f32
//   …    4     number of state floats L (u32), then L × f32 (layout: docs/math.md)
//   end  4     CRC-32 (IEEE) of every byte before it
//
// Version 2 is version 1 with an extension block between the decay values and the state count:
// u32 E (its length in bytes), then E bytes of the operator's own options. Codes 6 sse and 7 rla
// need one (their options do not fit the fields above) and are written as version 2; the
// others have none and are written (and read) as version 1, so that older readers keep reading
// them and each snapshot has exactly one encoding (restore → snapshot gives the same bytes). sse and rla store eps 1, ridge 0, one decay value 1 and flag bit 2 = qkL2norm,
// as gla and deltaRule do; their blocks:
//   sse (E = 12): partitions N (u32), topK (u32), base (u8: 0 gla, 1 deltaRule),
//                 options (u8: bit 0 weightQuery, bit 1 weightKey), 2 zero bytes;
//                 state [batch, heads, N + 1, valueHeads / heads, dk, dv]
//   rla (E = 8):  base (u8: 0 la, 1 deltaRule), residual (u8: 0 undecayed, 1 decayed),
//                 2 zero bytes, clip (f32, > 0, Infinity: none);
//                 state [batch, heads, {S, R}, valueHeads / heads, dk, dv]
// (state layouts: docs/math.md sections h and i).
import { Detail, rangeError, typeError } from './errors.js';
import { checkSizes, MAX_FLOATS, stateFloats, workspaceFloats } from './limits.js';
import { entryOf, OPS, type OperatorName } from './operators.js';

export const MAGIC = 0x53414c48; // "HLAS" read as a little-endian u32
/** The newest format this package reads; it writes 1 unless the extension block is needed. */
export const FORMAT_VERSION = 2;

/** sse's options in a snapshot (its extension block, with qkL2norm and scale in the header). */
export interface SseSnapshotOptions {
  partitions: number;
  topK: number;
  base: 'gla' | 'deltaRule';
  weightQuery: boolean;
  weightKey: boolean;
}

/** rla's options in a snapshot. */
export interface RlaSnapshotOptions {
  base: 'la' | 'deltaRule';
  residual: 'undecayed' | 'decayed';
  clip: number;
}

export interface SnapshotHeader {
  op: OperatorName;
  batch: number;
  heads: number;
  valueHeads: number;
  dk: number;
  dv: number;
  scale: number;
  eps: number;
  ridge: number;
  normalize: boolean;
  decay: Float32Array;
  position: number;
  /** gla, deltaRule, sse, rla (flag bit 2). */
  qkL2norm?: boolean;
  /** sse only (its extension block). */
  sse?: SseSnapshotOptions;
  /** rla only (its extension block). */
  rla?: RlaSnapshotOptions;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function encodeSnapshot(h: SnapshotHeader, state: Float32Array): Uint8Array {
  // Operators with an extension block (ts/operators.ts `extBytes`) are written as version 2.
  const extBytes = entryOf(h.op).extBytes;
  const ext = extBytes === undefined ? 0 : 4 + extBytes;
  const size = 52 + 4 * h.decay.length + ext + 4 + 4 * state.length + 4;
  const bytes = new Uint8Array(size);
  const dv = new DataView(bytes.buffer);
  dv.setUint32(0, MAGIC, true);
  dv.setUint16(4, extBytes === undefined ? 1 : 2, true);
  dv.setUint8(6, entryOf(h.op).code);
  dv.setUint8(7, (h.normalize ? 1 : 0) | (h.ridge !== 0 ? 2 : 0) | (h.qkL2norm ? 4 : 0));
  [h.batch, h.heads, h.valueHeads, h.dk, h.dv].forEach((x, i) => dv.setUint32(8 + 4 * i, x, true));
  [h.scale, h.eps, h.ridge].forEach((x, i) => dv.setFloat32(28 + 4 * i, x, true));
  dv.setFloat64(40, h.position, true);
  let off = 48;
  dv.setUint32(off, h.decay.length, true);
  off += 4;
  for (const g of h.decay) {
    dv.setFloat32(off, g, true);
    off += 4;
  }
  if (h.sse) {
    dv.setUint32(off, ext - 4, true);
    dv.setUint32(off + 4, h.sse.partitions, true);
    dv.setUint32(off + 8, h.sse.topK, true);
    dv.setUint8(off + 12, h.sse.base === 'gla' ? 0 : 1);
    dv.setUint8(off + 13, (h.sse.weightQuery ? 1 : 0) | (h.sse.weightKey ? 2 : 0));
    off += ext;
  } else if (h.rla) {
    dv.setUint32(off, ext - 4, true);
    dv.setUint8(off + 4, h.rla.base === 'la' ? 0 : 1);
    dv.setUint8(off + 5, h.rla.residual === 'undecayed' ? 0 : 1);
    dv.setFloat32(off + 8, h.rla.clip, true);
    off += ext;
  }
  dv.setUint32(off, state.length, true);
  off += 4;
  for (let i = 0; i < state.length; i++, off += 4) dv.setFloat32(off, state[i], true);
  dv.setUint32(off, crc32(bytes.subarray(0, off)), true);
  return bytes;
}

/**
 * Parses and checks a snapshot; throws before anything is restored. An edge service restores
 * snapshots it did not write, so every field is checked here, before any allocation past the
 * bytes themselves: the CRC only proves the bytes are the ones written, not that the writer
 * was this package. Sizes use the same limits as `hla.session` (ts/limits.ts); options the same
 * ranges as a session accepts; the state count must be the true state length for the dims.
 */
export function decodeSnapshot(bytes: unknown): { header: SnapshotHeader; state: Float32Array } {
  if (!(bytes instanceof Uint8Array)) throw typeError('snapshot', 'a Uint8Array from session.snapshot()', bytes);
  // The true length and memory (an own `length` property cannot lie to these).
  const view = new Uint8Array(
    Reflect.apply(BYTE_BUFFER, bytes, []) as ArrayBuffer,
    Reflect.apply(BYTE_OFFSET, bytes, []) as number,
    Reflect.apply(BYTE_LENGTH, bytes, []) as number,
  );
  const bad = (expected: string, actual: string) => rangeError('snapshot', expected, new Detail(actual));
  const short = (need: number) => {
    if (view.length < need) throw bad(`at least ${need} bytes (truncated?)`, `${view.length} bytes`);
  };
  short(56);
  const dv = new DataView(view.buffer, view.byteOffset, view.byteLength);
  const magic = dv.getUint32(0, true);
  if (magic !== MAGIC) {
    throw bad("magic 'HLAS' (an hla-wasm session snapshot)", `bytes ${Array.from(view.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ')}`);
  }
  const version = dv.getUint16(4, true);
  if (version > FORMAT_VERSION) {
    throw bad(`format version ≤ ${FORMAT_VERSION} (upgrade hla-wasm to read newer snapshots)`, `version ${version}`);
  }
  if (version < 1) throw bad('format version ≥ 1', `version ${version}`);
  const nDecay = dv.getUint32(48, true);
  // Every length in float64: 4·n cannot wrap here.
  const extAt = 52 + 4 * nDecay;
  short(extAt + (version >= 2 ? 4 : 0) + 4);
  const extLen = version >= 2 ? dv.getUint32(extAt, true) : 0;
  const stateAt = extAt + (version >= 2 ? 4 + extLen : 0);
  short(stateAt + 4);
  const nState = dv.getUint32(stateAt, true);
  const end = stateAt + 4 + 4 * nState;
  if (view.length !== end + 4) throw bad(`${end + 4} bytes (as its header says)`, `${view.length} bytes (truncated or padded)`);
  const stored = dv.getUint32(end, true);
  const actual = crc32(view.subarray(0, end));
  if (stored !== actual) throw bad(`checksum ${stored.toString(16).padStart(8, '0')}`, `${actual.toString(16).padStart(8, '0')} (the bytes are corrupted)`);
  const code = dv.getUint8(6);
  const op = OPS.find((k) => entryOf(k).code === code);
  if (!op) throw rangeError('snapshot operator', `a code 0..${OPS.length - 1} (${OPS.join(', ')})`, code);
  const extBytes = entryOf(op).extBytes;
  const second = extBytes !== undefined;
  // Outside the HLA family: no normalize, eps, ridge or decay (stored as 1, 0 and [1]).
  const gated = entryOf(op).family !== 'hla';
  // One layout per operator: version 2 (an extension block) for sse and rla, 1 for the others.
  if (version !== (second ? 2 : 1)) throw bad(`format version ${second ? '2 (sse and rla store their options in an extension block)' : `1 (${op} has no extension block)`}`, `version ${version}`);
  if (second && extLen !== extBytes) throw rangeError('snapshot extension length', `${extBytes} bytes (${op}'s options)`, extLen);
  const flags = dv.getUint8(7);
  if ((flags & ~7) !== 0) throw rangeError('snapshot flags', 'bits 0 (normalize), 1 (ridge) and 2 (qkL2norm) only', flags);
  if ((flags & 4) !== 0 && op !== 'deltaRule' && !second) throw rangeError('snapshot flags', `no qkL2norm bit (${op} has no qkL2norm)`, flags);
  if (gated && (flags & 1) !== 0) throw rangeError('snapshot flags', `no normalize bit (${op} has no normalize)`, flags);
  const u = (i: number) => dv.getUint32(8 + 4 * i, true);
  const [batch, heads, valueHeads, dk, dvSize] = [u(0), u(1), u(2), u(3), u(4)];
  (['batch', 'heads', 'valueHeads', 'dk', 'dv'] as const).forEach((name, i) => {
    if (!(u(i) >= 1 && u(i) <= MAX_FLOATS)) throw rangeError(`snapshot ${name}`, `an integer in [1, ${MAX_FLOATS}]`, u(i));
  });
  if (valueHeads % heads !== 0) throw rangeError('snapshot valueHeads', `a multiple of heads = ${heads}`, valueHeads);
  const scale = dv.getFloat32(28, true), eps = dv.getFloat32(32, true), ridge = dv.getFloat32(36, true);
  if (!Number.isFinite(scale)) throw rangeError('snapshot scale', 'a finite number', scale);
  if (!(eps > 0 && Number.isFinite(eps))) throw rangeError('snapshot eps', 'a finite number > 0', eps);
  if (!Number.isFinite(ridge)) throw rangeError('snapshot ridge', 'a finite number', ridge);
  if (ridge !== 0 && op !== 'hla2') throw rangeError('snapshot ridge', `0 (${op} has no ridge term)`, ridge);
  if (((flags & 2) !== 0) !== (ridge !== 0)) throw rangeError('snapshot', 'ridge flag consistent with ridge value', ridge);
  const position = dv.getFloat64(40, true);
  if (!(Number.isInteger(position) && position >= 0 && position <= Number.MAX_SAFE_INTEGER)) {
    throw rangeError('snapshot position', `an integer in [0, 2^53 − 1] (tokens consumed)`, position);
  }
  if (nDecay !== 1 && nDecay !== heads) throw rangeError('snapshot decay count', `1 or heads = ${heads}`, nDecay);
  const decay = new Float32Array(nDecay);
  for (let i = 0; i < nDecay; i++) {
    decay[i] = dv.getFloat32(52 + 4 * i, true);
    if (!(decay[i] > 0 && decay[i] <= 1)) throw rangeError(`snapshot decay[${i}]`, 'a number in (0, 1]', decay[i]);
  }
  // These sessions write ridge +0; −0 would restore but not snapshot to the same bytes.
  if (gated && Object.is(ridge, -0)) throw rangeError('snapshot ridge', `+0 (${op} has no ridge term)`, new Detail('-0'));
  if (gated && (nDecay !== 1 || decay[0] !== 1 || eps !== 1)) throw rangeError('snapshot', `decay [1] and eps 1 (${op} has neither)`, new Detail(`decay count ${nDecay}, eps ${eps}`));
  // The extension block: every option in the range hla.session accepts, reserved bytes zero.
  const x = extAt + 4;
  let sse: SseSnapshotOptions | undefined, rla: RlaSnapshotOptions | undefined;
  if (op === 'sse') {
    const partitions = dv.getUint32(x, true), topK = dv.getUint32(x + 4, true), base = dv.getUint8(x + 8), bits = dv.getUint8(x + 9);
    if (!(partitions >= 1 && partitions <= MAX_FLOATS)) throw rangeError('snapshot partitions', `an integer in [1, ${MAX_FLOATS}]`, partitions);
    if (!(topK >= 1 && topK <= partitions)) throw rangeError('snapshot topK', `an integer in 1..${partitions} (partitions)`, topK);
    if (base > 1) throw rangeError('snapshot base', "0 ('gla') or 1 ('deltaRule')", base);
    if ((bits & ~3) !== 0) throw rangeError('snapshot sse options', 'bits 0 (weightQuery) and 1 (weightKey) only', bits);
    if (dv.getUint16(x + 10, true) !== 0) throw rangeError('snapshot reserved', '0 (bytes 10..11 of the sse block)', dv.getUint16(x + 10, true));
    sse = { partitions, topK, base: base === 0 ? 'gla' : 'deltaRule', weightQuery: (bits & 1) !== 0, weightKey: (bits & 2) !== 0 };
  } else if (op === 'rla') {
    const base = dv.getUint8(x), residual = dv.getUint8(x + 1), clip = dv.getFloat32(x + 4, true);
    if (base > 1) throw rangeError('snapshot base', "0 ('la') or 1 ('deltaRule')", base);
    if (residual > 1) throw rangeError('snapshot residual', "0 ('undecayed') or 1 ('decayed')", residual);
    if (dv.getUint16(x + 2, true) !== 0) throw rangeError('snapshot reserved', '0 (bytes 2..3 of the rla block)', dv.getUint16(x + 2, true));
    if (!(clip > 0)) throw rangeError('snapshot clip', 'a number > 0 (Infinity: no clipping)', clip);
    rla = { base: base === 0 ? 'la' : 'deltaRule', residual: residual === 0 ? 'undecayed' : 'decayed', clip };
  }
  // The sizes a session of these dims takes (the checks hla.session makes), then the state
  // count against the true state length for them.
  const ns = stateFloats(op, batch, heads, valueHeads, dk, dvSize, ridge !== 0, sse?.partitions ?? 0);
  const nq = batch * heads * dk, nv = batch * valueHeads * dvSize;
  // sse and rla: the sizes their session's one-token check takes (ts/second.ts), at least 2·state.
  const oneToken = 3 + 1 + 6 * dk + 4 + 4 * dvSize + 2 * dk * dvSize + 2 * dk;
  const total = sse
    ? Math.max(2 * ns, 6 * nq + 2 * nv + batch * sse.partitions + 4 * batch * valueHeads + ns + oneToken + sse.topK * (3 * dk + 2 * (valueHeads / heads) * dvSize))
    : rla
      ? Math.max(2 * ns, 2 * nq + 2 * nv + 3 * batch * valueHeads + ns + oneToken + 5 * dk + 4 * dvSize)
      : 2 * nq + 2 * nv + ns + workspaceFloats(0, 1, dk, dvSize);
  checkSizes({
    buffers: [
      ['snapshot dk', 'inputs q, k of batch·heads·dk', nq],
      ['snapshot dv', 'inputs v, output o of batch·valueHeads·dv', nv],
      ['snapshot state', `a ${op} state (batch=${batch}, heads=${heads}, valueHeads=${valueHeads}, dk=${dk}, dv=${dvSize}${sse ? `, partitions=${sse.partitions}` : ''})`, ns],
    ],
    total,
  });
  if (nState !== ns) throw rangeError('snapshot state', `${ns} floats (the state of its dims)`, nState);
  const state = new Float32Array(nState);
  for (let i = 0; i < nState; i++) state[i] = dv.getFloat32(stateAt + 4 + 4 * i, true);
  const header: SnapshotHeader = {
    op, batch, heads, valueHeads, dk, dv: dvSize, scale, eps, ridge, normalize: (flags & 1) !== 0, decay, position,
    ...(gated ? { qkL2norm: (flags & 4) !== 0 } : {}),
    ...(sse ? { sse } : {}),
    ...(rla ? { rla } : {}),
  };
  return { header, state };
}

const intrinsic = (key: string) => Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype) as object, key)!.get!;
const BYTE_BUFFER = intrinsic('buffer'), BYTE_OFFSET = intrinsic('byteOffset'), BYTE_LENGTH = intrinsic('length');
