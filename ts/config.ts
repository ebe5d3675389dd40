// The one place that builds the binding's `Config` (operator, dims, the operator family's
// options): the engine, sessions and segment scans take it by reference.
import type { ConfigSpec } from './config-spec.js';
import type { Glue } from './loader.js';

export type { ConfigSpec, HlaScalars } from './config-spec.js';

export type Config = ReturnType<Glue['Config']['hla']>;

/** The dimensions of a call: q, k `[B, T, H, dk]`, v `[B, T, HV, dv]`. */
export interface CallDims {
  B: number; T: number; H: number; HV: number; dk: number; dv: number;
}


/** The binding's config of `s` with dims `d`; the caller frees it. */
export function specConfig(glue: Glue, s: ConfigSpec, d: CallDims): Config {
  // Sizes cross as f64: a u32 would wrap 2³² + 2 to 2 in the glue, where nothing can see it.
  const dims = new Float64Array([d.B, d.T, d.H, d.HV, d.dk, d.dv]);
  switch (s.family) {
    case 'hla': return glue.Config.hla(s.op, dims, s.scale, s.decay, s.normalize, s.eps, s.ridge);
    case 'gated': return glue.Config.gated(s.op, dims, s.scale, s.qkL2norm);
    case 'sse': return glue.Config.sse(s.base, dims, s.partitions, s.topK, s.weightQuery, s.weightKey, s.qkL2norm, s.scale);
    case 'rla': return glue.Config.rla(s.base, dims, s.clip, s.residual, s.qkL2norm, s.scale);
  }
}

/** Runs `f` with the config of `s` and `d`, freed afterwards (also when `f` throws). */
export function withSpec<T>(glue: Glue, s: ConfigSpec, d: CallDims, f: (c: Config) => T): T {
  const config = specConfig(glue, s, d);
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

/** `s` for query-key heads `[h0, h1)` of its call: only the HLA family has a per-head option (decay). */
export function specOfHeads(s: ConfigSpec, h0: number, h1: number): ConfigSpec {
  return s.family === 'hla' && s.decay.length > 1 ? { ...s, decay: s.decay.slice(h0, h1) } : s;
}

/** The binding's name of the operator `s` configures (`Op::name`: sse is one per base). */
export function specOp(s: ConfigSpec): string {
  switch (s.family) {
    case 'hla': case 'gated': return s.op;
    case 'sse': return s.base === 'gla' ? 'sseGla' : 'sseDeltaRule';
    case 'rla': return 'rla';
  }
}
