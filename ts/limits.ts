// What one wasm32 instance can hold, and every size a call or session needs, computed in
// float64 (exact below 2^53, and far past the limits above it) before anything is allocated.
// The same bounds as the kernels' own checked arithmetic (crates/hla-core/src/size.rs).
import { Detail, rangeError } from './errors.js';
import { entryOf, type OperatorName } from './operators.js';

/** Floats in one buffer: a wasm32 allocation is at most 2^31 − 1 bytes (just under 2 GiB). */
export const MAX_FLOATS = 536_870_911;
/** The longest chunk the chunk form runs; a longer `chunkSize` runs chunks of this length. */
export const MAX_CHUNK = 1024;
/** A wasm32 instance's whole linear memory: 4 GiB. */
export const MAX_MEMORY_BYTES = 2 ** 32;
/** Tokens the recurrence takes per sweep (hla-core `ops::recurrent::NT`). */
const NT = 2;

/**
 * Floats of state for `nSeq` sequences of H query-key heads (HV value heads): the operator
 * table's layout per group (ts/operators.ts), `partitions` sse's N.
 */
export function stateFloats(op: OperatorName, nSeq: number, H: number, HV: number, dk: number, dv: number, ridge: boolean, partitions = 0): number {
  return nSeq * H * entryOf(op).group({ dk, dv, g: HV / H, ridge, partitions });
}

/** An upper bound of the kernels' scratch floats (hla-core `ops::workspace_len`); chunkSize 0 = recurrent. */
export function workspaceFloats(chunkSize: number, T: number, dk: number, dv: number): number {
  if (chunkSize === 0) return 8 * NT * dk + 2 * NT * dv;
  const c = Math.max(1, Math.min(chunkSize, T, MAX_CHUNK));
  return 3 * c + 1 + 6 * c * dk + 4 * c * c + 4 * c * dv + 2 * dk * dv + 2 * dk;
}

/** The floats of one call into wasm, each named for the argument that sets it. */
export interface CallSizes {
  /** [argument, expected shape in words, floats] of each buffer. */
  buffers: [string, string, number][];
  /** Every float the call has in wasm memory at once (copies in and out, state, scratch). */
  total: number;
}

const MiB = (floats: number) => `${Math.ceil((4 * floats) / 2 ** 20).toLocaleString('en-US')} MiB`;

/**
 * Throws a RangeError naming the first buffer past one wasm32 allocation, or the call when
 * all of them together cannot fit a wasm32 instance. Nothing is allocated before this.
 */
export function checkSizes({ buffers, total }: CallSizes): void {
  for (const [arg, what, n] of buffers) {
    if (!(n <= MAX_FLOATS)) {
      throw rangeError(arg, `${what} of at most ${MAX_FLOATS.toLocaleString('en-US')} floats (2 GiB, one wasm32 buffer)`, new Detail(`${n.toLocaleString('en-US')} floats`));
    }
  }
  if (!(4 * total <= MAX_MEMORY_BYTES)) {
    throw rangeError('shapes', 'a call whose buffers fit one wasm32 instance (4,096 MiB in all)', new Detail(`${MiB(total)}`));
  }
}
