// Snapshot bytes written by hand (the format of ts/snapshot.ts, README "Snapshots"): the hostile
// tests and the mutation fuzz craft headers that session.snapshot() never writes, with a valid
// CRC so that the header validation, not the checksum, is what gets exercised.

const TABLE = (() => {
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
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export interface Fields {
  version?: number;
  /** 0 la1, 1 hla2, 2 ahla, 3 hla3, 4 gla, 5 deltaRule, 6 sse, 7 rla */
  op: number;
  flags?: number;
  /** batch, heads, valueHeads, dk, dv */
  dims: number[];
  scale?: number;
  eps?: number;
  ridge?: number;
  position?: number;
  decay?: number[];
  /** The state count written in the header (default: the length of `state`). */
  nState?: number;
  state?: ArrayLike<number>;
  /** Version ≥ 2: the extension block's bytes (written after its u32 length; default none). */
  ext?: Uint8Array;
  /** The extension length written (default: the length of `ext`). */
  extLen?: number;
}

/** Bytes of a snapshot with these fields and a correct CRC-32 (u32 fields wrap as u32 do). */
export function craft(f: Fields): Uint8Array {
  const decay = f.decay ?? [0.5];
  const state = f.state ?? new Float32Array(f.nState ?? 0);
  const nState = f.nState ?? state.length;
  const ext = (f.version ?? 1) >= 2 ? (f.ext ?? new Uint8Array(0)) : null;
  const extBytes = ext ? 4 + ext.length : 0;
  const size = 52 + 4 * decay.length + extBytes + 4 + 4 * state.length + 4;
  const bytes = new Uint8Array(size);
  const dv = new DataView(bytes.buffer);
  dv.setUint32(0, 0x53414c48, true);
  dv.setUint16(4, f.version ?? 1, true);
  dv.setUint8(6, f.op);
  dv.setUint8(7, f.flags ?? 0);
  f.dims.forEach((x, i) => dv.setUint32(8 + 4 * i, x, true));
  [f.scale ?? 1, f.eps ?? 1e-6, f.ridge ?? 0].forEach((x, i) => dv.setFloat32(28 + 4 * i, x, true));
  dv.setFloat64(40, f.position ?? 0, true);
  dv.setUint32(48, decay.length, true);
  decay.forEach((g, i) => dv.setFloat32(52 + 4 * i, g, true));
  let off = 52 + 4 * decay.length;
  if (ext) {
    dv.setUint32(off, f.extLen ?? ext.length, true);
    bytes.set(ext, off + 4);
    off += extBytes;
  }
  dv.setUint32(off, nState, true);
  off += 4;
  for (let i = 0; i < state.length; i++, off += 4) dv.setFloat32(off, state[i], true);
  dv.setUint32(off, crc32(bytes.subarray(0, off)), true);
  return bytes;
}

/** The fields of well-formed snapshot bytes (the inverse of {@link craft}). */
export function snapshotFields(bytes: Uint8Array): Fields {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nDecay = dv.getUint32(48, true);
  const version = dv.getUint16(4, true);
  const extLen = version >= 2 ? dv.getUint32(52 + 4 * nDecay, true) : 0;
  const ext = version >= 2 ? bytes.slice(56 + 4 * nDecay, 56 + 4 * nDecay + extLen) : undefined;
  const at = 52 + 4 * nDecay + (version >= 2 ? 4 + extLen : 0);
  const nState = dv.getUint32(at, true);
  return {
    ...(ext ? { ext } : {}),
    version: dv.getUint16(4, true),
    op: dv.getUint8(6),
    flags: dv.getUint8(7),
    dims: [0, 1, 2, 3, 4].map((i) => dv.getUint32(8 + 4 * i, true)),
    scale: dv.getFloat32(28, true),
    eps: dv.getFloat32(32, true),
    ridge: dv.getFloat32(36, true),
    position: dv.getFloat64(40, true),
    decay: Array.from({ length: nDecay }, (_, i) => dv.getFloat32(52 + 4 * i, true)),
    nState,
    state: Float32Array.from({ length: nState }, (_, i) => dv.getFloat32(at + 4 + 4 * i, true)),
  };
}
