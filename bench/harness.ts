// Timing: warm-up first, then the median of several runs. V8 compiles wasm with Liftoff first and
// tiers hot functions up to TurboFan in the background: at these sizes that takes ~10 runs
// (~1 s), so warm-up is by time, not by count.

export interface Timing {
  /** Median seconds per run. */
  median: number;
  runs: number[];
}

export function time(fn: () => void, { warmup = 2, warmupSeconds = 1.5, runs = 7, minSeconds = 0 } = {}): Timing {
  const w0 = performance.now();
  for (let i = 0; i < warmup || (performance.now() - w0) / 1e3 < warmupSeconds; i++) fn();
  const out: number[] = [];
  const start = performance.now();
  while ((runs > 0 && out.length < runs) || (performance.now() - start) / 1e3 < minSeconds) {
    const t0 = performance.now();
    fn();
    out.push((performance.now() - t0) / 1e3);
  }
  return { median: median(out), runs: out };
}

/**
 * Times several contenders fairly on a noisy machine: each is warmed up (by time), then every
 * round runs each contender once, in an order rotated per round, so slow phases of the machine
 * hit all of them alike. Returns the median seconds per contender.
 */
export function race(entries: Record<string, () => void>, { rounds = 7, warmupSeconds = 1.5 } = {}): Record<string, Timing> {
  const names = Object.keys(entries);
  for (const n of names) time(entries[n], { warmup: 1, warmupSeconds, runs: 0 });
  const runs: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < names.length; i++) {
      const n = names[(i + r) % names.length];
      const t0 = performance.now();
      entries[n]();
      runs[n].push((performance.now() - t0) / 1e3);
    }
  }
  return Object.fromEntries(names.map((n) => [n, { median: median(runs[n]), runs: runs[n] }]));
}

/**
 * `race` for contenders that may be asynchronous (worker-pool calls): the same time-based
 * warm-up (`warmupFor[name]` seconds instead, for contenders already warm) and rotated
 * round-robin order; each call is awaited before the next starts.
 */
export async function raceAsync(entries: Record<string, () => unknown>, { rounds = 7, warmupSeconds = 1.5, warmupFor = {} as Record<string, number> } = {}): Promise<Record<string, Timing>> {
  const names = Object.keys(entries);
  for (const n of names) {
    const w0 = performance.now();
    do await entries[n](); while ((performance.now() - w0) / 1e3 < (warmupFor[n] ?? warmupSeconds));
  }
  const runs: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < names.length; i++) {
      const n = names[(i + r) % names.length];
      const t0 = performance.now();
      await entries[n]();
      runs[n].push((performance.now() - t0) / 1e3);
    }
  }
  return Object.fromEntries(names.map((n) => [n, { median: median(runs[n]), runs: runs[n] }]));
}

export function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

export function fmt(x: number, digits = 0): string {
  return x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** A Markdown table. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const w = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join(' | ')} |`;
  return [line(header), `|${w.map((n, i) => (i === 0 ? ':' : '-') + '-'.repeat(n) + (i === 0 ? '-' : ':')).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}

export function machineInfo() {
  // Also runs in the browser page (bench/browser/page.ts), where `process` does not exist.
  const isNode = typeof process !== 'undefined' && process.versions?.node != null;
  const os = isNode ? { node: process.versions.node, v8: process.versions.v8, platform: `${process.platform}-${process.arch}` } : {};
  const nav = typeof navigator !== 'undefined' ? { userAgent: navigator.userAgent, hardwareConcurrency: navigator.hardwareConcurrency } : {};
  return { date: new Date().toISOString(), ...os, ...nav };
}
