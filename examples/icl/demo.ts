// Regenerates the two in-context-learning figures and their numbers:
//   npm run demo:icl   (= node scripts/run-ts.mjs examples/icl/demo.ts; needs the built package)
// writes docs/icl-subspace.{svg,json}, docs/icl-prompts.{svg,json} and docs/icl-training.{svg,json}
// (SGD through la1 landing on the optimum), and prints the Monte Carlo points next to the closed
// form with their distance in standard errors.
import { existsSync, writeFileSync } from 'node:fs';
import { promptsSvg, subspaceSvg, trainingSvg } from './figures.ts';
import { computePrompts, PROMPTS } from './prompts.ts';
import { computeSubspace, SUBSPACE } from './subspace.ts';
import { train, TRAINING } from './training.ts';

const docs = new URL('../../docs/', import.meta.url);
/** Six significant digits are plenty for a figure's numbers and keep the JSON diffable. */
const json = (x: unknown) => JSON.stringify(x, (_, v) => (typeof v === 'number' ? +v.toPrecision(6) : v), 1) + '\n';

if (!existsSync(new URL('../../dist/index.mjs', import.meta.url))) {
  console.error('[demo:icl] the package is not built: run `npm run build` first (dist/ is missing)');
  process.exit(1);
}
const { init } = await import('../../dist/index.mjs');
const hla = await init();
const t0 = performance.now();
const subspace = await computeSubspace(hla, SUBSPACE);
const t1 = performance.now();
const prompts = await computePrompts(hla, PROMPTS);
const t2 = performance.now();
const training = { setting: { ...TRAINING }, runs: [await train(hla, PROMPTS, TRAINING, false), await train(hla, PROMPTS, TRAINING, true)] };
const t3 = performance.now();

writeFileSync(new URL('icl-subspace.svg', docs), subspaceSvg(subspace));
writeFileSync(new URL('icl-subspace.json', docs), json({ figure: 'docs/icl-subspace.svg', command: 'npm run demo:icl', backend: hla.backend, ...subspace }));
writeFileSync(new URL('icl-prompts.svg', docs), promptsSvg(prompts));
writeFileSync(new URL('icl-training.svg', docs), trainingSvg(training));
writeFileSync(new URL('icl-training.json', docs), json({ figure: 'docs/icl-training.svg', command: 'npm run demo:icl', backend: hla.backend, ...training }));
writeFileSync(new URL('icl-prompts.json', docs), json({ figure: 'docs/icl-prompts.svg', command: 'npm run demo:icl', backend: hla.backend, ...prompts }));

const z = (p: { mean: number; se: number; closedForm: number }) => (p.mean - p.closedForm) / p.se;
const worst = (ps: { mean: number; se: number; closedForm: number }[]) => Math.max(...ps.map((p) => Math.abs(z(p))));
console.log(`[demo:icl] backend ${hla.backend}`);
console.log(`[demo:icl] subspace: ${subspace.points.length} Monte Carlo points (${SUBSPACE.prompts} prompts per n) in ${((t1 - t0) / 1000).toFixed(1)} s; largest |MC − closed form| = ${worst(subspace.points).toFixed(2)} SE`);
for (const p of subspace.points.filter((p) => p.theta === 0 || Math.abs(p.theta - Math.PI / 2) < 1e-12)) {
  console.log(`  n=${String(p.n).padStart(3)} ${p.model.padEnd(6)} θ=${p.theta === 0 ? '0  ' : 'π/2'}  MC ${p.mean.toFixed(4)} ± ${p.se.toFixed(4)}  closed form ${p.closedForm.toFixed(4)}  (${z(p).toFixed(2)} SE)`);
}
console.log(`[demo:icl] prompts: ${prompts.points.length} Monte Carlo points (${PROMPTS.prompts} prompts per n) in ${((t2 - t1) / 1000).toFixed(1)} s; largest |MC − closed form| = ${worst(prompts.points).toFixed(2)} SE`);
for (const p of prompts.points) {
  console.log(`  n=${String(p.n).padStart(2)} ${p.regime.padEnd(8)} loss/trM: MC ${p.mean.toFixed(4)} ± ${p.se.toFixed(4)}  closed form ${p.closedForm.toFixed(4)}  (${z(p).toFixed(2)} SE)`);
}
console.log(`[demo:icl] training: ${TRAINING.steps} SGD steps of ${TRAINING.batch} prompts through la1, twice, in ${((t3 - t2) / 1000).toFixed(1)} s`);
for (const r of training.runs) console.log(`  ${r.regime.padEnd(6)} loss/trM: start ${r.loss[0].toFixed(4)}, last iterate ${r.loss.at(-1)!.toFixed(4)}, average of the last ${TRAINING.steps / 2} ${r.averaged.toFixed(4)}, closed-form optimum ${r.closedForm.toFixed(4)}`);
console.log('[demo:icl] wrote docs/icl-{subspace,prompts,training}.{svg,json}');
