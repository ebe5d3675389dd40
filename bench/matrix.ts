// The benchmark matrix of `npm run bench:full`, one harness for every runtime: bench/full.ts
// runs it in Node, bench/browser/page.ts in headless Chromium (the same file, bundled by
// esbuild). No Node imports here: the caller passes `init` (the package's Node or browser
// build) and any extra peers (tfjs, Node only).
//
//   prefill: op × {TS baseline, peers, backend × form × threads}, one race per op
//   decode:  op × {TS baseline step, backend × session.stepInPlace}, one race per op
//
// Every race interleaves its contenders round-robin after a time-based warm-up (harness.ts
// `raceAsync`), so a slow phase of this shared machine hits all of them alike.
import { mulberry32 } from '../examples/browser/seeded.ts';
import { BACKENDS as ALL_BACKENDS, HLA_OPS, type Backend, type Hla, type OpName, type Tensor } from '../dist/index.mjs';
import { BaselineDecoder, baselineForward } from './baseline.js';
import { gflops } from './flops.js';
import { fmt, machineInfo, median, raceAsync, table, type Timing } from './harness.js';

export const OPS: OpName[] = [...HLA_OPS];
export const BACKENDS: Backend[] = [...ALL_BACKENDS];
/** Prefill forms: the fused recurrence and the chunk-parallel scan at two chunk sizes. */
export type Form = 'recurrent' | 'chunk32' | 'chunk64';
export const FORMS: Form[] = ['recurrent', 'chunk32', 'chunk64'];

export interface MatrixConfig {
  B: number; H: number; d: number; T: number; decay: number;
  /** Interleaved timed rounds per race (the median is reported). */
  rounds: number;
  /** Warm-up per contender, seconds (at least one call). */
  warmupSeconds: number;
  /** Decode steps per timed call. */
  steps: number;
  ops: OpName[];
  backends: Backend[];
  forms: Form[];
  /** Worker threads for prefill (1 = the synchronous call; n > 1 = `init({ threads: n })` + `hla.run`). */
  threads: number[];
  /** Milliseconds of one arithmetic-peak probe (a contender of every race, per flavour). */
  peakMs: number;
}

export const FULL: MatrixConfig = {
  B: 1, H: 8, d: 64, T: 2048, decay: 0.999, rounds: 5, warmupSeconds: 1, steps: 500,
  ops: OPS, backends: BACKENDS, forms: FORMS, threads: [1, 2], peakMs: 30,
};
/** The smoke mode: every code path, tiny sizes, one round (tests/bench.test.ts). */
export const SMOKE: MatrixConfig = { ...FULL, H: 2, d: 16, T: 48, rounds: 1, warmupSeconds: 0, steps: 4, peakMs: 5 };

/** One measured row. `peak_fraction` = gflops / (`peak_gflops` × threads), where `peak_gflops` is
 *  the multiply-add peak of flavour `peak_of` measured in the same race (TS and peers: the best flavour). */
export interface Row {
  runtime: string;
  kind: 'prefill' | 'decode';
  op: OpName;
  /** 'wasm', 'ts' (straightforward Float32Array loops), 'native', or a peer ('tfjs-wasm'). */
  impl: string;
  backend?: Backend | string;
  form?: Form | 'stepInPlace' | 'step';
  threads: number;
  tok_s: number;
  us_per_step?: number;
  median_s: number;
  runs_s: number[];
  gflops: number;
  peak_fraction: number | null;
  peak_of: string | null;
  peak_gflops: number | null;
}

export interface MatrixResult {
  runtime: string;
  machine: Record<string, unknown>;
  config: MatrixConfig;
  /** GFLOP/s of the multiply-add probe per flavour, one thread: the best race's median. */
  peak_gflops: Partial<Record<Backend, number>>;
  rows: Row[];
  notes: string[];
}

/** Extra prefill contenders for one op (timed in the same race): 'impl' or 'impl/form' → call. */
export type Peers = (op: OpName, inputs: { q: Tensor; k: Tensor; v: Tensor; config: MatrixConfig }) => Record<string, () => unknown>;

/** `Hla._fmaPeakGflops` is @internal: not in the published .d.ts. */
export const peakGflops = (h: Hla, ms: number): number => (h as unknown as { _fmaPeakGflops(ms: number): number })._fmaPeakGflops(ms);

type Init = (options?: { backend?: Backend; threads?: number }) => Promise<Hla>;

/** Deterministic inputs in [−0.25, 0.25): the package's one seeded PRNG (mulberry32), scaled. */
export function rand(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = 0.25 * r();
  return out;
}

const modeOf = (form: Form) => (form === 'recurrent' ? { mode: 'recurrent' as const } : { mode: 'chunk' as const, chunkSize: Number(form.slice(5)) });

export async function runMatrix(runtime: string, init: Init, config: MatrixConfig, { peers, log = console.log }: { peers?: Peers; log?: (s: string) => void } = {}): Promise<MatrixResult> {
  const { B, H, d, T, decay, rounds, warmupSeconds } = config;
  const notes: string[] = [];
  const opts = { decay };
  const tensor = (seed: number): Tensor => ({ data: rand(B * T * H * d, seed), shape: [B, T, H, d] });
  const q = tensor(1), k = tensor(2), v = tensor(3);

  // One instance per (backend, threads); a flavour the runtime lacks is noted and skipped.
  const inst = new Map<string, Hla>();
  const key = (b: Backend, n: number) => `${b}/${n}`;
  for (const b of config.backends) {
    for (const n of config.threads) {
      try {
        inst.set(key(b, n), await init(n > 1 ? { backend: b, threads: n } : { backend: b }));
      } catch (e) {
        if (n === 1) notes.push(`${runtime}: backend ${b} unavailable (${(e as Error).message.split('\n')[0]})`);
        break;
      }
    }
  }
  const backends = config.backends.filter((b) => inst.has(key(b, 1)));
  const best = backends[0];
  const rows: Row[] = [];
  // The peak of every flavour is itself a contender of every race (the multiply-add probe for
  // `peakMs`, its GFLOP/s recorded per round), so a row and the peak it is divided by are
  // measured under the same load of this shared machine: the race's peak is the median of
  // its rounds, like the rows. `peak_gflops` of the result is the best race's.
  const peak: Partial<Record<Backend, number>> = {};
  let racePeak: Partial<Record<Backend, number>> = {};
  async function raceWithPeaks(entries: Record<string, () => unknown>): Promise<Record<string, Timing>> {
    const probes: Partial<Record<Backend, number[]>> = {};
    for (const b of backends) {
      const h = inst.get(key(b, 1))!;
      probes[b] = [];
      entries[`peak:${b}`] = () => probes[b]!.push(peakGflops(h, config.peakMs));
    }
    // The probes only need warming up (V8 tiering) in the first race.
    const warmupFor = Object.fromEntries(backends.map((b) => [`peak:${b}`, peak[b] ? 0 : warmupSeconds]));
    const r = await raceAsync(entries, { rounds, warmupSeconds, warmupFor });
    racePeak = Object.fromEntries(backends.map((b) => [b, median(probes[b]!.slice(-rounds))]));
    for (const b of backends) peak[b] = Math.max(peak[b] ?? 0, racePeak[b]!);
    return Object.fromEntries(Object.entries(r).filter(([n]) => !n.startsWith('peak:')));
  }
  const row = (r: Omit<Row, 'runtime' | 'gflops' | 'peak_fraction' | 'peak_of' | 'peak_gflops'>, peakOf: Backend): Row => {
    const g = gflops(r.op, d, B * H, r.tok_s);
    const p = racePeak[peakOf];
    return { runtime, ...r, gflops: g, peak_fraction: p ? g / (p * r.threads) : null, peak_of: p ? peakOf : null, peak_gflops: p ?? null };
  };

  for (const op of config.ops) {
    const t0 = performance.now();
    const entries: Record<string, () => unknown> = { ts: () => baselineForward(op, q, k, v, opts) };
    for (const [n, f] of Object.entries(peers?.(op, { q, k, v, config }) ?? {})) entries[`peer:${n}`] = f;
    for (const b of backends) {
      for (const form of config.forms) {
        for (const n of config.threads) {
          const h = inst.get(key(b, n));
          if (!h) continue;
          const o = { ...opts, ...modeOf(form) };
          entries[`${b}/${form}/${n}`] = n === 1 ? () => h[op](q, k, v, o) : () => h.run(op, q, k, v, o);
        }
      }
    }
    const r = await raceWithPeaks(entries);
    for (const [name, t] of Object.entries(r)) {
      const base = { kind: 'prefill' as const, op, tok_s: (B * T) / t.median, median_s: t.median, runs_s: t.runs };
      if (name === 'ts') rows.push(row({ ...base, impl: 'ts', threads: 1 }, best));
      else if (name.startsWith('peer:')) {
        const [impl, form] = name.slice(5).split('/');
        rows.push(row({ ...base, impl, ...(form ? { form: form as Form } : {}), threads: 1 }, best));
      }
      else {
        const [b, form, n] = name.split('/');
        rows.push(row({ ...base, impl: 'wasm', backend: b, form: form as Form, threads: Number(n) }, b as Backend));
      }
    }
    log(`[${runtime}] prefill ${op}: ${Object.keys(entries).length} contenders in ${fmt((performance.now() - t0) / 1e3, 1)} s`);
  }

  const { steps } = config;
  const q1 = rand(B * H * d, 4), k1 = rand(B * H * d, 5), v1 = rand(B * H * d, 6);
  for (const op of config.ops) {
    const t0 = performance.now();
    const dec = new BaselineDecoder(op, B, H, d, d, opts);
    const out = new Float32Array(B * H * d);
    const entries: Record<string, () => unknown> = { ts: () => { for (let i = 0; i < steps; i++) dec.step(q1, k1, v1, out); } };
    const sessions = backends.map((b) => inst.get(key(b, 1))!.session(op, { batch: B, heads: H, dk: d, dv: d, ...opts }));
    sessions.forEach((s, i) => {
      entries[backends[i]] = () => {
        const { q: qi, k: ki, v: vi } = s.inputs;
        qi.set(q1);
        ki.set(k1);
        vi.set(v1);
        for (let j = 0; j < steps; j++) s.stepInPlace();
      };
    });
    const r = await raceWithPeaks(entries);
    sessions.forEach((s) => s.free());
    for (const [name, t] of Object.entries(r)) {
      const base = { kind: 'decode' as const, op, threads: 1, tok_s: (B * steps) / t.median, us_per_step: (t.median / steps) * 1e6, median_s: t.median, runs_s: t.runs };
      rows.push(name === 'ts' ? row({ ...base, impl: 'ts', form: 'step' }, best) : row({ ...base, impl: 'wasm', backend: name, form: 'stepInPlace' }, name as Backend));
    }
    log(`[${runtime}] decode ${op}: ${fmt((performance.now() - t0) / 1e3, 1)} s`);
  }
  log(`[${runtime}] mul-add peak GFLOP/s per thread (best race): ${backends.map((b) => `${b} ${fmt(peak[b]!, 1)}`).join(', ')}`);
  for (const h of inst.values()) h.close();
  return { runtime, machine: machineInfo(), config, peak_gflops: peak, rows, notes };
}

/** Readable name of a prefill or decode contender. */
export function label(r: Row): string {
  if (r.impl === 'ts') return r.kind === 'decode' ? 'straightforward TS step' : 'straightforward TS';
  if (r.impl === 'wasm' || r.impl === 'native') {
    const t = r.threads > 1 ? `, ${r.threads} threads` : '';
    return `${r.impl === 'native' ? 'native' : r.backend}, ${r.form}${t}`;
  }
  return `${r.impl}${r.form ? `, ${r.form}` : ''}`;
}

const pct = (r: Row) => (r.peak_fraction == null ? '' : ` (${fmt(100 * r.peak_fraction, 0)}%)`);

/**
 * Markdown tables of one runtime's rows: contenders down, operators across; prefill cells are
 * tok/s, decode cells µs/step, each with its fraction of the flavour's multiply-add peak.
 */
export function tables(rows: Row[], title: string, config: MatrixConfig): string {
  const out: string[] = [];
  for (const kind of ['prefill', 'decode'] as const) {
    const mine = rows.filter((r) => r.kind === kind);
    const ops = OPS.filter((op) => mine.some((r) => r.op === op));
    const names = [...new Set(mine.map(label))];
    if (!names.length) continue;
    const cell = (n: string, op: OpName) => {
      const r = mine.find((x) => x.op === op && label(x) === n);
      if (!r) return '';
      return (kind === 'prefill' ? fmt(r.tok_s) : fmt(r.us_per_step!, 1)) + pct(r);
    };
    const what = kind === 'prefill'
      ? `prefill tok/s (B=${config.B}, H=${config.H}, dk=dv=${config.d}, T=${config.T})`
      : `decode µs/step (${config.steps} steps at B=${config.B}, H=${config.H}, dk=dv=${config.d})`;
    out.push(`\n### ${title}: ${what}, median of ${config.rounds} interleaved rounds; (% of the flavour's mul-add peak)\n`);
    out.push(table(['implementation', ...ops], names.map((n) => [n, ...ops.map((op) => cell(n, op))])));
  }
  return out.join('\n');
}

