// The snapshot format: self-describing, little-endian, checksummed. Version 1:
//
//   off  size  field
//   0    4     magic "HLAS"
//   4    2     format version (u16) = 1
//   6    1     operator code (u8): 0 la1, 1 hla2, 2 ahla, 3 hla3
//   7    1     flags (u8): bit 0 normalize, bit 1 ridge moments present
//   8    20    batch, heads, valueHeads, dk, dv (u32 each)
//   28   12    scale, eps, ridge (f32 each)
//   40   8     position: tokens consumed (f64)
//   48   4     number of decay values n (u32), then n × f32
//   …    4     number of state floats L (u32), then L × f32 (layout: docs/math.md)
//   end  4     CRC-32 (IEEE) of every byte before it
import { Detail, rangeError, typeError } from './errors.js';
import { OP_CODES, type OpName } from './types.js';

export const MAGIC = 0x53414c48; // "HLAS" read as a little-endian u32
export const FORMAT_VERSION = 1;

export interface SnapshotHeader {
  op: OpName;
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
  dv.setUint8(6, OP_CODES[h.op]);
  dv.setUint8(7, (h.normalize ? 1 : 0) | (h.ridge !== 0 ? 2 : 0));
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

/** Parses and checks a snapshot; throws before anything is restored. */
export function decodeSnapshot(bytes: unknown): { header: SnapshotHeader; state: Float32Array } {
  if (!(bytes instanceof Uint8Array)) throw typeError('snapshot', 'a Uint8Array from session.snapshot()', bytes);
  const short = (need: number) => {
    if (bytes.length < need) throw rangeError('snapshot', `at least ${need} bytes (truncated?)`, new Detail(`${bytes.length} bytes`));
  };
  short(56);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = dv.getUint32(0, true);
  if (magic !== MAGIC) {
    throw rangeError('snapshot', "magic 'HLAS' (an hla-wasm session snapshot)", new Detail(`bytes ${Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ')}`));
  }
  const version = dv.getUint16(4, true);
  if (version > FORMAT_VERSION) {
    throw rangeError('snapshot', `format version ≤ ${FORMAT_VERSION} (upgrade hla-wasm to read newer snapshots)`, new Detail(`version ${version}`));
  }
  const nDecay = dv.getUint32(48, true);
  short(52 + 4 * nDecay + 4);
  const nState = dv.getUint32(52 + 4 * nDecay, true);
  const end = 56 + 4 * nDecay + 4 * nState;
  if (bytes.length !== end + 4) throw rangeError('snapshot', `${end + 4} bytes (as its header says)`, new Detail(`${bytes.length} bytes (truncated or padded)`));
  const stored = dv.getUint32(end, true);
  const actual = crc32(bytes.subarray(0, end));
  if (stored !== actual) throw rangeError('snapshot', `checksum ${stored.toString(16).padStart(8, '0')}`, new Detail(`${actual.toString(16).padStart(8, '0')} (the bytes are corrupted)`));
  const opCode = dv.getUint8(6);
  const op = (Object.keys(OP_CODES) as OpName[]).find((k) => OP_CODES[k] === opCode);
  if (!op) throw rangeError('snapshot', 'an operator code 0..3', opCode);
  const flags = dv.getUint8(7);
  const u = (i: number) => dv.getUint32(8 + 4 * i, true);
  const decay = new Float32Array(nDecay);
  for (let i = 0; i < nDecay; i++) decay[i] = dv.getFloat32(52 + 4 * i, true);
  const state = new Float32Array(nState);
  for (let i = 0; i < nState; i++) state[i] = dv.getFloat32(56 + 4 * nDecay + 4 * i, true);
  const header: SnapshotHeader = {
    op, batch: u(0), heads: u(1), valueHeads: u(2), dk: u(3), dv: u(4),
    scale: dv.getFloat32(28, true), eps: dv.getFloat32(32, true), ridge: dv.getFloat32(36, true),
    normalize: (flags & 1) !== 0, decay, position: dv.getFloat64(40, true),
  };
  if (((flags & 2) !== 0) !== (header.ridge !== 0)) throw rangeError('snapshot', 'ridge flag consistent with ridge value', header.ridge);
  return { header, state };
}
