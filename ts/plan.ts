// How one checked call is spread over the pool's workers (ts/pool.ts carries the jobs), and the
// strategies that carry each plan out:
// - groups: the (sequence, query-key head) groups, in order, cut into one contiguous run per
//   worker with equal work (tokens × heads); a worker's run is one job per rectangle of
//   sequences × heads (whole sequences together), bit-identical to the synchronous call. Any
//   operator: each input is cut by its kind (ts/inputs.ts `windowOf`);
// - along T (the HLA family, gla and deltaRule, which have segment summaries): one sequence
//   with fewer heads than workers; each head group gets its share of the workers and its T is
//   cut into segments (ts/sequence.ts), within float32 rounding.
import type { PoolCall } from './call.js';
import { specOfHeads, type ConfigSpec } from './config.js';
import { gatherHeads, scatterHeads, splitHeads } from './heads.js';
import { windowOf } from './inputs.js';
import { sharedFloats, type Pool, type Unsent } from './pool.js';
import type { Dims, Reply, Slab } from './protocol.js';
import { boundsAlongT, KEY_CHUNK, SUMMARY_CHUNK, type SplitOp } from './sequence.js';

/** Sequences `[s0, s1)` × query-key heads `[h0, h1)`. */
export interface Piece {
  s0: number; s1: number;
  h0: number; h1: number;
}

/** Heads `[h0, h1)` of one sequence over `workers` (pool indices), cut at `bounds` (null: whole). */
export interface Part {
  h0: number; h1: number;
  workers: number[];
  bounds: number[] | null;
  deferred: boolean;
  /** Full summaries in two phases: worker w summarises its own segment (ts/sequence.ts). */
  own: boolean;
}

export type Plan = { kind: 'groups'; pieces: Piece[][] } | { kind: 'alongT'; parts: Part[] };

/** How to spread this call over `workers`, or null to run it on the calling thread. */
export function plan(c: PoolCall, workers: number): Plan | null {
  if (workers < 2 || c.B * c.T === 0) return null;
  if (c.alongT && c.B === 1 && c.cuSeqlens.length === 0 && c.H < workers) {
    const parts = alongT(c.alongT.op, c.alongT.normalize, c, workers);
    if (parts) return { kind: 'alongT', parts };
  }
  if (c.nSeq * c.H < 2) return null;
  return { kind: 'groups', pieces: balance(c, workers) };
}

/**
 * One sequence, H < workers: min(H, workers) head groups, the workers dealt out evenly among
 * them; null when no group gains from a split along T.
 */
function alongT(op: SplitOp, normalize: boolean, c: Grouped, workers: number): Part[] | null {
  const groups = splitHeads(c.H, workers);
  let next = 0;
  const parts = groups.map(([h0, h1], i) => {
    const n = Math.floor(workers / groups.length) + (i < workers % groups.length ? 1 : 0);
    const ws = Array.from({ length: n }, (_, j) => next + j);
    next += n;
    const b = boundsAlongT(op, c.T, normalize, n);
    return { h0, h1, workers: b ? ws.slice(0, b.bounds.length - 1) : ws.slice(0, 1), bounds: b?.bounds ?? null, deferred: b?.deferred ?? false, own: b?.own ?? false };
  });
  return parts.some((p) => p.bounds) ? parts : null;
}

/** What the split by groups reads of a call. */
type Grouped = Pick<PoolCall, 'T' | 'H' | 'nSeq' | 'cuSeqlens'>;

/** Rows `[r0, r1)` of the `[B·T, heads, d]` tensors that sequences `[s0, s1)` cover. */
function rowsOf(c: Grouped, s0: number, s1: number): [number, number] {
  return c.cuSeqlens.length ? [c.cuSeqlens[s0], c.cuSeqlens[s1]] : [s0 * c.T, s1 * c.T];
}

/**
 * The groups (s, h) in order, s-major, each of cost len(s), dealt to workers in contiguous runs
 * of equal cost; each run as rectangles (a partial first sequence, whole ones, a partial last).
 */
export function balance(c: Grouped, workers: number): Piece[][] {
  const len = (s: number) => Math.max(1, rowsOf(c, s, s + 1)[1] - rowsOf(c, s, s + 1)[0]);
  let total = 0;
  for (let s = 0; s < c.nSeq; s++) total += len(s) * c.H;
  // Group g = s·H + h goes to the worker whose share holds its midpoint: contiguous runs.
  const starts: number[] = [];
  let acc = 0, last = -1;
  for (let s = 0; s < c.nSeq; s++) {
    for (let h = 0; h < c.H; h++) {
      const w = Math.min(workers - 1, Math.floor(((acc + len(s) / 2) * workers) / total));
      if (w !== last) starts.push(s * c.H + h);
      last = w;
      acc += len(s);
    }
  }
  starts.push(c.nSeq * c.H);
  return starts.slice(0, -1).map((g0, i) => rectangles(g0, starts[i + 1], c.H));
}

/** Groups `[g0, g1)` (g = s·H + h) as rectangles: whole sequences together, partial ones alone. */
function rectangles(g0: number, g1: number, H: number): Piece[] {
  const out: Piece[] = [];
  for (let g = g0; g < g1;) {
    const s = Math.floor(g / H), h = g % H;
    if (h === 0 && g + H <= g1) {
      const n = Math.floor((g1 - g) / H);
      out.push({ s0: s, s1: s + n, h0: 0, h1: H });
      g += n * H;
    } else {
      const h1 = Math.min(H, h + g1 - g);
      out.push({ s0: s, s1: s + 1, h0: h, h1 });
      g += h1 - h;
    }
  }
  return out;
}

/** The main thread's share of the last call (ms), with the workers' (ts/pool.ts). */
export interface CallProfile {
  /** Copying plain inputs into shared memory, or gathering the windows (copying transport). */
  prepare: number;
  /** From the first post to the last reply. */
  run: number;
  /** Scattering outputs and states (copying transport; states always). */
  finish: number;
  /** What was planned. */
  plan?: Plan;
}

/**
 * One checked call over the pool, by {@link plan}; the same results as the synchronous call
 * (bit-identical by groups, within float32 rounding along T).
 */
export async function forwardOnPool(pool: Pool, c: PoolCall, profile?: CallProfile): Promise<{ o: Float32Array; state: Float32Array | null }> {
  const p = plan(c, pool.size)!;
  const t0 = performance.now();
  const shared = pool.transport === 'shared';
  const taken: SharedArrayBuffer[] = [];
  try {
    // An absent optional input (empty) stays empty: the worker gets null for it.
    const run = new Run(pool, c, c.inputs.map((x) => (shared && x.length ? pool.share(x, taken) : x)));
    const t1 = performance.now();
    pool.profile = [];
    const result = p.kind === 'groups' ? await run.groups(p.pieces) : await run.alongT(p.parts);
    if (profile) Object.assign(profile, { plan: p, prepare: t1 - t0 + run.prepare, run: performance.now() - t1 - run.prepare - run.finish, finish: run.finish });
    return result;
  } finally {
    pool.unshare(taken);
  }
}

/** One call in flight: its tensors, output, final state, and the windows it sends. */
class Run {
  readonly shared: boolean;
  readonly o: Float32Array;
  readonly g: number;
  state: Float32Array | null = null;
  /** Main-thread time spent gathering (copying transport) and scattering, in ms. */
  prepare = 0;
  finish = 0;

  constructor(readonly pool: Pool, readonly c: PoolCall, readonly inputs: Float32Array[]) {
    this.shared = pool.transport === 'shared';
    const n = c.B * c.T * c.HV * c.dv;
    this.o = this.shared ? sharedFloats(n) : new Float32Array(n);
    this.g = c.HV / c.H;
  }

  /**
   * Input `i`'s window for rows `[r0, r1)` and query-key heads `[h0, h1)` (its own heads, value
   * heads or all, by its kind), or null when it is absent.
   */
  input(i: number, r0: number, r1: number, h0: number, h1: number, transfer: ArrayBuffer[]): Slab | null {
    const x = this.inputs[i];
    if (x.length === 0) return null;
    const w = windowOf(this.c.kinds[i], this.c, h0, h1);
    return this.slab(x, w.heads, w.d, r0, r1, w.h0, w.h1, transfer);
  }

  /** Every input's window (see {@link Run.input}). */
  windows(r0: number, r1: number, h0: number, h1: number, transfer: ArrayBuffer[]): (Slab | null)[] {
    return this.inputs.map((_, i) => this.input(i, r0, r1, h0, h1, transfer));
  }

  /** The call's config for heads `[h0, h1)`. */
  spec(h0: number, h1: number): ConfigSpec {
    return specOfHeads(this.c.spec, h0, h1);
  }

  /** Window of `x` (`[rows, heads, d]`): in place (shared) or a compact copy, listed in `transfer`. */
  slab(x: Float32Array, heads: number, d: number, r0: number, r1: number, h0: number, h1: number, transfer: ArrayBuffer[]): Slab {
    if (this.shared) return { data: x, heads, d, r0, r1, h0, h1 };
    const t = performance.now();
    const data = gatherHeads(x.subarray(r0 * heads * d, r1 * heads * d), r1 - r0, heads, d, h0, h1);
    this.prepare += performance.now() - t;
    transfer.push(data.buffer as ArrayBuffer);
    return { data, heads: h1 - h0, d, r0: 0, r1: r1 - r0, h0: 0, h1: h1 - h0 };
  }

  /** The output window (shared), or null: the worker sends it back. */
  out(r0: number, r1: number, h0: number, h1: number): Slab | null {
    return this.shared ? { data: this.o, heads: this.c.HV, d: this.c.dv, r0, r1, h0: h0 * this.g, h1: h1 * this.g } : null;
  }

  /** Writes a returned output window (copying transport). */
  place(o: Float32Array | null, r0: number, r1: number, h0: number, h1: number): void {
    if (!o) return;
    const t = performance.now();
    const { HV, dv } = this.c;
    scatterHeads(this.o.subarray(r0 * HV * dv, r1 * HV * dv), o, r1 - r0, HV, dv, h0 * this.g, h1 * this.g);
    this.finish += performance.now() - t;
  }

  /** The initial state of sequences `[s0, s1)` × heads `[h0, h1)`, as a compact copy. */
  initial(s0: number, s1: number, h0: number, h1: number): Float32Array | null {
    const { initial, nSeq, H } = this.c;
    if (!initial) return null;
    const group = initial.length / (nSeq * H);
    return gatherHeads(initial.subarray(s0 * H * group, s1 * H * group), s1 - s0, H, group, h0, h1);
  }

  /** Writes a returned final state of sequences `[s0, s1)` × heads `[h0, h1)`. */
  placeState(state: Float32Array | null, s0: number, s1: number, h0: number, h1: number): void {
    if (!state || !this.c.outputFinalState) return;
    const t = performance.now();
    const { nSeq, H } = this.c;
    const group = state.length / ((s1 - s0) * (h1 - h0));
    this.state ??= new Float32Array(nSeq * H * group);
    scatterHeads(this.state.subarray(s0 * H * group, s1 * H * group), state, s1 - s0, H, group, h0, h1);
    this.finish += performance.now() - t;
  }

  dims(b: number, t: number, h0: number, h1: number): Dims {
    const h = h1 - h0;
    return [b, t, h, h * this.g, this.c.dk, this.c.dv];
  }

  async groups(runs: Piece[][]): Promise<{ o: Float32Array; state: Float32Array | null }> {
    const { c } = this;
    const cu = c.cuSeqlens;
    // Heads split over shared memory: this thread faults in the fresh output while the workers
    // copy and compute (ForwardJob `faulted`).
    const split = this.shared && runs.some((p) => p.some((x) => x.h1 - x.h0 < c.H));
    const faulted = split ? new Int32Array(new SharedArrayBuffer(4)) : undefined;
    const jobs = runs.flatMap((pieces, w) => pieces.map(async ({ s0, s1, h0, h1 }) => {
      const [r0, r1] = rowsOf(c, s0, s1);
      const transfer: ArrayBuffer[] = [];
      const state = this.initial(s0, s1, h0, h1);
      if (state) transfer.push(state.buffer as ArrayBuffer);
      const r = await this.pool.send(w, {
        kind: 'forward', chunkSize: c.chunkSize, spec: this.spec(h0, h1),
        dims: cu.length ? this.dims(1, r1 - r0, h0, h1) : this.dims(s1 - s0, c.T, h0, h1),
        cuSeqlens: cu.length ? cu.slice(s0, s1 + 1).map((x) => x - cu[s0]) : new Int32Array(0),
        inputs: this.windows(r0, r1, h0, h1, transfer),
        o: this.out(r0, r1, h0, h1), state, wantState: c.outputFinalState, ...(faulted ? { faulted } : {}),
      }, transfer);
      const { o, state: end } = forwardReply(r);
      this.place(o, r0, r1, h0, h1);
      this.placeState(end, s0, s1, h0, h1);
    }));
    // Every job above is posted (each async callback ran to its first await).
    if (faulted) {
      try {
        faultIn(this.o);
      } finally {
        Atomics.store(faulted, 0, 1);
        Atomics.notify(faulted, 0);
      }
    }
    await Promise.all(jobs);
    return { o: this.o, state: this.state };
  }

  async alongT(parts: Part[]): Promise<{ o: Float32Array; state: Float32Array | null }> {
    await Promise.all(parts.map(async (part) => {
      const end = part.bounds === null ? await this.whole(part) : part.deferred ? await this.deferred(part) : await this.segments(part);
      this.placeState(end, 0, 1, part.h0, part.h1);
    }));
    return { o: this.o, state: this.state };
  }

  async forward(w: number, t0: number, t1: number, h0: number, h1: number, extra: Partial<Unsent & { kind: 'forward' }>): Promise<{ o: Float32Array | null; state: Float32Array | null }> {
    const { c } = this;
    const transfer: ArrayBuffer[] = [];
    const r = await this.pool.send(w, {
      kind: 'forward', chunkSize: c.chunkSize, spec: this.spec(h0, h1), dims: this.dims(1, t1 - t0, h0, h1),
      cuSeqlens: new Int32Array(0), inputs: this.windows(t0, t1, h0, h1, transfer), o: this.out(t0, t1, h0, h1),
      state: this.initial(0, 1, h0, h1), wantState: true, ...extra,
    }, transfer);
    return forwardReply(r);
  }

  /** A head group that gains nothing from a split: one job on its first worker. */
  async whole({ h0, h1, workers }: Part): Promise<Float32Array | null> {
    const r = await this.forward(workers[0], 0, this.c.T, h0, h1, {});
    this.place(r.o, 0, this.c.T, h0, h1);
    return r.state;
  }

  /**
   * Full summaries: worker w summarises segment w − 1 (the chain; worker 0 starts at once) or,
   * `own`, its own segment w (two phases), then runs segment w from initial ⊕ summaries 0..w−1.
   */
  async segments({ h0, h1, workers, bounds, own }: Part): Promise<Float32Array | null> {
    const op = this.c.alongT!.op;
    const b = bounds!, W = b.length - 1;
    const summaries = Array.from({ length: W - 1 }, async (_, w) => {
      const transfer: ArrayBuffer[] = [];
      const r = await this.pool.send(workers[own ? w : w + 1], {
        kind: 'summary', dims: this.dims(1, b[w + 1] - b[w], h0, h1), spec: this.spec(h0, h1),
        chunkSize: SUMMARY_CHUNK[op], inputs: this.windows(b[w], b[w + 1], h0, h1, transfer),
      }, transfer);
      if (!('summary' in r)) throw new Error('hla-wasm: unexpected worker reply');
      return r.summary;
    });
    // Each forward waits only for the summaries before it; a failed summary fails the call.
    const forwards = Array.from({ length: W }, async (_, w) => {
      const r = await this.forward(workers[w], b[w], b[w + 1], h0, h1, { summaries: await Promise.all(summaries.slice(0, w)), wantState: w === W - 1 });
      this.place(r.o, b[w], b[w + 1], h0, h1);
      return r.state;
    });
    return (await Promise.all(forwards))[W - 1];
  }

  /**
   * hla2 without normalize, deferred value moments (docs/math.md f; ts/sequence.ts): the key
   * summaries of segments 0..W−2 in parallel (segment 0's on the last worker, so that worker 0
   * starts its forward at once); worker w runs segment w from (initial S ⊕ key summaries
   * before it, zero value moments); then a chain of state-only settles gives each segment its
   * true carry, and each segment's outputs are settled with it as soon as it is known.
   */
  async deferred({ h0, h1, workers, bounds }: Part): Promise<Float32Array | null> {
    const { c } = this;
    const b = bounds!, W = b.length - 1;
    const spec = this.spec(h0, h1);
    const keySummaries = Array.from({ length: W - 1 }, async (_, w) => {
      const transfer: ArrayBuffer[] = [];
      const r = await this.pool.send(workers[w === 0 ? W - 1 : w], {
        kind: 'summary', keysOnly: true, dims: this.dims(1, b[w + 1] - b[w], h0, h1), spec, chunkSize: KEY_CHUNK,
        inputs: [null, this.input(1, b[w], b[w + 1], h0, h1, transfer), null],
      }, transfer);
      if (!('summary' in r)) throw new Error('hla-wasm: unexpected worker reply');
      return r.summary;
    });
    const forwards = Array.from({ length: W }, async (_, w) =>
      this.forward(workers[w], b[w], b[w + 1], h0, h1, w === 0 ? {} : { deferValues: true, summaries: await Promise.all(keySummaries.slice(0, w)) }));
    const first = await forwards[0];
    this.place(first.o, b[0], b[1], h0, h1);
    let carry = first.state!;
    const settles: Promise<void>[] = [];
    for (let w = 1; w < W; w++) {
      const r = await forwards[w];
      const n = b[w + 1] - b[w], hv = (h1 - h0) * this.g, dims = this.dims(1, n, h0, h1);
      // The true end state of segment w (state only: an empty output window) ...
      const t0: ArrayBuffer[] = [];
      const chained = forwardReply(await this.pool.send(workers[w], {
        kind: 'settle', dims, spec, q: this.input(0, b[w], b[w + 1], h0, h1, t0)!,
        o: { data: new Float32Array(0), heads: hv, d: c.dv, r0: 0, r1: 0, h0: 0, h1: hv }, carry, state: r.state!.slice(),
      }, t0));
      // ... and its outputs, settled in parallel with the rest of the chain.
      const transfer: ArrayBuffer[] = [];
      const o: Slab = this.out(b[w], b[w + 1], h0, h1) ?? { data: r.o!, heads: hv, d: c.dv, r0: 0, r1: n, h0: 0, h1: hv };
      if (!this.shared) transfer.push(r.o!.buffer as ArrayBuffer);
      settles.push(this.pool.send(workers[w], {
        kind: 'settle', dims, spec, q: this.input(0, b[w], b[w + 1], h0, h1, transfer)!, o, carry, state: r.state!,
      }, transfer).then((s) => this.place(forwardReply(s).o, b[w], b[w + 1], h0, h1)));
      carry = chained.state!;
    }
    await Promise.all(settles);
    return carry;
  }
}

function forwardReply(r: Reply): { o: Float32Array | null; state: Float32Array | null } {
  if (!('o' in r)) throw new Error('hla-wasm: unexpected worker reply');
  return r;
}

/**
 * Faults in every page of a fresh (all-zero) shared output by storing a zero into it; no
 * worker writes it before ForwardJob `faulted` says this is done.
 */
function faultIn(o: Float32Array): void {
  const words = new Int32Array(o.buffer, o.byteOffset, o.length);
  for (let i = 0; i < words.length; i += 1024) words[i] = 0;
}
