/** A dense row-major float32 tensor. */
export interface Tensor {
  data: Float32Array;
  shape: number[];
}

/** The operators of the family (see README "Operators"). */
export type OpName = 'la1' | 'hla2' | 'ahla' | 'hla3';

/** The gated operators (gla, deltaRule): gates are per-token inputs (see README "Operators"). */
export type GatedOpName = 'gla' | 'deltaRule';

/** The operator table: each operator's code in snapshots (one entry per operator). */
export const OP_CODES: Record<OpName, number> = { la1: 0, hla2: 1, ahla: 2, hla3: 3 };

/** Every operator, in table order. */
export const OPS: readonly OpName[] = Object.keys(OP_CODES) as OpName[];

/** SIMD flavours, best first. */
export type Backend = 'relaxed' | 'simd128' | 'scalar';

/** Every SIMD flavour, best first. */
export const BACKENDS: readonly Backend[] = ['relaxed', 'simd128', 'scalar'];

/** What `init({ wasm })` accepts: bytes, a URL (or string URL), a fetch Response, or a compiled module. */
export type WasmSource = BufferSource | URL | string | Response | WebAssembly.Module;
