// Moving a range of query-key heads in and out of `[B, T, heads, D]` tensors and
// `[sequences, H, group]` states: how the worker pool splits one call across workers.

/** Heads `[h0, h1)` of a `[rows, heads, d]` array as a compact `[rows, h1 − h0, d]` copy. */
export function gatherHeads(x: Float32Array, rows: number, heads: number, d: number, h0: number, h1: number): Float32Array {
  const w = (h1 - h0) * d;
  const out = new Float32Array(rows * w);
  for (let r = 0; r < rows; r++) out.set(x.subarray((r * heads + h0) * d, (r * heads + h1) * d), r * w);
  return out;
}

/** The inverse of {@link gatherHeads}: writes `src` into heads `[h0, h1)` of `dst`. */
export function scatterHeads(dst: Float32Array, src: Float32Array, rows: number, heads: number, d: number, h0: number, h1: number): void {
  const w = (h1 - h0) * d;
  for (let r = 0; r < rows; r++) dst.set(src.subarray(r * w, (r + 1) * w), (r * heads + h0) * d);
}

/** `[h0, h1)` ranges splitting `heads` as evenly as possible into at most `parts`. */
export function splitHeads(heads: number, parts: number): [number, number][] {
  const n = Math.min(parts, heads);
  return Array.from({ length: n }, (_, i) => [Math.floor((i * heads) / n), Math.floor(((i + 1) * heads) / n)]);
}
