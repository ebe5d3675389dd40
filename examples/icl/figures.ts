// The two figures' SVG from the computed numbers: what is shown, labelled so the figure reads
// without the README. Shared by the Node demo (docs/icl-*.svg) and the browser page.
import { chartSvg, type LegendRow, type Series } from './plot.ts';
import { REGIME_LABELS, REGIMES, type PromptsResult } from './prompts.ts';
import type { SubspaceResult } from './subspace.ts';
import type { TrainingRun } from './training.ts';

const N_COLOURS = ['#c8433a', '#e08a1e', '#14a085', '#2f6fdb', '#7b4fc9'];
const REGIME_COLOURS = ['#c8433a', '#e08a1e', '#2f6fdb', '#14a085'];

/** The legend's last rows: what the markers and bars are. */
const MC_ROWS: LegendRow[] = [
  { label: 'markers: Monte Carlo, hla.la1', colour: '#5f6b7a', line: false, marker: 'circle' },
  { label: 'error bars: ±2 standard errors', colour: '#5f6b7a', line: false, errorBar: true },
];
/** Unicode subscript digits, for I_d in a label. */
const sub = (n: number) => String(n).replace(/\d/g, (c) => '₀₁₂₃₄₅₆₇₈₉'[+c]);

export function subspaceSvg(res: SubspaceResult): string {
  const { d, r, ns, prompts } = res.setting;
  const series: Series[] = [];
  ns.forEach((n, i) => {
    for (const model of ['single', 'union'] as const) {
      series.push({
        colour: N_COLOURS[i % N_COLOURS.length],
        dash: model === 'union' ? '6 4' : undefined,
        marker: model === 'union' ? 'square' : 'circle',
        line: res.lines.angles.map((th, k) => [th, res.lines.risk[n][model][k]]),
        points: res.points.filter((p) => p.n === n && p.model === model).map((p) => ({ x: p.theta, y: p.mean, se: p.se })),
      });
    }
  });
  const top = Math.max(...res.points.map((p) => p.mean + 2 * p.se), ...Object.values(res.lines.risk).flatMap((m) => [...m.single, ...m.union]));
  const legend: LegendRow[] = [
    { label: 'context length n' },
    ...ns.map((n, i) => ({ label: `n = ${n}`, colour: N_COLOURS[i % N_COLOURS.length] })),
    { label: '' },
    { label: 'layer trained on' },
    { label: 'one subspace U₁', colour: '#5f6b7a', marker: 'circle' },
    { label: 'union of U₁ and U₂ (⊥ U₁)', colour: '#5f6b7a', dash: '6 4', marker: 'square' },
    { label: '' },
    { label: 'lines: closed form', colour: '#5f6b7a' },
    ...MC_ROWS,
  ];
  return chartSvg({
    id: 'icl-subspace',
    title: 'In-context regression out of distribution: test risk vs subspace angle',
    subtitle: [
      `One linear-attention layer ŷ = x_qᵀ Γ (1/n) Σᵢ yᵢxᵢ with its risk-optimal Γ; x ~ N(0, I${sub(d)}), tasks w ~ N(0, UUᵀ), rank r = ${r}, y = wᵀx.`,
      `Test subspace U(θ) = cos θ·U₁ + sin θ·U₂: all ${r} principal angles to the training subspace U₁ equal θ.`,
      'In the model class of Kwon et al. (arXiv 2505.14808), derived independently.',
    ],
    xLabel: 'angle θ between test and training subspace (every principal angle)',
    yLabel: 'test risk E(ŷ − y)²',
    x: { min: 0, max: Math.PI / 2, ticks: [0, 1, 2, 3, 4].map((k) => ({ at: (k * Math.PI) / 8, label: ['0', 'π/8', 'π/4', '3π/8', 'π/2'][k] })) },
    y: { min: 0, max: Math.ceil(top * 4 + 0.2) / 4 },
    series,
    legend,
    footnote: `${prompts} prompts per n, each scored at every marked θ by both layers; npm run demo:icl regenerates this figure.`,
  });
}

export function promptsSvg(res: PromptsResult): string {
  const s = res.setting;
  const vec = (x: number) => `${x}·1`;
  const series: Series[] = REGIMES.map((regime, i) => ({
    colour: REGIME_COLOURS[i],
    line: res.lines.ns.map((n, k) => [n, res.lines.loss[regime][k]]),
    points: res.points.filter((p) => p.regime === regime).map((p) => ({ x: p.n, y: p.mean, se: p.se })),
  }));
  const top = Math.max(...res.points.map((p) => p.mean + 2 * p.se), ...REGIMES.flatMap((r) => res.lines.loss[r]));
  const legend: LegendRow[] = [
    { label: 'regime (each at its optimum)' },
    ...REGIMES.map((regime, i) => ({ label: REGIME_LABELS[regime], colour: REGIME_COLOURS[i], marker: 'circle' as const })),
    { label: '' },
    { label: 'lines: closed form', colour: '#5f6b7a' },
    ...MC_ROWS,
  ];
  const maxN = Math.max(...res.lines.ns);
  return chartSvg({
    id: 'icl-prompts',
    title: 'Task-specific prompts and heads for in-context regression: loss vs context length',
    subtitle: [
      `One linear-attention layer ŷ = x_qᵀ W (Σᵢ xᵢyᵢ + b_k); the task's prompt b_k is one extra key/value token.`,
      `Chang et al. (arXiv 2503.02102), figure setting: d = ${s.d}, ${s.weights.length} tasks, π = (${s.weights.join(', ')}), μ = (${s.means.map(vec).join(', ')}), Σ = (${s.variances.map((v) => (v === 1 ? 'I' : `${v}I`)).join(', ')}).`,
      `Loss normalised by tr M = ${+s.normaliser.toFixed(3)} (the loss of predicting 0); M = E[ββᵀ].`,
    ],
    xLabel: 'context length n (examples in the prompt)',
    yLabel: 'loss E(ŷ − y)² / tr M',
    x: { min: 0, max: maxN, ticks: Array.from({ length: Math.floor(maxN / 10) + 1 }, (_, k) => ({ at: 10 * k, label: String(10 * k) })) },
    y: { min: 0, max: Math.min(1.1, Math.ceil(top * 10 + 0.5) / 10) },
    series,
    legend,
    footnote: `${s.prompts} prompts per marked n (n = ${s.ns.join(', ')}); lines at every n from ${Math.min(...res.lines.ns)} to ${maxN}; npm run demo:icl regenerates this figure.`,
  });
}

export interface TrainingResult {
  setting: { n: number; steps: number; batch: number; rate: number; seed: number };
  runs: TrainingRun[];
}

export function trainingSvg(res: TrainingResult): string {
  const { n, steps, batch } = res.setting;
  const colours = { plain: REGIME_COLOURS[0], joint: REGIME_COLOURS[2] };
  const series: Series[] = res.runs.flatMap((run) => [
    { colour: colours[run.regime], line: run.loss.map((l, i) => [i, l] as [number, number]), points: [{ x: steps, y: run.averaged, se: 0 }] },
    { colour: colours[run.regime], dash: '6 4', line: [[0, run.closedForm], [steps, run.closedForm]] as [number, number][] },
  ]);
  const lo = Math.min(...res.runs.map((r) => r.closedForm));
  const legend: LegendRow[] = [
    { label: 'trained parameters' },
    { label: REGIME_LABELS.plain, colour: colours.plain },
    { label: REGIME_LABELS.joint, colour: colours.joint },
    { label: '' },
    { label: 'closed-form optimum', colour: '#5f6b7a', dash: '6 4' },
    { label: `average of the last ${steps / 2} iterates`, colour: '#5f6b7a', line: false, marker: 'circle' },
  ];
  return chartSvg({
    id: 'icl-training',
    title: 'Training the layer by SGD through la1 lands on the closed-form optimum',
    subtitle: [
      `Task prompts setting of Chang et al. at n = ${n}; from W = 0 and zero prompts, each step a fresh batch of ${batch} prompts,`,
      'predictions by hla.la1, gradient of the batch\'s squared error (linear in the residual).',
      'The curves are the exact population loss of each iterate (a closed form for any W and prompts), / tr M.',
    ],
    xLabel: 'SGD step',
    yLabel: 'population loss / tr M',
    // A little room right of the last step, so the averages' markers are not clipped.
    x: { min: 0, max: steps * 1.03, ticks: Array.from({ length: 5 }, (_, k) => ({ at: (k * steps) / 4, label: String((k * steps) / 4) })) },
    y: { min: Math.floor(lo * 10 - 1) / 10, max: 1.05 },
    series,
    legend,
    footnote: 'npm run demo:icl regenerates this figure (examples/icl/training.ts).',
  });
}
