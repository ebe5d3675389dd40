// The public option and input types of sse and rla (docs/math.md sections h and i), and the
// options every call outside the HLA family takes (gla and deltaRule's too), apart from
// ts/second.ts so that the published declarations of these types reach nothing of the binding.
import type { HlaState } from './state.js';
import type { Tensor } from './types.js';

/** Options every call of gla, deltaRule, sse and rla takes (FLA names). */
export interface CallOptions {
  /** Multiplies q (after qkL2norm). Default dk^-0.5. */
  scale?: number;
  /** A `finalState` of an earlier call with the same operator, options and shapes. */
  initialState?: HlaState;
  /** Return `finalState`. Default false. */
  outputFinalState?: boolean;
  /** 'recurrent' (token by token, the default) or 'chunk' (chunk-parallel). */
  mode?: 'chunk' | 'recurrent';
  /** Chunk length for mode 'chunk', any integer ≥ 1 (results do not depend on it). Default 64. */
  chunkSize?: number;
  /** FLA-style packed variable-length batch (B must be 1): offsets [0, …, T]; state resets at each. */
  cuSeqlens?: Int32Array | number[];
}

/** sse's per-token inputs: base 'gla' takes gk1, gk2; base 'deltaRule' beta1, beta2 (g1, g2 optional). */
export interface SseInputs {
  /** `[B, T, H, dk]`: the always-on partition's query and key. */
  q1: Tensor; k1: Tensor;
  /** `[B, T, H, dk]`: the routed partitions' query and key. */
  q2: Tensor; k2: Tensor;
  /** `[B, T, HV, dv]`. */
  v: Tensor;
  /** `[B, T, N]` router logits (shared by every head); N is the number of routed partitions. */
  router: Tensor;
  /** gla: `[B, T, H, dk]` log decays ≤ 0 of each side. */
  gk1?: Tensor; gk2?: Tensor;
  /** deltaRule: `[B, T, HV]` log decays ≤ 0 of each side (absent: none). */
  g1?: Tensor; g2?: Tensor;
  /** deltaRule: `[B, T, HV]` write rates of each side. */
  beta1?: Tensor; beta2?: Tensor;
}

export interface SseOptions extends CallOptions {
  /** The operator each partition runs. */
  base: 'gla' | 'deltaRule';
  /** Partitions each token is routed to, 1 ≤ topK ≤ N. Default 1. */
  topK?: number;
  /** Scale q2 by the router probability. Default true. */
  weightQuery?: boolean;
  /** Scale k2 by the router probability. Default true. */
  weightKey?: boolean;
  /** L2-normalise q and k (after the weights: they cancel). Default: true for deltaRule, false for gla. */
  qkL2norm?: boolean;
}

export interface RlaOptions extends CallOptions {
  /** 'la' (RLA, the default) or 'deltaRule' (RDN). */
  base?: 'la' | 'deltaRule';
  /** `[B, T, HV]` log decays ≤ 0 (absent: no decay). */
  g?: Tensor;
  /** `[B, T, HV]` the base's write rate (absent: 1). */
  beta?: Tensor;
  /** `[B, T, HV]` the residual state's rate (required). */
  correction: Tensor;
  /** Residuals are clamped to [−clip, clip]; > 0, Infinity: none. Default 1. */
  clip?: number;
  /** What S predicts v_t with: S_{t−1} ('undecayed', the default) or exp(g_t) S_{t−1} ('decayed'). */
  residual?: 'undecayed' | 'decayed';
  /** L2-normalise q and k. Default false. */
  qkL2norm?: boolean;
}

