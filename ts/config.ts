// The one place that builds the binding's `Config` (operator, dims, the operator family's
// options): the engine, sessions and segment scans take it by reference.
import type { Glue } from './loader.js';
import type { GatedOpName, OpName } from './types.js';

export type Config = ReturnType<Glue['Config']['hla']>;

/** The dimensions of a call: q, k `[B, T, H, dk]`, v `[B, T, HV, dv]`. */
export interface CallDims {
  B: number; T: number; H: number; HV: number; dk: number; dv: number;
}

/** The HLA family's resolved options (ts/validate.ts `checkCommon`). */
export interface HlaScalars {
  scale: number; decay: Float32Array; normalize: boolean; eps: number; ridge: number;
}

/** The binding's config of `op` with dims `d` and options `o`; the caller frees it. */
export function makeConfig(glue: Glue, op: OpName, d: CallDims, o: HlaScalars): Config {
  // Sizes cross as f64: a u32 would wrap 2³² + 2 to 2 in the glue, where nothing can see it.
  const dims = new Float64Array([d.B, d.T, d.H, d.HV, d.dk, d.dv]);
  return glue.Config.hla(op, dims, o.scale, o.decay, o.normalize, o.eps, o.ridge);
}

/** Runs `f` with a config of `op`, freed afterwards (also when `f` throws). */
export function withConfig<T>(glue: Glue, op: OpName, d: CallDims, o: HlaScalars, f: (c: Config) => T): T {
  const config = makeConfig(glue, op, d, o);
  try {
    return f(config);
  } finally {
    try {
      config.free();
    } catch {
      /* after a trap the instance may refuse; the caller reports the first error */
    }
  }
}

/** The binding's config of a gated operator (gla, deltaRule); the caller frees it. */
export function withGatedConfig<T>(glue: Glue, op: GatedOpName, d: CallDims, scale: number, qkL2norm: boolean, f: (c: Config) => T): T {
  const dims = new Float64Array([d.B, d.T, d.H, d.HV, d.dk, d.dv]);
  const config = glue.Config.gated(op, dims, scale, qkL2norm);
  try {
    return f(config);
  } finally {
    try {
      config.free();
    } catch {
      /* after a trap the instance may refuse; the caller reports the first error */
    }
  }
}
