// The operator table: everything the facade knows about each operator, one entry per operator.
// Every other module derives from it: the operator name types (ts/types.ts), the snapshot codes
// and extension blocks (ts/snapshot.ts), the per-token inputs the pool cuts (ts/inputs.ts), the
// state sizes checked before anything is allocated (ts/limits.ts), the default chunk lengths
// (ts/validate.ts) and the along-T cost model (ts/sequence.ts). The family names the code that
// checks a call and runs a session (ts/families.ts); an operator of an existing family needs
// nothing but its entry here (docs/operators.md "Adding an operator").
import type { InputKind } from './inputs.js';

/** The sizes a state layout depends on, per (sequence, query-key head) group. */
export interface GroupShape {
  dk: number;
  dv: number;
  /** Value heads per query-key head (HV / H). */
  g: number;
  /** hla2's ridge moments present. */
  ridge: boolean;
  /** sse: N, the routed partitions (0 for the others). */
  partitions: number;
}

/** One per-token input: its name (as the binding's `Config.inputNames()`) and its kind. */
export type InputSpec = readonly [string, InputKind];

/** The operator families: each checks its calls and runs its sessions its own way (ts/families.ts). */
export type OperatorFamily = 'hla' | 'gated' | 'sse' | 'rla';

/** What the facade knows about one operator. */
export interface OperatorEntry {
  /** Its code in snapshots (a u8; never reused). */
  readonly code: number;
  /** Which code checks its calls and runs its sessions (ts/families.ts). */
  readonly family: OperatorFamily;
  /** Per binding operator (hla-core `Op::name`; sse has one per base): inputs in `setInput` order. */
  readonly kernels: Readonly<Record<string, readonly InputSpec[]>>;
  /** Chunk length for mode 'chunk' without `chunkSize` (the fastest measured; README figures). */
  readonly chunk: number;
  /** Floats of state per (sequence, query-key head) group: the layouts of docs/math.md. */
  readonly group: (s: GroupShape) => number;
  /**
   * Segment summaries (docs/math.md §f, §g), so one sequence may be split along T: `cost` is
   * (full summary time per token) / (forward time per token) and `chunk` the summaries' chunk
   * length (measurement: ts/sequence.ts). Absent: split by (sequence, head) groups only.
   */
  readonly summary?: { readonly cost: number; readonly chunk: number };
  /** Bytes of its snapshot extension block (format version 2); absent: version 1, no block. */
  readonly extBytes?: number;
}

const QKV = [['q', 'queryKey'], ['k', 'queryKey'], ['v', 'value']] as const;
const SSE = [['q1', 'queryKey'], ['k1', 'queryKey'], ['q2', 'queryKey'], ['k2', 'queryKey'], ['v', 'value'], ['router', 'token']] as const;
/** One dk×dv matrix per value head. */
const matrices = (n: number) => ({ dk, dv, g }: GroupShape) => n * g * dk * dv;

/**
 * The operators, in snapshot-code order. Default chunk lengths: `npm run bench`, table "Every
 * operator"; summary costs at dk = dv = 64, T = 4096 (ts/sequence.ts says how).
 */
export const OPERATORS = {
  la1: {
    code: 0, family: 'hla', kernels: { la1: QKV }, chunk: 16, summary: { cost: 0.5, chunk: 32 },
    group: ({ dk, dv, g }: GroupShape) => dk + g * dk * dv,
  },
  hla2: {
    code: 1, family: 'hla', kernels: { hla2: QKV }, chunk: 32, summary: { cost: 1.3, chunk: 64 },
    group: ({ dk, dv, g, ridge }: GroupShape) => dk * dk + dk + (ridge ? 1 : 0) * dk + g * dk * dv * (ridge ? 2 : 1),
  },
  ahla: {
    code: 2, family: 'hla', kernels: { ahla: QKV }, chunk: 32, summary: { cost: 1.2, chunk: 32 },
    group: ({ dk, dv, g }: GroupShape) => 2 * dk + 2 * g * dk * dv,
  },
  hla3: {
    code: 3, family: 'hla', kernels: { hla3: QKV }, chunk: 32, summary: { cost: 1.7, chunk: 32 },
    group: ({ dk, dv, g }: GroupShape) => dk * dk + 2 * dk + 2 * g * dk * dv,
  },
  gla: {
    code: 4, family: 'gated', kernels: { gla: [...QKV, ['gk', 'queryKey']] }, chunk: 64, summary: { cost: 0.55, chunk: 64 },
    group: matrices(1),
  },
  deltaRule: {
    code: 5, family: 'gated', kernels: { deltaRule: [...QKV, ['beta', 'valueScalar'], ['g', 'valueScalar']] }, chunk: 64,
    summary: { cost: 1.3, chunk: 16 }, group: matrices(1),
  },
  sse: {
    code: 6, family: 'sse', chunk: 64, extBytes: 12,
    kernels: {
      sseGla: [...SSE, ['gk1', 'queryKey'], ['gk2', 'queryKey']],
      sseDeltaRule: [...SSE, ['g1', 'valueScalar'], ['g2', 'valueScalar'], ['beta1', 'valueScalar'], ['beta2', 'valueScalar']],
    },
    group: (s: GroupShape) => matrices(s.partitions + 1)(s),
  },
  rla: {
    code: 7, family: 'rla', chunk: 64, extBytes: 8,
    kernels: { rla: [...QKV, ['g', 'valueScalar'], ['beta', 'valueScalar'], ['correction', 'valueScalar']] },
    group: matrices(2),
  },
} as const satisfies Record<string, OperatorEntry>;

type Table = typeof OPERATORS;

/** Every operator's name (the keys of the operator table: la1 … rla, README "Operators"). */
export type OperatorName = keyof Table;

/** The operators of family `F` ('hla', 'gated', 'sse' or 'rla'). */
export type OperatorsOf<F extends OperatorFamily> = { [K in OperatorName]: Table[K]['family'] extends F ? K : never }[OperatorName];

/** Every operator, in table order. */
export const OPS = Object.keys(OPERATORS) as readonly OperatorName[];

/** The operators of `family`, in table order. */
export function opsOf<F extends OperatorFamily>(family: F): readonly OperatorsOf<F>[] {
  return OPS.filter((op) => OPERATORS[op].family === family) as OperatorsOf<F>[];
}

/** The table entry of `op` (typed loosely: every field of every entry). */
export function entryOf(op: OperatorName): OperatorEntry {
  return OPERATORS[op];
}

/** Whether `x` names an operator: an own key of the table (not `in`, which finds `toString`). */
export function isOperator(x: unknown): x is OperatorName {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(OPERATORS, x);
}
