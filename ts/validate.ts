// Argument checks for every public call: done in JS, before any wasm memory is touched, so a
// bad call throws a precise Error and leaves the instance exactly as it was.
import { DEFAULT_EPS } from './defaults.js';
import { describe, Detail, rangeError, typeError } from './errors.js';
import { checkSizes, stateFloats, workspaceFloats } from './limits.js';
import { HlaState, isHlaState, stateData } from './state.js';
import { entryOf, isOperator, type OperatorName } from './operators.js';
import { HLA_OPS, type OpName, type Tensor } from './types.js';

/** Options shared by every operator (FLA names). */
export interface ForwardOptions {
  /** Multiplies q before anything else. Default dk^-0.5. */
  scale?: number;
  /** γ in (0, 1]: one for all heads, or one per query-key head. Default 1 (no decay). */
  decay?: number | ArrayLike<number>;
  /** Divide by the same operator applied to ones, floored to ±eps (signed). Default false. */
  normalize?: boolean;
  /** Floor of |denominator| when normalizing. Default 1e-6. */
  eps?: number;
  /** hla2 only: read S + λI (paper §5). Default 0. */
  ridge?: number;
  /** A `finalState` of an earlier call with the same operator and shapes. */
  initialState?: HlaState;
  /** Return `finalState`. Default false. */
  outputFinalState?: boolean;
  /**
   * 'recurrent' (token by token) or 'chunk' (chunk-parallel scan). Default: 'chunk' when
   * `chunkSize` is given, else 'recurrent' (on one core the chunk form does 2–3× the
   * multiply-adds and measured 0.84–1.26× the fused recurrence: never reliably faster).
   */
  mode?: 'chunk' | 'recurrent';
  /** Chunk length for mode 'chunk', any integer ≥ 1 (results do not depend on it). Default 64. */
  chunkSize?: number;
  /** FLA-style packed variable-length batch (B must be 1): offsets [0, …, T]; state resets at each. */
  cuSeqlens?: Int32Array | number[];
}

const KNOWN = new Set([
  'scale', 'decay', 'normalize', 'eps', 'ridge', 'initialState', 'outputFinalState', 'mode', 'chunkSize', 'cuSeqlens',
]);

export interface Checked {
  B: number; T: number; H: number; HV: number; dk: number; dv: number;
  scale: number; decay: Float32Array; normalize: boolean; eps: number; ridge: number;
  /** 0 = recurrent. */
  chunkSize: number;
  cuSeqlens: Int32Array;
  nSeq: number;
  initial: Float32Array | null;
  outputFinalState: boolean;
  /** The inputs as read once, here: views with their true length (see {@link f32View}). */
  q: Float32Array; k: Float32Array; v: Float32Array;
}

/** `op` if it names an HLA-family operator (an own key of the operator table, ts/operators.ts). */
export function checkOp(op: unknown, name = 'op'): OpName {
  if (typeof op !== 'string') throw typeError(name, `one of ${HLA_OPS.join(', ')}`, op);
  if (!isOperator(op) || entryOf(op).family !== 'hla') throw rangeError(name, `one of ${HLA_OPS.join(', ')}`, op);
  return op as OpName;
}

// The intrinsic accessors of every typed array: they read the internal slots, which an own
// `length` property (or a subclass getter) cannot change. wasm-bindgen's glue sizes its copy
// by `.length` and writes by the true length, so a lying `length` would overrun the block.
const TYPED_ARRAY = Object.getPrototypeOf(Float32Array.prototype) as object;
const intrinsic = (key: string) => Object.getOwnPropertyDescriptor(TYPED_ARRAY, key)!.get!;
const taLength = intrinsic('length'), taBuffer = intrinsic('buffer'), taOffset = intrinsic('byteOffset');

/** A plain Float32Array over `x`'s memory with its true length; TypeError if `x` is not one. */
export function f32View(name: string, x: unknown, expected = 'a Float32Array'): Float32Array {
  if (!(x instanceof Float32Array)) throw typeError(name, expected, x);
  try {
    const buffer = taBuffer.call(x) as ArrayBuffer, offset = taOffset.call(x) as number, n = taLength.call(x) as number;
    return new Float32Array(buffer, offset, n);
  } catch {
    throw typeError(name, expected, x);
  }
}

/** Checks a rank-4 tensor; returns its shape (a copy) and its data, each read once. */
export function checkTensorData(name: string, t: unknown): { shape: [number, number, number, number]; data: Float32Array } {
  if (typeof t !== 'object' || t === null || !('data' in t) || !('shape' in t)) {
    throw typeError(name, 'a tensor { data: Float32Array, shape: number[] }', t);
  }
  const { data: raw, shape: rawShape } = t as Tensor;
  const data = f32View(`${name}.data`, raw);
  if (!Array.isArray(rawShape)) throw typeError(`${name}.shape`, 'an array of 4 integers', rawShape);
  const shape = Array.from(rawShape);
  if (shape.length !== 4) throw rangeError(`${name}.shape`, 'rank 4 [B, T, heads, dim]', new Detail(`rank ${shape.length} ${describe(shape)}`));
  shape.forEach((n, i) => {
    const min = i === 1 ? 0 : 1;
    if (!Number.isInteger(n) || n < min) throw rangeError(`${name}.shape[${i}]`, `an integer ≥ ${min}`, n);
  });
  const want = shape.reduce((a, b) => a * b, 1);
  if (data.length !== want) {
    throw rangeError(`${name}.data.length`, `${want} (the product of shape [${shape.join(', ')}])`, data.length);
  }
  return { shape: shape as [number, number, number, number], data };
}

/** Checks a rank-4 tensor; returns its shape. */
export function checkTensor(name: string, t: unknown): [number, number, number, number] {
  return checkTensorData(name, t).shape;
}

function checkNumber(name: string, x: unknown, ok: (n: number) => boolean, expected: string): number {
  if (typeof x !== 'number') throw typeError(name, expected, x);
  if (!ok(x)) throw rangeError(name, expected, x);
  return x;
}

function checkBool(name: string, x: unknown): boolean {
  if (typeof x !== 'boolean') throw typeError(name, 'a boolean', x);
  return x;
}

// Options cross into wasm as float32: a finite float64 can still overflow it (1e300 → Infinity)
// or underflow it (1e-46 → 0), which the kernels would refuse late, or a snapshot would keep
// and refuse to restore. So each is checked as the float32 it becomes.
const f32 = Math.fround;
const F32 = 'representable as float32 (|x| ≤ 3.4e38, and 0 or ≥ 1.4e-45)';

/** `x` if it survives the trip to float32 (finite, and 0 only if it was 0); else a RangeError. */
function float32(name: string, x: number): number {
  if (!(Number.isFinite(f32(x)) && (x === 0 || f32(x) !== 0))) throw rangeError(name, `a number ${F32}`, x);
  return x;
}

/** Decay as one value per query-key head or one for all. */
export function checkDecay(x: unknown, H: number): Float32Array {
  if (x === undefined) return new Float32Array([1]);
  const inRange = (g: number) => g > 0 && g <= 1;
  const expected = 'a number in (0, 1]';
  if (typeof x === 'number') return new Float32Array([float32('decay', checkNumber('decay', x, inRange, expected))]);
  if (!(Array.isArray(x) || ArrayBuffer.isView(x))) throw typeError('decay', 'a number in (0, 1] or one per head', x);
  const arr = x as ArrayLike<number>;
  if (arr.length !== 1 && arr.length !== H) throw rangeError('decay.length', `1 or H = ${H}`, arr.length);
  const out = new Float32Array(arr.length);
  for (let i = 0; i < arr.length; i++) out[i] = float32(`decay[${i}]`, checkNumber(`decay[${i}]`, arr[i], inRange, expected));
  return out;
}

/** Scalar options shared by the functional API and sessions. */
export function checkCommon(op: OpName, o: Record<string, unknown>, H: number, dk: number) {
  const scale = o.scale === undefined ? 1 / Math.sqrt(dk) : float32('scale', checkNumber('scale', o.scale, Number.isFinite, 'a finite number'));
  const decay = checkDecay(o.decay, H);
  const normalize = o.normalize === undefined ? false : checkBool('normalize', o.normalize);
  const eps = o.eps === undefined ? DEFAULT_EPS : float32('eps', checkNumber('eps', o.eps, (e) => e > 0 && Number.isFinite(e), 'a finite number > 0'));
  const ridge = o.ridge === undefined ? 0 : float32('ridge', checkNumber('ridge', o.ridge, Number.isFinite, 'a finite number'));
  if (ridge !== 0 && op !== 'hla2') throw rangeError('ridge', `0 or absent (${op} has no ridge term; only hla2 does)`, ridge);
  return { scale, decay, normalize, eps, ridge };
}

export function checkKnown(options: object, known: Set<string>, what: string) {
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw new TypeError(`${what}.${key}: unknown option; expected one of ${[...known].join(', ')}`);
  }
}

/** FLA-style offsets [0, …, T] of sequences packed along T (B must be 1); each element read once. */
export function checkCuSeqlens(x: unknown, B: number, T: number): Int32Array {
  if (!(x instanceof Int32Array || Array.isArray(x))) throw typeError('cuSeqlens', 'an Int32Array of offsets', x);
  if (B !== 1) throw rangeError('cuSeqlens', 'batch size B = 1 (sequences packed along T)', new Detail(`B = ${B}`));
  const raw = Array.from(x as ArrayLike<number>);
  if (raw.length < 2) throw rangeError('cuSeqlens.length', 'at least 2 offsets [0, …, T]', raw.length);
  raw.forEach((n, i) => {
    if (!Number.isInteger(n)) throw rangeError(`cuSeqlens[${i}]`, 'an integer offset', n);
  });
  const cu = Int32Array.from(raw);
  if (cu[0] !== 0) throw rangeError('cuSeqlens[0]', '0', cu[0]);
  for (let i = 1; i < cu.length; i++) {
    if (cu[i] <= cu[i - 1]) throw rangeError(`cuSeqlens[${i}]`, `an offset > ${cu[i - 1]} (strictly increasing)`, cu[i]);
  }
  if (cu[cu.length - 1] !== T) throw rangeError(`cuSeqlens[${cu.length - 1}]`, `T = ${T} (the last offset ends the batch)`, cu[cu.length - 1]);
  return cu;
}

/**
 * The kernel's chunk length for `mode`/`chunkSize` (0 = recurrent). Without `mode`, a given
 * `chunkSize` means chunk, and no `chunkSize` the recurrence (see ForwardOptions.mode).
 */
export function resolveMode(op: OperatorName, mode: unknown, chunkSize: unknown): number {
  if (mode !== undefined && mode !== 'chunk' && mode !== 'recurrent') throw rangeError('mode', "'chunk' or 'recurrent'", mode);
  const chunk = chunkSize === undefined ? entryOf(op).chunk
    : checkNumber('chunkSize', chunkSize, (c) => Number.isInteger(c) && c >= 1 && c <= 2 ** 31 - 1, 'a positive integer');
  const chosen = mode ?? (chunkSize !== undefined ? 'chunk' : 'recurrent');
  return chosen === 'chunk' ? chunk : 0;
}

export function checkForward(op: OpName, q: unknown, k: unknown, v: unknown, options: unknown): Checked {
  const qt = checkTensorData('q', q);
  const [B, T, H, dk] = qt.shape;
  const kt = checkTensorData('k', k);
  const ks = kt.shape;
  if (ks.some((n, i) => n !== [B, T, H, dk][i])) throw rangeError('k.shape', `[${[B, T, H, dk].join(', ')}] (the shape of q)`, new Detail(`[${ks.join(', ')}]`));
  const vt = checkTensorData('v', v);
  const [Bv, Tv, HV, dv] = vt.shape;
  if (Bv !== B) throw rangeError('v.shape[0]', `B = ${B} (the batch of q)`, Bv);
  if (Tv !== T) throw rangeError('v.shape[1]', `T = ${T} (the length of q)`, Tv);
  if (HV % H !== 0) throw rangeError('v.shape[2]', `a multiple of H = ${H} (value heads per query-key head)`, HV);

  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null) throw typeError('options', 'an object', options);
  const o = options as Record<string, unknown>;
  checkKnown(o, KNOWN, 'options');
  const common = checkCommon(op, o, H, dk);

  const chunkSize = resolveMode(op, o.mode, o.chunkSize);

  const cuSeqlens = o.cuSeqlens === undefined ? new Int32Array(0) : checkCuSeqlens(o.cuSeqlens, B, T);
  const nSeq = cuSeqlens.length ? cuSeqlens.length - 1 : B;
  const outputFinalState = o.outputFinalState === undefined ? false : checkBool('outputFinalState', o.outputFinalState);

  let initial: Float32Array | null = null;
  if (o.initialState !== undefined && o.initialState !== null) {
    const s = o.initialState;
    if (!isHlaState(s)) throw typeError('initialState', 'a finalState returned by hla-wasm', s);
    const want = new HlaState(op, nSeq, H, HV, dk, dv, common.ridge !== 0, new Float32Array(0));
    const same = s.op === want.op && s.sequences === nSeq && s.heads === H && s.valueHeads === HV && s.dk === dk && s.dv === dv && s.ridge === want.ridge;
    if (!same) throw rangeError('initialState', `a ${want.describe()}`, new Detail(`a ${s.describe()}`));
    initial = stateData(s);
  }
  const ridge = common.ridge !== 0;
  const nq = B * T * H * dk, nv = B * T * HV * dv;
  const ns = stateFloats(op, nSeq, H, HV, dk, dv, ridge), ws = workspaceFloats(chunkSize, T, dk, dv);
  checkSizes({
    buffers: [
      ['q.shape', 'B·T·H·dk', nq],
      ['v.shape', 'B·T·HV·dv', nv],
      ['state', `a ${op} state (H=${H}, HV=${HV}, dk=${dk}, dv=${dv})`, ns],
      ['chunkSize', `a chunk workspace (dk=${dk}, dv=${dv})`, ws],
    ],
    // q, k, v and o copied in, the state in and out, the scratch and the cuSeqlens offsets
    total: 2 * nq + 2 * nv + ns + ws + cuSeqlens.length,
  });
  return { B, T, H, HV, dk, dv, ...common, chunkSize, cuSeqlens, nSeq, initial, outputFinalState, q: qt.data, k: kt.data, v: vt.data };
}
