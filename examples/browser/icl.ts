// The page's "In-context learning" tab: the same computation as `npm run demo:icl` (same
// settings and seeds, examples/icl/), run in the page through hla.la1 with a progress bar, and
// drawn with the same SVG code as docs/icl-*.svg (both figures, then the SGD run).
import type { Hla } from '../../dist/index.browser.mjs';
import { promptsSvg, subspaceSvg, trainingSvg, type TrainingResult } from '../icl/figures.ts';
import { computePrompts, PROMPTS, type PromptsResult } from '../icl/prompts.ts';
import { computeSubspace, SUBSPACE, type SubspaceResult } from '../icl/subspace.ts';
import { train, TRAINING } from '../icl/training.ts';

export interface IclResult {
  backend: string;
  subspace: SubspaceResult;
  prompts: PromptsResult;
  training: TrainingResult;
  seconds: number;
}
declare global {
  interface Window { __iclResult?: IclResult; __iclError?: string }
}

const $ = <T extends Element = HTMLElement>(sel: string) => document.querySelector(sel) as T;
/** Yield to the browser so the progress bar repaints, at most every 50 ms. */
let lastPaint = 0;
const repaint = async () => {
  if (performance.now() - lastPaint < 50) return;
  await new Promise<void>((r) => setTimeout(r, 0));
  lastPaint = performance.now();
};

function progress(label: string, fraction: number) {
  $<HTMLProgressElement>('#icl-progress').value = fraction;
  $('#icl-status').textContent = `${label}: ${(100 * fraction).toFixed(0)} %`;
}

/** Runs both Monte Carlo estimates through `hla` and draws the figures as they finish. */
export async function runIcl(hla: Hla): Promise<IclResult> {
  const t0 = performance.now();
  const status = $('#icl-status');
  status.dataset.state = 'running';
  const subspace = await computeSubspace(hla, SUBSPACE, async (x) => {
    progress(`subspace angle: ${SUBSPACE.prompts} prompts per n through hla.la1`, 0.4 * x);
    await repaint();
  });
  $('#icl-subspace').innerHTML = subspaceSvg(subspace);
  const prompts = await computePrompts(hla, PROMPTS, async (x) => {
    progress(`task prompts: ${PROMPTS.prompts} prompts per n through hla.la1`, 0.4 + 0.4 * x);
    await repaint();
  });
  $('#icl-prompts').innerHTML = promptsSvg(prompts);
  const runs = [];
  for (const withPrompts of [false, true]) {
    runs.push(await train(hla, PROMPTS, TRAINING, withPrompts, async (x) => {
      progress(`training by SGD through hla.la1 (${withPrompts ? 'W + prompts' : 'W only'})`, 0.8 + 0.1 * (x + (withPrompts ? 1 : 0)));
      await repaint();
    }));
  }
  const training: TrainingResult = { setting: { ...TRAINING }, runs };
  $('#icl-training').innerHTML = trainingSvg(training);
  const seconds = (performance.now() - t0) / 1000;
  $<HTMLProgressElement>('#icl-progress').value = 1;
  status.dataset.state = 'done';
  const sePoints = [...subspace.points, ...prompts.points];
  const worst = Math.max(...sePoints.map((p) => Math.abs(p.mean - p.closedForm) / p.se));
  status.textContent = `Done ✓ ${sePoints.length} Monte Carlo points on ${hla.backend} in ${seconds.toFixed(1)} s; largest distance to the closed form ${worst.toFixed(2)} standard errors.`;
  return { backend: hla.backend, subspace, prompts, training, seconds };
}
