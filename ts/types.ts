/** A dense row-major float32 tensor. */
export interface Tensor {
  data: Float32Array;
  shape: number[];
}

import { opsOf, type OperatorsOf } from './operators.js';

export { OPS, type OperatorFamily, type OperatorName, type OperatorsOf } from './operators.js';

/** The HLA family: la1, hla2, ahla, hla3 (see README "Operators"). */
export type OpName = OperatorsOf<'hla'>;

/** The gated operators (gla, deltaRule): gates are per-token inputs (see README "Operators"). */
export type GatedOpName = OperatorsOf<'gated'>;

/** The HLA family's operators, in table order (ts/operators.ts). */
export const HLA_OPS: readonly OpName[] = opsOf('hla');

/** The gated operators, in table order. */
export const GATED_OPS: readonly GatedOpName[] = opsOf('gated');

/** SIMD flavours, best first. */
export type Backend = 'relaxed' | 'simd128' | 'scalar';

/** Every SIMD flavour, best first. */
export const BACKENDS: readonly Backend[] = ['relaxed', 'simd128', 'scalar'];

/** What `init({ wasm })` accepts: bytes, a URL (or string URL), a fetch Response, or a compiled module. */
export type WasmSource = BufferSource | URL | string | Response | WebAssembly.Module;
