// Old build vs new build of the same kernels, in one process: `race` alternates the two
// contenders per round, so machine noise hits both alike. Usage (after building both trees):
//   node --experimental-wasm-relaxed-simd scripts/run-ts.mjs bench/ab.ts OLD/dist/index.mjs NEW/dist/index.mjs [backend]
// Prints a table of new/old time ratios (< 1: the new build is faster).
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { fmt, race, table } from './harness.js';
import { rand } from './matrix.js';

type Api = typeof import('../dist/index.mjs');
const [oldPath, newPath, backend = 'relaxed'] = process.argv.slice(2);
if (!oldPath || !newPath) throw new Error('usage: bench/ab.ts OLD/dist/index.mjs NEW/dist/index.mjs [backend]');
const load = async (p: string) => ((await import(pathToFileURL(resolve(p)).href)) as Api).init({ backend: backend as never });
const [older, newer] = [await load(oldPath), await load(newPath)];

const [B, H, D] = [1, 8, 64];
const tensor = (T: number, seed: number) => ({ data: rand(B * T * H * D, seed), shape: [B, T, H, D] });
const rows: (string | number)[][] = [];
const compare = (name: string, f: (h: typeof older) => () => unknown) => {
  const r = race({ old: f(older), new: f(newer) }, { rounds: Number(process.env.AB_ROUNDS ?? 11), warmupSeconds: 1 });
  rows.push([name, fmt(r.old.median * 1e3, 2), fmt(r.new.median * 1e3, 2), fmt(r.new.median / r.old.median, 3)]);
  console.error(rows.at(-1)!.join('  '));
};
for (const op of ['la1', 'hla2', 'ahla', 'hla3'] as const) {
  const T = op === 'hla3' ? 512 : 1024;
  const [q, k, v] = [tensor(T, 1), tensor(T, 2), tensor(T, 3)];
  for (const mode of ['recurrent', 'chunk'] as const) {
    compare(`${op} ${mode} T=${T}`, (h) => () => h[op](q, k, v, { decay: 0.99, mode, chunkSize: 64 }));
  }
  compare(`${op} decode 64 steps`, (h) => {
    const s = h.session(op, { heads: H, dk: D, dv: D, decay: 0.99 });
    for (const x of Object.values(s.inputs)) x.set(rand(x.length, 4));
    return () => {
      for (let i = 0; i < 64; i++) s.stepInPlace();
    };
  });
}
console.log(`backend ${backend}, B=${B} H=${H} dk=dv=${D}, decay 0.99, chunk 64; median of ${process.env.AB_ROUNDS ?? 11} interleaved rounds`);
console.log(table(['case', 'old ms', 'new ms', 'new/old'], rows));
