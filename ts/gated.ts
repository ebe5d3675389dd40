// The gated family (gla, deltaRule): argument checks and the call into the binding. Their
// gates are per-token inputs next to q, k, v (docs/math.md section g; FLA's `chunk_gla` and
// `chunk_gated_delta_rule` arguments). Checked here, before any wasm memory is touched.
import { Detail, rangeError, typeError } from './errors.js';
import { checkSizes, MAX_CHUNK, stateFloats } from './limits.js';
import type { CallOptions } from './second-options.js';
import { HlaState, isHlaState, stateData } from './state.js';
import type { GatedOpName, Tensor } from './types.js';
import { checkCuSeqlens, checkKnown, checkTensorData, f32View, resolveMode } from './validate.js';

/** gla's options: `gk` is required. */
export interface GlaOptions extends CallOptions {
  /** `[B, T, H, dk]` log-space decay per key feature, ≤ 0 (−Infinity: a full reset). */
  gk: Tensor;
}

/** deltaRule's options: `beta` is required. */
export interface DeltaRuleOptions extends CallOptions {
  /** `[B, T, HV]` write rate per value head (finite). */
  beta: Tensor;
  /** `[B, T, HV]` log-space decay per value head, ≤ 0. Absent: the plain delta rule. */
  g?: Tensor;
  /** Replace q and k by x / sqrt(Σx² + 1e-6) before scaling. Default false. */
  qkL2norm?: boolean;
}

const COMMON = ['scale', 'initialState', 'outputFinalState', 'mode', 'chunkSize', 'cuSeqlens'];
const KNOWN: Record<GatedOpName, Set<string>> = {
  gla: new Set(['gk', ...COMMON]),
  deltaRule: new Set(['beta', 'g', 'qkL2norm', ...COMMON]),
};

/** A checked gated call: shapes, resolved options and the inputs in the binding's order. */
export interface GatedChecked {
  B: number; T: number; H: number; HV: number; dk: number; dv: number;
  scale: number; qkL2norm: boolean;
  /** 0 = recurrent. */
  chunkSize: number;
  cuSeqlens: Int32Array;
  nSeq: number;
  initial: Float32Array | null;
  outputFinalState: boolean;
  /** q, k, v, gk (gla) or q, k, v, beta, g (deltaRule; g empty when absent). */
  inputs: Float32Array[];
}

/** `scale` as gla … rla take it (float32 after the trip into wasm); default dk^-0.5. */
export function checkScale(x: unknown, dk: number): number {
  if (x === undefined) return 1 / Math.sqrt(dk);
  if (typeof x !== 'number') throw typeError('scale', 'a finite number', x);
  if (!Number.isFinite(Math.fround(x)) || (x !== 0 && Math.fround(x) === 0)) throw rangeError('scale', 'a finite number representable as float32', x);
  return x;
}

/** A `[B, T, HV]` tensor of per-value-head numbers. */
export function checkRank3(name: string, t: unknown, want: [number, number, number]): Float32Array {
  if (typeof t !== 'object' || t === null || !('data' in t) || !('shape' in t)) {
    throw typeError(name, `a tensor { data: Float32Array, shape: [${want.join(', ')}] }`, t);
  }
  const { data: raw, shape } = t as Tensor;
  const data = f32View(`${name}.data`, raw);
  if (!Array.isArray(shape) || shape.length !== 3 || shape.some((n, i) => n !== want[i])) {
    throw rangeError(`${name}.shape`, `[${want.join(', ')}] ([B, T, HV])`, Array.isArray(shape) ? new Detail(`[${shape.join(', ')}]`) : shape);
  }
  if (data.length !== want[0] * want[1] * want[2]) throw rangeError(`${name}.data.length`, `${want[0] * want[1] * want[2]}`, data.length);
  return data;
}

/** Every element ≤ 0 and not NaN (log decays); −Infinity allowed. */
export function checkLogGates(name: string, x: Float32Array): void {
  for (let i = 0; i < x.length; i++) {
    if (!(x[i] <= 0)) throw rangeError(`${name}.data[${i}]`, 'a log decay ≤ 0 (not NaN)', x[i]);
  }
}

/** Checks a gla / deltaRule call; throws a TypeError / RangeError naming the argument. */
export function checkGated(op: GatedOpName, q: unknown, k: unknown, v: unknown, options: unknown): GatedChecked {
  const qt = checkTensorData('q', q);
  const [B, T, H, dk] = qt.shape;
  const kt = checkTensorData('k', k);
  if (kt.shape.some((n, i) => n !== [B, T, H, dk][i])) throw rangeError('k.shape', `[${[B, T, H, dk].join(', ')}] (the shape of q)`, new Detail(`[${kt.shape.join(', ')}]`));
  const vt = checkTensorData('v', v);
  const [Bv, Tv, HV, dv] = vt.shape;
  if (Bv !== B) throw rangeError('v.shape[0]', `B = ${B} (the batch of q)`, Bv);
  if (Tv !== T) throw rangeError('v.shape[1]', `T = ${T} (the length of q)`, Tv);
  if (HV % H !== 0) throw rangeError('v.shape[2]', `a multiple of H = ${H} (value heads per query-key head)`, HV);

  if (typeof options !== 'object' || options === null) {
    throw typeError('options', op === 'gla' ? 'an object { gk, … } (gk is required)' : 'an object { beta, … } (beta is required)', options);
  }
  const o = options as Record<string, unknown>;
  checkKnown(o, KNOWN[op], 'options');

  let inputs: Float32Array[];
  if (op === 'gla') {
    if (o.gk === undefined) throw typeError('gk', `a tensor [${[B, T, H, dk].join(', ')}] of log decays ≤ 0 (required)`, o.gk);
    const gt = checkTensorData('gk', o.gk);
    if (gt.shape.some((n, i) => n !== [B, T, H, dk][i])) throw rangeError('gk.shape', `[${[B, T, H, dk].join(', ')}] (the shape of q)`, new Detail(`[${gt.shape.join(', ')}]`));
    checkLogGates('gk', gt.data);
    inputs = [qt.data, kt.data, vt.data, gt.data];
  } else {
    if (o.beta === undefined) throw typeError('beta', `a tensor [${[B, T, HV].join(', ')}] of rates (required)`, o.beta);
    const beta = checkRank3('beta', o.beta, [B, T, HV]);
    for (let i = 0; i < beta.length; i++) {
      if (!Number.isFinite(beta[i])) throw rangeError(`beta.data[${i}]`, 'a finite rate', beta[i]);
    }
    let g: Float32Array = new Float32Array(0);
    if (o.g !== undefined) {
      g = checkRank3('g', o.g, [B, T, HV]);
      checkLogGates('g', g);
    }
    inputs = [qt.data, kt.data, vt.data, beta, g];
  }

  const scale = checkScale(o.scale, dk);
  let qkL2norm = false;
  if (o.qkL2norm !== undefined) {
    if (typeof o.qkL2norm !== 'boolean') throw typeError('qkL2norm', 'a boolean', o.qkL2norm);
    qkL2norm = o.qkL2norm;
  }
  const chunkSize = resolveMode(op, o.mode, o.chunkSize);
  const cuSeqlens = o.cuSeqlens === undefined ? new Int32Array(0) : checkCuSeqlens(o.cuSeqlens, B, T);
  const nSeq = cuSeqlens.length ? cuSeqlens.length - 1 : B;
  let outputFinalState = false;
  if (o.outputFinalState !== undefined) {
    if (typeof o.outputFinalState !== 'boolean') throw typeError('outputFinalState', 'a boolean', o.outputFinalState);
    outputFinalState = o.outputFinalState;
  }
  let initial: Float32Array | null = null;
  if (o.initialState !== undefined && o.initialState !== null) {
    const s = o.initialState;
    if (!isHlaState(s)) throw typeError('initialState', 'a finalState returned by hla-wasm', s);
    const want = new HlaState(op, nSeq, H, HV, dk, dv, false, new Float32Array(0));
    const same = s.op === op && s.sequences === nSeq && s.heads === H && s.valueHeads === HV && s.dk === dk && s.dv === dv;
    if (!same) throw rangeError('initialState', `a ${want.describe()}`, new Detail(`a ${s.describe()}`));
    initial = stateData(s);
  }
  const nq = B * T * H * dk, nv = B * T * HV * dv, ns = stateFloats(op, nSeq, H, HV, dk, dv, false);
  const c = Math.max(1, Math.min(chunkSize, T, MAX_CHUNK));
  const ws = chunkSize === 0 ? 16 * dk + 4 * dv : 3 * c + 1 + 6 * c * dk + 4 * c * c + 4 * c * dv + 2 * dk * dv + 2 * dk;
  checkSizes({
    buffers: [
      ['q.shape', 'B·T·H·dk', nq],
      ['v.shape', 'B·T·HV·dv', nv],
      ['state', `a ${op} state (HV=${HV}, dk=${dk}, dv=${dv})`, ns],
      ['chunkSize', `a chunk workspace (dk=${dk}, dv=${dv})`, ws],
    ],
    total: 3 * nq + 2 * nv + 2 * B * T * HV + ns + ws + cuSeqlens.length,
  });
  return { B, T, H, HV, dk, dv, scale, qkL2norm, chunkSize, cuSeqlens, nSeq, initial, outputFinalState, inputs };
}
