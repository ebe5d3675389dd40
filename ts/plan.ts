// How one checked call is spread over the pool's workers (ts/pool.ts carries the jobs), and the
// strategies that carry each plan out:
// - groups: the (sequence, query-key head) groups, in order, cut into tasks (rectangles of
//   sequences × heads, whole sequences together) that shrink towards the end, handed to
//   whichever worker is free: cores do not run at one speed (SMT siblings, hybrid laptops,
//   busy neighbours on a VM), and equal shares wait for the slowest. Bit-identical to the
//   synchronous call. Any operator: each input is cut by its kind (ts/inputs.ts `windowOf`);
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

export type Plan = { kind: 'groups'; tasks: Piece[] } | { kind: 'alongT'; parts: Part[] };

/** How to spread this call over `workers`, or null to run it on the calling thread. */
export function plan(c: PoolCall, workers: number): Plan | null {
  if (workers < 2 || c.B * c.T === 0) return null;
  if (c.alongT && c.B === 1 && c.cuSeqlens.length === 0 && c.H < workers) {
    const parts = alongT(c.alongT.op, c.alongT.normalize, c, workers);
    if (parts) return { kind: 'alongT', parts };
  }
  if (c.nSeq * c.H < 2) return null;
  return { kind: 'groups', tasks: tasks(c, workers) };
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
 * The least work (tokens × heads) worth a task of its own where the call has more: a task's
 * fixed costs (a message, a forward call, its copies' setup) are tens of µs, and 2048
 * token-heads take ms.
 */
const LEAST_TASK = 2048;

/**
 * The groups (s, h) in order, s-major, each of cost len(s), cut into tasks by factoring: rounds
 * of `workers` tasks, each task half the remaining work over `workers` (at least an eighth of
 * the even share and {@link LEAST_TASK}, at least one group), so that about three quarters of
 * the work goes out at once in large tasks and the rest in ever smaller ones to whichever
 * worker is free first. With fewer than four groups per worker, equal shares instead, one per
 * worker: no finer cut would balance better, and a task of fewer heads gathers the same rows
 * for less (a window of one head of many is a 256-byte read per 4 KiB row, bound by memory
 * latency). A task's groups are contiguous; as rectangles (partial sequences apart) they may
 * be several.
 */
export function tasks(c: Grouped, workers: number): Piece[] {
  const len = (s: number) => Math.max(1, rowsOf(c, s, s + 1)[1] - rowsOf(c, s, s + 1)[0]);
  const G = c.nSeq * c.H, cost = (g: number) => len(Math.floor(g / c.H));
  let left = 0;
  for (let g = 0; g < G; g++) left += cost(g);
  const least = Math.max(left / (8 * workers), Math.min(LEAST_TASK, left / (2 * workers)));
  const share = G < 4 * workers ? left / workers : 0;
  const out: Piece[] = [];
  for (let g = 0; g < G;) {
    const size = share || Math.max(least, left / (2 * workers));
    for (let i = 0; i < workers && g < G; i++) {
      // A group joins the task while its midpoint stays within the size.
      const g0 = g;
      let acc = 0;
      while (g < G && (g === g0 || acc + cost(g) / 2 <= size)) acc += cost(g++);
      out.push(...rectangles(g0, g, c.H));
      left -= acc;
    }
  }
  return out;
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
  /** By groups: posting the first tasks, and faulting in the output's split rows (in `run`). */
  post?: number;
  fault?: number;
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
    // An absent optional input (empty) stays empty: the worker gets null for it. By groups, a
    // plain input is copied into shared memory row by row while the tasks on the rows copied
    // so far already run (Run `fill`); along T, before (every segment's summary is needed).
    const staged: Staged[] = [];
    const inputs = c.inputs.map((x) => {
      if (!shared || !x.length || x.buffer instanceof SharedArrayBuffer) return x;
      const y = pool.share(x, taken, p.kind !== 'groups');
      if (p.kind === 'groups') staged.push({ from: x, to: y });
      return y;
    });
    const run = new Run(pool, c, inputs, staged);
    const t1 = performance.now();
    pool.profile = [];
    const result = p.kind === 'groups' ? await run.groups(p.tasks) : await run.alongT(p.parts);
    if (profile) Object.assign(profile, { plan: p, prepare: t1 - t0 + run.prepare, run: performance.now() - t1 - run.prepare - run.finish, finish: run.finish, post: run.post, fault: run.fault });
    return result;
  } finally {
    pool.unshare(taken);
  }
}

/** A plain input and its staging copy in shared memory, filled while the call runs. */
interface Staged {
  from: Float32Array;
  to: Float32Array;
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
  /** By groups: posting the first tasks, and faulting in the output (ms). */
  post = 0;
  fault = 0;

  constructor(readonly pool: Pool, readonly c: PoolCall, readonly inputs: Float32Array[], readonly staged: Staged[] = []) {
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

  /**
   * Tasks (ts/plan.ts `tasks`) to whichever worker is free: two in flight per worker, so the
   * next one waits in the worker's queue while it runs the current one; once every task is
   * out, a worker that runs dry takes over a task still queued on another (shared memory: the
   * first worker to start it claims it, ForwardJob `claim`), so a slow core keeps no more than
   * the task it is running.
   */
  async groups(tasks: Piece[]): Promise<{ o: Float32Array; state: Float32Array | null }> {
    const { c } = this;
    const cu = c.cuSeqlens;
    // Tasks that split one sequence by heads each write some heads of every row, so on shared
    // memory the fresh output's pages there would be faulted in by all of them at once, and
    // page faults on one range do not run in parallel: where four or more tasks share a
    // sequence this thread faults its rows in while the workers copy and compute, and those
    // tasks wait for it (ForwardJob `faulted`, one flag per such sequence, in task order).
    // Other tasks fault in their own rows.
    const perSeq = new Map<number, number>();
    for (const t of tasks) if (t.h1 - t.h0 < c.H) perSeq.set(t.s0, (perSeq.get(t.s0) ?? 0) + 1);
    const split = this.shared ? [...perSeq].filter(([, n]) => n >= 4).map(([s]) => s) : [];
    const faulted = split.length ? new Int32Array(new SharedArrayBuffer(4 * split.length)) : undefined;
    const flagOf = (t: Piece) => (faulted && t.h1 - t.h0 < c.H ? split.indexOf(t.s0) : -1);
    // Plain inputs (forwardOnPool): their rows go into the staging buffers in order, ~1 MiB a
    // step, and a task is posted once its rows are in.
    let copied = this.staged.length ? 0 : Infinity, stopped = false;
    let waiting: { row: number; go: () => void }[] = [];
    const rowsIn = (r: number) => (r <= copied ? null : new Promise<void>((go) => waiting.push({ row: r, go })));
    const filling = (async () => {
      if (!this.staged.length) return;
      const total = rowsOf(c, 0, c.nSeq)[1];
      const floats = this.staged.reduce((a, x) => a + x.from.length / total, 0);
      const step = Math.max(1, Math.floor((1 << 18) / Math.max(1, floats)));
      for (let r = 0; r < total && !stopped; r += step) {
        const t = performance.now();
        const e = Math.min(total, r + step);
        for (const { from, to } of this.staged) {
          const n = from.length / total;
          to.set(from.subarray(r * n, e * n), r * n);
        }
        copied = e;
        this.prepare += performance.now() - t;
        for (const x of waiting) if (x.row <= e) x.go();
        waiting = waiting.filter((x) => x.row > e);
        await Promise.resolve(); // the lanes just let through post their tasks first
      }
    })();
    const claim = this.shared ? new Int32Array(new SharedArrayBuffer(4 * tasks.length)) : null;
    const postedTo = tasks.map(() => [] as number[]);
    const run = async (w: number, task: number) => {
      const t = tasks[task];
      const { s0, s1, h0, h1 } = t;
      const [r0, r1] = rowsOf(c, s0, s1);
      const rows = rowsIn(r1);
      if (rows) await rows;
      const transfer: ArrayBuffer[] = [];
      const state = this.initial(s0, s1, h0, h1);
      if (state) transfer.push(state.buffer as ArrayBuffer);
      const r = await this.pool.send(w, {
        kind: 'forward', chunkSize: c.chunkSize, spec: this.spec(h0, h1),
        dims: cu.length ? this.dims(1, r1 - r0, h0, h1) : this.dims(s1 - s0, c.T, h0, h1),
        cuSeqlens: cu.length ? cu.slice(s0, s1 + 1).map((x) => x - cu[s0]) : new Int32Array(0),
        inputs: this.windows(r0, r1, h0, h1, transfer),
        o: this.out(r0, r1, h0, h1), state, wantState: c.outputFinalState,
        ...(flagOf(t) >= 0 ? { faulted, faultedAt: flagOf(t) } : {}), ...(claim ? { claim, task } : {}),
      }, transfer);
      if ('skipped' in r) return;
      const { o, state: end } = forwardReply(r);
      this.place(o, r0, r1, h0, h1);
      this.placeState(end, s0, s1, h0, h1);
    };
    let next = 0, failed = false;
    // The next task in order; then one that another worker has not started yet.
    const pick = (w: number) => {
      if (next < tasks.length) return next++;
      if (claim) for (let i = 0; i < tasks.length; i++) if (Atomics.load(claim, i) === 0 && !postedTo[i].includes(w)) return i;
      return -1;
    };
    const lane = async (w: number) => {
      for (let i = pick(w); i >= 0 && !failed; i = pick(w)) {
        postedTo[i].push(w);
        try {
          await run(w, i);
        } catch (e) {
          failed = true; // the call rejects: hand out no more tasks
          throw e;
        }
      }
    };
    // Each lane posts its first task before its first await (plain inputs: once its rows are
    // in): 2 × workers tasks go out at once.
    const t0 = performance.now();
    const lanes = [0, 1].flatMap(() => Array.from({ length: this.pool.size }, (_, w) => lane(w)));
    const t1 = performance.now();
    this.post = t1 - t0;
    // Between sequences this thread lets the workers' replies in, so that it keeps handing out
    // tasks (faulting 16 MiB in takes it 13 ms on the Xeon with 16 busy workers).
    const faulting = (async () => {
      if (!faulted) return;
      await filling; // the workers wait for their inputs first
      const { HV, dv } = c;
      const release = (i: number) => (Atomics.store(faulted, i, 1), Atomics.notify(faulted, i));
      try {
        for (const [i, s] of split.entries()) {
          if (i > 0) await macrotask();
          const [r0, r1] = rowsOf(c, s, s + 1);
          faultIn(this.o, r0 * HV * dv, r1 * HV * dv);
          release(i);
        }
      } finally {
        split.forEach((_, i) => release(i)); // no worker may wait forever
        this.fault = performance.now() - t1;
      }
    })();
    // Every lane ends, the replies of tasks taken over included: a worker that dies with a job
    // of this call fails the call, whoever ran that task. A failed call stops filling the
    // staging buffers before they go back to the pool (forwardOnPool) for the next call.
    try {
      await Promise.all([...lanes, faulting, filling]);
    } finally {
      stopped = true;
    }
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

/** Resolves after the event loop has run the tasks (worker replies) already queued. */
function macrotask(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((resolve) => setImmediate(resolve));
  // Browsers: a message to oneself (setTimeout(0) is clamped to 4 ms when nested).
  const { port1, port2 } = new MessageChannel();
  return new Promise((resolve) => {
    port1.onmessage = () => {
      port1.close();
      resolve();
    };
    port2.postMessage(null);
  });
}

/**
 * Faults in the pages of a fresh (all-zero) shared output that lie wholly inside floats
 * `[a, b)` by storing a zero into each: no worker writes there before ForwardJob `faulted`
 * says this is done, while a page across the range's edge may be written by a task of whole
 * sequences at any time (it is left to the first writer). Every float i with
 * a + 1023 ≤ i ≤ b − 1024 lies on such a page, wherever the buffer's pages begin.
 */
function faultIn(o: Float32Array, a: number, b: number): void {
  const words = new Int32Array(o.buffer, o.byteOffset, o.length);
  const page = 1024; // floats per 4 KiB page
  for (let i = a + page - 1; i + page <= b; i += page) words[i] = 0;
}
