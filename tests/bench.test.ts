// The benchmark harness in its smoke mode (tiny sizes, one round, Node only): `npm run bench:full`
// must not be found broken only when someone runs it. Checks the shape of what it writes, never
// the timings.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Row } from '../bench/matrix.ts';

const root = new URL('..', import.meta.url).pathname;
const out = mkdtempSync(join(tmpdir(), 'hla-bench-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('bench:full harness, smoke mode (Node)', () => {
  const flags = process.versions.node.startsWith('20.') ? ['--experimental-wasm-relaxed-simd'] : [];
  const stdout = execFileSync(process.execPath, [...flags, 'scripts/run-ts.mjs', 'bench/full.ts'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, HLA_BENCH_SMOKE: '1', HLA_BENCH_RUNTIMES: 'node', HLA_BENCH_OUT: out },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
  });
  const full = JSON.parse(readFileSync(join(out, 'full.json'), 'utf8')) as {
    machine: Record<string, unknown>; smoke: boolean; peak_gflops: Record<string, Record<string, number>>; rows: Row[];
  };

  it('records the machine and the multiply-add peak of every flavour', () => {
    expect(full.smoke).toBe(true);
    for (const k of ['date', 'cpu', 'cores', 'node', 'v8']) expect(full.machine[k], k).toBeTruthy();
    expect(Object.keys(full.peak_gflops.node).sort()).toEqual(['relaxed', 'scalar', 'simd128']);
    for (const g of Object.values(full.peak_gflops.node)) expect(g).toBeGreaterThan(0);
  });

  it('has every cell of the matrix, with GFLOP/s and the fraction of the flavour peak', () => {
    const wasm = full.rows.filter((r) => r.impl === 'wasm');
    const prefill = new Set(wasm.filter((r) => r.kind === 'prefill').map((r) => `${r.op}/${r.backend}/${r.form}/${r.threads}`));
    expect(prefill.size).toBe(4 * 3 * 3 * 2);
    const decode = new Set(wasm.filter((r) => r.kind === 'decode').map((r) => `${r.op}/${r.backend}/${r.form}`));
    expect(decode.size).toBe(4 * 3);
    for (const kind of ['prefill', 'decode']) {
      expect(full.rows.filter((r) => r.impl === 'ts' && r.kind === kind).map((r) => r.op).sort()).toEqual(['ahla', 'hla2', 'hla3', 'la1']);
    }
    for (const r of full.rows) {
      expect(r.runtime).toBe('node');
      expect(r.tok_s, JSON.stringify(r)).toBeGreaterThan(0);
      expect(r.gflops).toBeGreaterThan(0);
      expect(r.runs_s).toHaveLength(1);
      if (r.impl === 'wasm') expect(r.peak_of).toBe(r.backend);
      expect(r.peak_fraction).toBeGreaterThan(0);
      expect(r.peak_gflops).toBeGreaterThan(0);
      if (r.kind === 'decode') expect(r.us_per_step).toBeGreaterThan(0);
    }
  });

  it('prints the tables and writes the chart', () => {
    expect(stdout).toContain('### Headline: best prefill tok/s per operator');
    expect(stdout).toContain('| relaxed, chunk32, 2 threads');
    const svg = readFileSync(join(out, 'full.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('hla3 · Node · relaxed');
  });
});
