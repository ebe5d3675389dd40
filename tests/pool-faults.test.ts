// The pool's fault handling (issue #10, item 5): a worker that throws, exits or cannot start,
// and close() with runs in flight. Every pending run rejects with an Error that says what
// happened, a dead worker is replaced, and nothing crashes the host process.
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { init, type Hla } from '../target/testing/dist/index.mjs';
import { qkv, tensor } from './helpers.js';

const dist = new URL('../target/testing/dist/', import.meta.url);
const temps: string[] = [];
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A copy of dist/ without `drop` and with `patch` applied, imported as a fresh module. */
async function bundleCopy(drop: string[], patch: Record<string, Uint8Array> = {}): Promise<typeof import('../target/testing/dist/index.mjs')> {
  const dir = mkdtempSync(join(tmpdir(), 'hla-pool-'));
  temps.push(dir);
  for (const f of readdirSync(dist)) if (/\.(mjs|wasm)$/.test(f) && !drop.includes(f)) copyFileSync(new URL(f, dist), join(dir, f));
  for (const [f, bytes] of Object.entries(patch)) writeFileSync(join(dir, f), bytes);
  return import(pathToFileURL(join(dir, 'index.mjs')).href);
}

describe('pool faults', () => {
  const { q, k, v } = qkv(1, 64, 4, 4, 8, 8, 71);

  it('close() rejects every pending run with a clear error', async () => {
    const h = await init({ threads: 2 });
    const runs = [h.run('hla2', q, k, v), h.run('la1', q, k, v)];
    h.close();
    for (const r of runs) await expect(r).rejects.toThrow(/worker pool was closed \(hla\.close\(\)\) while this run was pending/);
    expect(h.threads).toBe(1);
    expect((await h.run('la1', q, k, v)).o.data.length).toBe(64 * 4 * 8); // inline now
  });

  it.each(['throw', 'exit'] as const)('a worker that dies (%s) rejects its pending runs, is replaced, and later runs are correct', async (how) => {
    const h: Hla = await init({ threads: 2 });
    try {
      const want = h.hla2(q, k, v).o.data;
      (h as unknown as { _crashWorkerForTests(w: number, how: string): void })._crashWorkerForTests(0, how);
      await expect(h.run('hla2', q, k, v)).rejects.toThrow(
        how === 'throw' ? /pool worker 0 failed \(.*deliberate worker crash.*\); the runs it had were rejected and it is being replaced/ : /pool worker 0 failed \(it exited with code 3\)/,
      );
      for (let i = 0; i < 3; i++) expect(Array.from((await h.run('hla2', q, k, v)).o.data)).toEqual(Array.from(want));
      expect(h.threads).toBe(2);
    } finally {
      h.close();
    }
  });

  it('an sse run (a router every job reads, gates per side) on a worker that dies rejects; later sse runs are bit-identical', async () => {
    const qk = [2, 16, 2, 8];
    const gate = (seed: number) => {
      const t = tensor(qk, seed, true);
      t.data.forEach((x, i) => (t.data[i] = -x));
      return t;
    };
    const inputs = { q1: tensor(qk, 72), k1: tensor(qk, 73), q2: tensor(qk, 74), k2: tensor(qk, 75), v: tensor([2, 16, 2, 8], 76), router: tensor([2, 16, 3], 77), gk1: gate(78), gk2: gate(79) };
    const options = { base: 'gla' as const, topK: 2, outputFinalState: true };
    const h: Hla = await init({ threads: 2 });
    try {
      const want = h.sse(inputs, options);
      (h as unknown as { _crashWorkerForTests(w: number, how: string): void })._crashWorkerForTests(1, 'throw');
      await expect(h.run('sse', inputs, options)).rejects.toThrow(/pool worker 1 failed \(.*deliberate worker crash.*\); the runs it had were rejected and it is being replaced/);
      for (let i = 0; i < 2; i++) {
        const got = await h.run('sse', inputs, options);
        expect(Array.from(got.o.data)).toEqual(Array.from(want.o.data));
        expect(Array.from(got.finalState!.toFloat32Array())).toEqual(Array.from(want.finalState!.toFloat32Array()));
      }
      const pending = h.run('sse', inputs, options);
      h.close();
      await expect(pending).rejects.toThrow(/worker pool was closed \(hla\.close\(\)\) while this run was pending/);
    } finally {
      h.close();
    }
  });

  it('init({ threads }) rejects clearly when worker.mjs is missing next to the bundle, and the host lives on', async () => {
    const copy = await bundleCopy(['worker.mjs']);
    await expect(copy.init({ threads: 2 })).rejects.toThrow(/pool worker \d could not start: .*worker\.mjs.*\(init\(\{ threads: 2 \}\)\)/s);
    const h = await copy.init();
    expect(h.la1(q, k, v).o.data.length).toBe(64 * 4 * 8);
  });

  it('init({ threads }) rejects clearly when a worker cannot load its wasm', async () => {
    const good = readFileSync(new URL('hla_scalar.wasm', dist));
    const copy = await bundleCopy([], { 'hla_scalar.wasm': good.subarray(0, 100) });
    await expect(copy.init({ backend: 'scalar', wasm: good, threads: 2 })).rejects.toThrow(/pool worker \d could not start: its wasm instance did not load: /);
  });
});
