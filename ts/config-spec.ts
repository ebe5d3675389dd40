// A config of the binding as plain data (types only): what a pool worker receives and builds its
// own `Config` from (ts/config.ts `withSpec`). Apart from ts/config.ts so that the message types
// (ts/protocol.ts), which the published declarations reach through the pool, reach nothing of
// the binding's glue.
import type { GatedOpName, OpName } from './types.js';

/** The HLA family's resolved options (ts/validate.ts `checkCommon`). */
export interface HlaScalars {
  scale: number; decay: Float32Array; normalize: boolean; eps: number; ridge: number;
}

/** The operator family and its resolved options. */
export type ConfigSpec =
  | ({ family: 'hla'; op: OpName } & HlaScalars)
  | { family: 'gated'; op: GatedOpName; scale: number; qkL2norm: boolean }
  | { family: 'sse'; base: 'gla' | 'deltaRule'; partitions: number; topK: number; weightQuery: boolean; weightKey: boolean; qkL2norm: boolean; scale: number }
  | { family: 'rla'; base: 'la' | 'deltaRule'; clip: number; residual: 'undecayed' | 'decayed'; qkL2norm: boolean; scale: number };
