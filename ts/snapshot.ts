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
import { Detail, rangeError, typeError } from './errors.js';
import { checkSizes, MAX_FLOATS, stateFloats, workspaceFloats } from './limits.js';
import { OP_CODES, type GatedOpName, type OpName } from './types.js';

/** The gated operators' codes, after the HLA family's. */
export const GATED_CODES: Record<GatedOpName, number> = { gla: 4, deltaRule: 5 };

export const MAGIC = 0x53414c48; // "HLAS" read as a little-endian u32
export const FORMAT_VERSION = 1;

export interface SnapshotHeader {
  op: OpName | GatedOpName;
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
  /** deltaRule only (flag bit 2). */
  qkL2norm?: boolean;
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
  const size = 52 + 4 * h.decay.length + 4 + 4 * state.length + 4;
  const bytes = new Uint8Array(size);
  const dv = new DataView(bytes.buffer);
  dv.setUint32(0, MAGIC, true);
  dv.setUint16(4, FORMAT_VERSION, true);
  dv.setUint8(6, h.op === 'gla' || h.op === 'deltaRule' ? GATED_CODES[h.op] : OP_CODES[h.op]);
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
  short(52 + 4 * nDecay + 4);
  const nState = dv.getUint32(52 + 4 * nDecay, true);
  const end = 56 + 4 * nDecay + 4 * nState;
  if (view.length !== end + 4) throw bad(`${end + 4} bytes (as its header says)`, `${view.length} bytes (truncated or padded)`);
  const stored = dv.getUint32(end, true);
  const actual = crc32(view.subarray(0, end));
  if (stored !== actual) throw bad(`checksum ${stored.toString(16).padStart(8, '0')}`, `${actual.toString(16).padStart(8, '0')} (the bytes are corrupted)`);
  const opCode = dv.getUint8(6);
  const op = (Object.keys(OP_CODES) as OpName[]).find((k) => OP_CODES[k] === opCode)
    ?? (Object.keys(GATED_CODES) as GatedOpName[]).find((k) => GATED_CODES[k] === opCode);
  if (!op) throw rangeError('snapshot operator', 'a code 0..5 (la1, hla2, ahla, hla3, gla, deltaRule)', opCode);
  const gated = op === 'gla' || op === 'deltaRule';
  const flags = dv.getUint8(7);
  if ((flags & ~7) !== 0) throw rangeError('snapshot flags', 'bits 0 (normalize), 1 (ridge) and 2 (qkL2norm) only', flags);
  if ((flags & 4) !== 0 && op !== 'deltaRule') throw rangeError('snapshot flags', `no qkL2norm bit (${op} has no qkL2norm)`, flags);
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
  // The sizes a session of these dims takes (the checks hla.session makes), then the state
  // count against the true state length for them.
  if (gated && (nDecay !== 1 || decay[0] !== 1 || eps !== 1)) throw rangeError('snapshot', `decay [1] and eps 1 (${op} has neither)`, new Detail(`decay count ${nDecay}, eps ${eps}`));
  const ns = gated ? batch * valueHeads * dk * dvSize : stateFloats(op, batch, heads, valueHeads, dk, dvSize, ridge !== 0);
  const nq = batch * heads * dk, nv = batch * valueHeads * dvSize;
  checkSizes({
    buffers: [
      ['snapshot dk', 'inputs q, k of batch·heads·dk', nq],
      ['snapshot dv', 'inputs v, output o of batch·valueHeads·dv', nv],
      ['snapshot state', `a ${op} state (batch=${batch}, heads=${heads}, valueHeads=${valueHeads}, dk=${dk}, dv=${dvSize})`, ns],
    ],
    total: 2 * nq + 2 * nv + ns + workspaceFloats(0, 1, dk, dvSize),
  });
  if (nState !== ns) throw rangeError('snapshot state', `${ns} floats (the state of its dims)`, nState);
  const state = new Float32Array(nState);
  for (let i = 0; i < nState; i++) state[i] = dv.getFloat32(56 + 4 * nDecay + 4 * i, true);
  const header: SnapshotHeader = {
    op, batch, heads, valueHeads, dk, dv: dvSize, scale, eps, ridge, normalize: (flags & 1) !== 0, decay, position,
    ...(gated ? { qkL2norm: (flags & 4) !== 0 } : {}),
  };
  return { header, state };
}

const intrinsic = (key: string) => Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype) as object, key)!.get!;
const BYTE_BUFFER = intrinsic('buffer'), BYTE_OFFSET = intrinsic('byteOffset'), BYTE_LENGTH = intrinsic('length');
