// sse and rla (docs/math.md sections h and i): argument checks and the binding's config. sse
// takes its per-token inputs as one object (`q1, k1, q2, k2, v, router` and the base's gates of
// each side); rla takes q, k, v and its per-value-head gates in the options. Checked here,
// before any wasm memory is touched.
import type { ConfigSpec } from './config.js';
import { Detail, rangeError, typeError } from './errors.js';
import { checkLogGates, checkRank3, checkScale } from './gated.js';
import { checkSizes, MAX_CHUNK, stateFloats } from './limits.js';
import { HlaState, isHlaState, stateData } from './state.js';
import type { Tensor } from './types.js';

export type { RlaOptions, SseInputs, SseOptions } from './second-options.js';
import { checkCuSeqlens, checkKnown, checkTensorData, resolveMode } from './validate.js';

/** A checked sse or rla call: shapes, the binding's config as data and the inputs in its order. */
export interface SecondChecked {
  op: 'sse' | 'rla';
  B: number; T: number; H: number; HV: number; dk: number; dv: number;
  /** 0 = recurrent. */
  chunkSize: number;
  cuSeqlens: Int32Array;
  nSeq: number;
  initial: Float32Array | null;
  outputFinalState: boolean;
  stateFloats: number;
  /** sse: N; rla: 0. */
  partitions: number;
  inputs: Float32Array[];
  /** The binding's config as data (what a pool worker builds its own from). */
  spec: ConfigSpec;
}

const COMMON = ['scale', 'initialState', 'outputFinalState', 'mode', 'chunkSize', 'cuSeqlens'];
const SSE_OPTIONS = new Set(['base', 'topK', 'weightQuery', 'weightKey', 'qkL2norm', ...COMMON]);
const RLA_OPTIONS = new Set(['base', 'g', 'beta', 'correction', 'clip', 'residual', 'qkL2norm', ...COMMON]);
const SSE_GATES = { gla: ['gk1', 'gk2'], deltaRule: ['g1', 'g2', 'beta1', 'beta2'] } as const;
const SSE_INPUTS = new Set(['q1', 'k1', 'q2', 'k2', 'v', 'router', 'gk1', 'gk2', 'g1', 'g2', 'beta1', 'beta2']);

function bool(o: Record<string, unknown>, name: string, dflt: boolean): boolean {
  const x = o[name];
  if (x === undefined) return dflt;
  if (typeof x !== 'boolean') throw typeError(name, 'a boolean', x);
  return x;
}

function sameShape(name: string, t: unknown, want: number[], what: string): Float32Array {
  const x = checkTensorData(name, t);
  if (x.shape.some((n, i) => n !== want[i])) throw rangeError(`${name}.shape`, `[${want.join(', ')}] (${what})`, new Detail(`[${x.shape.join(', ')}]`));
  return x.data;
}

/** What both take: scale, mode, chunkSize, cuSeqlens, outputFinalState, initialState. */
function common(o: Record<string, unknown>, op: 'sse' | 'rla', B: number, T: number, H: number, HV: number, dk: number, dv: number, partitions: number) {
  const scale = checkScale(o.scale, dk);
  const chunkSize = resolveMode(op, o.mode, o.chunkSize);
  const cuSeqlens = o.cuSeqlens === undefined ? new Int32Array(0) : checkCuSeqlens(o.cuSeqlens, B, T);
  const nSeq = cuSeqlens.length ? cuSeqlens.length - 1 : B;
  const outputFinalState = bool(o, 'outputFinalState', false);
  const floats = stateFloats(op, nSeq, H, HV, dk, dv, false, partitions);
  let initial: Float32Array | null = null;
  if (o.initialState !== undefined && o.initialState !== null) {
    const s = o.initialState;
    if (!isHlaState(s)) throw typeError('initialState', 'a finalState returned by hla-wasm', s);
    const want = new HlaState(op, nSeq, H, HV, dk, dv, false, new Float32Array(0));
    const data = stateData(s);
    const same = s.op === op && s.sequences === nSeq && s.heads === H && s.valueHeads === HV && s.dk === dk && s.dv === dv && data.length === floats;
    if (!same) throw rangeError('initialState', `a ${want.describe()} of ${floats} floats`, new Detail(`a ${s.describe()} of ${data.length} floats`));
    initial = data;
  }
  return { scale, chunkSize, cuSeqlens, nSeq, outputFinalState, initial, floats };
}

/** Checks an sse call; throws a TypeError / RangeError naming the argument. */
export function checkSse(inputs: unknown, options: unknown): SecondChecked {
  if (typeof options !== 'object' || options === null) throw typeError('options', "an object { base: 'gla' | 'deltaRule', topK, … }", options);
  const o = options as Record<string, unknown>;
  checkKnown(o, SSE_OPTIONS, 'options');
  if (o.base !== 'gla' && o.base !== 'deltaRule') throw rangeError('base', "'gla' or 'deltaRule'", o.base);
  const base = o.base;
  if (typeof inputs !== 'object' || inputs === null) throw typeError('inputs', 'an object { q1, k1, q2, k2, v, router, … }', inputs);
  const x = inputs as Record<string, unknown>;
  checkKnown(x, SSE_INPUTS, 'inputs');
  const other = base === 'gla' ? SSE_GATES.deltaRule : SSE_GATES.gla;
  for (const name of other) {
    if (x[name] !== undefined) throw typeError(`inputs.${name}`, `absent with base '${base}' (its gates: ${SSE_GATES[base].join(', ')})`, x[name]);
  }
  const q1 = checkTensorData('q1', x.q1);
  const [B, T, H, dk] = q1.shape;
  const qk = [B, T, H, dk];
  const k1 = sameShape('k1', x.k1, qk, 'the shape of q1');
  const q2 = sameShape('q2', x.q2, qk, 'the shape of q1');
  const k2 = sameShape('k2', x.k2, qk, 'the shape of q1');
  const vt = checkTensorData('v', x.v);
  const [Bv, Tv, HV, dv] = vt.shape;
  if (Bv !== B) throw rangeError('v.shape[0]', `B = ${B} (the batch of q1)`, Bv);
  if (Tv !== T) throw rangeError('v.shape[1]', `T = ${T} (the length of q1)`, Tv);
  if (HV % H !== 0) throw rangeError('v.shape[2]', `a multiple of H = ${H} (value heads per query-key head)`, HV);
  const r = x.router as Tensor | undefined;
  if (typeof r !== 'object' || r === null || !Array.isArray(r.shape) || r.shape.length !== 3) {
    throw rangeError('router.shape', `[${B}, ${T}, N] (logits over the N partitions)`, r && Array.isArray(r.shape) ? new Detail(`[${r.shape.join(', ')}]`) : r);
  }
  const N = r.shape[2];
  if (!Number.isInteger(N) || N < 1) throw rangeError('router.shape[2]', 'N ≥ 1 partitions', N);
  const router = checkRank3('router', r, [B, T, N]);
  for (let i = 0; i < router.length; i++) {
    if (!Number.isFinite(router[i])) throw rangeError(`router.data[${i}]`, 'a finite logit', router[i]);
  }
  let topK = 1;
  if (o.topK !== undefined) {
    if (typeof o.topK !== 'number') throw typeError('topK', `an integer in 1..${N}`, o.topK);
    if (!Number.isInteger(o.topK) || o.topK < 1 || o.topK > N) throw rangeError('topK', `an integer in 1..${N} (N = router.shape[2])`, o.topK);
    topK = o.topK;
  }
  let gates: Float32Array[];
  if (base === 'gla') {
    gates = ['gk1', 'gk2'].map((n) => {
      if (x[n] === undefined) throw typeError(`inputs.${n}`, `a tensor [${qk.join(', ')}] of log decays ≤ 0 (required with base 'gla')`, x[n]);
      const g = sameShape(n, x[n], qk, 'the shape of q1');
      checkLogGates(n, g);
      return g;
    });
  } else {
    const g = ['g1', 'g2'].map((n) => {
      if (x[n] === undefined) return new Float32Array(0);
      const t = checkRank3(n, x[n], [B, T, HV]);
      checkLogGates(n, t);
      return t;
    });
    const beta = ['beta1', 'beta2'].map((n) => {
      if (x[n] === undefined) throw typeError(`inputs.${n}`, `a tensor [${B}, ${T}, ${HV}] of rates (required with base 'deltaRule')`, x[n]);
      const t = checkRank3(n, x[n], [B, T, HV]);
      for (let i = 0; i < t.length; i++) if (!Number.isFinite(t[i])) throw rangeError(`${n}.data[${i}]`, 'a finite rate', t[i]);
      return t;
    });
    gates = [g[0], g[1], beta[0], beta[1]];
  }
  const weightQuery = bool(o, 'weightQuery', true);
  const weightKey = bool(o, 'weightKey', true);
  const qkL2norm = bool(o, 'qkL2norm', base === 'deltaRule');
  const c = common(o, 'sse', B, T, H, HV, dk, dv, N);
  const nq = B * T * H * dk, nv = B * T * HV * dv;
  const ch = Math.max(1, Math.min(c.chunkSize, T, MAX_CHUNK));
  const ws = 3 * ch + 1 + 6 * ch * dk + 4 * ch * ch + 4 * ch * dv + 2 * dk * dv + 2 * dk + T * topK * (3 * dk + 2 * (HV / H) * dv);
  checkSizes({
    buffers: [
      ['q1.shape', 'B·T·H·dk', nq],
      ['v.shape', 'B·T·HV·dv', nv],
      ['state', `an sse state (N=${N}, HV=${HV}, dk=${dk}, dv=${dv})`, c.floats],
      ['chunkSize', `a workspace (topK=${topK}, dk=${dk}, dv=${dv})`, ws],
    ],
    total: 6 * nq + 2 * nv + B * T * N + 4 * B * T * HV + c.floats + ws + c.cuSeqlens.length,
  });
  const spec: ConfigSpec = { family: 'sse', base, partitions: N, topK, weightQuery, weightKey, qkL2norm, scale: c.scale };
  return {
    op: 'sse', B, T, H, HV, dk, dv, chunkSize: c.chunkSize, cuSeqlens: c.cuSeqlens, nSeq: c.nSeq, initial: c.initial,
    outputFinalState: c.outputFinalState, stateFloats: c.floats, partitions: N,
    inputs: [q1.data, k1, q2, k2, vt.data, router, ...gates],
    spec,
  };
}

/** Checks an rla call; throws a TypeError / RangeError naming the argument. */
export function checkRla(q: unknown, k: unknown, v: unknown, options: unknown): SecondChecked {
  const qt = checkTensorData('q', q);
  const [B, T, H, dk] = qt.shape;
  const kd = sameShape('k', k, [B, T, H, dk], 'the shape of q');
  const vt = checkTensorData('v', v);
  const [Bv, Tv, HV, dv] = vt.shape;
  if (Bv !== B) throw rangeError('v.shape[0]', `B = ${B} (the batch of q)`, Bv);
  if (Tv !== T) throw rangeError('v.shape[1]', `T = ${T} (the length of q)`, Tv);
  if (HV % H !== 0) throw rangeError('v.shape[2]', `a multiple of H = ${H} (value heads per query-key head)`, HV);
  if (typeof options !== 'object' || options === null) throw typeError('options', 'an object { correction, … } (correction is required)', options);
  const o = options as Record<string, unknown>;
  checkKnown(o, RLA_OPTIONS, 'options');
  const base = o.base ?? 'la';
  if (base !== 'la' && base !== 'deltaRule') throw rangeError('base', "'la' or 'deltaRule'", base);
  const residual = o.residual ?? 'undecayed';
  if (residual !== 'undecayed' && residual !== 'decayed') throw rangeError('residual', "'undecayed' or 'decayed'", residual);
  let clip = 1;
  if (o.clip !== undefined) {
    if (typeof o.clip !== 'number') throw typeError('clip', 'a number > 0', o.clip);
    if (!(o.clip > 0)) throw rangeError('clip', 'a number > 0 (Infinity: no clipping)', o.clip);
    // The kernel and snapshots hold clip as float32: one that rounds to 0 would clip everything.
    if (!(Math.fround(o.clip) > 0)) throw rangeError('clip', 'a number > 0 that float32 does not round to 0', o.clip);
    clip = o.clip;
  }
  const g = o.g === undefined ? new Float32Array(0) : checkRank3('g', o.g, [B, T, HV]);
  checkLogGates('g', g);
  const finite = (name: string, t: Float32Array) => {
    for (let i = 0; i < t.length; i++) if (!Number.isFinite(t[i])) throw rangeError(`${name}.data[${i}]`, 'a finite rate', t[i]);
    return t;
  };
  const beta = o.beta === undefined ? new Float32Array(0) : finite('beta', checkRank3('beta', o.beta, [B, T, HV]));
  if (o.correction === undefined) throw typeError('correction', `a tensor [${B}, ${T}, ${HV}] of rates (required)`, o.correction);
  const correction = finite('correction', checkRank3('correction', o.correction, [B, T, HV]));
  const qkL2norm = bool(o, 'qkL2norm', false);
  const c = common(o, 'rla', B, T, H, HV, dk, dv, 0);
  const nq = B * T * H * dk, nv = B * T * HV * dv;
  const ch = Math.max(1, Math.min(c.chunkSize, T, MAX_CHUNK));
  const ws = 3 * ch + 1 + 6 * ch * dk + 4 * ch * ch + 4 * ch * dv + 2 * dk * dv + 2 * dk + T * (5 * dk + 4 * dv);
  checkSizes({
    buffers: [
      ['q.shape', 'B·T·H·dk', nq],
      ['v.shape', 'B·T·HV·dv', nv],
      ['state', `an rla state (HV=${HV}, dk=${dk}, dv=${dv})`, c.floats],
      ['chunkSize', `a workspace (dk=${dk}, dv=${dv})`, ws],
    ],
    total: 2 * nq + 2 * nv + 3 * B * T * HV + c.floats + ws + c.cuSeqlens.length,
  });
  const spec: ConfigSpec = { family: 'rla', base, clip, residual, qkL2norm, scale: c.scale };
  return {
    op: 'rla', B, T, H, HV, dk, dv, chunkSize: c.chunkSize, cuSeqlens: c.cuSeqlens, nSeq: c.nSeq, initial: c.initial,
    outputFinalState: c.outputFinalState, stateFloats: c.floats, partitions: 0,
    inputs: [qt.data, kd, vt.data, g, beta, correction],
    spec,
  };
}
