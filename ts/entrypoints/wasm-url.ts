// Where a flavour's .wasm sits: next to the bundle that holds this code (dist/).
import type { Backend } from '../types.js';

/** The URL of `backend`'s .wasm beside this module; a clear error where modules have no URL (workerd). */
export function wasmUrl(backend: Backend): URL {
  if (typeof import.meta.url !== 'string') {
    throw new Error(`hla-wasm: this runtime gives modules no URL (import.meta.url is ${String(import.meta.url)}), so hla_${backend}.wasm can't be located: pass init({ wasm }), e.g. import wasm from 'hla-wasm/hla_${backend}.wasm'`);
  }
  // One literal URL per file (not a template), so that bundlers find and emit each .wasm.
  if (backend === 'relaxed') return new URL('./hla_relaxed.wasm', import.meta.url);
  if (backend === 'simd128') return new URL('./hla_simd128.wasm', import.meta.url);
  return new URL('./hla_scalar.wasm', import.meta.url);
}
