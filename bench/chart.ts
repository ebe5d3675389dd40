// A dependency-free horizontal bar chart (SVG) of benchmark results, for the README.

export interface Bar {
  label: string;
  value: number;
  /** Colour key: bars with the same group share a colour. */
  group: string;
}

const COLOURS = ['#2f6fdb', '#14a085', '#e08a1e', '#8a5cd1', '#9aa3ad', '#c8433a'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** Legend entries side by side, each as wide as its label (~7 px per character at 13 px). */
function legend(groups: string[], left: number, y: number): string {
  let x = left;
  return groups.map((g, i) => {
    const item = `<rect x="${x}" y="${y - 10}" width="12" height="12" rx="2" fill="${COLOURS[i % COLOURS.length]}"/><text x="${x + 17}" y="${y}">${esc(g)}</text>`;
    x += 17 + 7 * g.length + 24;
    return item;
  }).join('');
}

/** Bars top to bottom; a bar with `gapBefore` starts a new block (a little space above it). */
export function barChart(title: string, unit: string, bars: (Bar & { gapBefore?: boolean })[], note = ''): string {
  const labelW = 290, barW = 420, rowH = 24, top = 46, left = 12, gap = 10;
  const max = Math.max(...bars.map((b) => b.value));
  const groups = [...new Set(bars.map((b) => b.group))];
  const ys: number[] = [];
  bars.forEach((b, i) => ys.push((i ? ys[i - 1] + rowH : top) + (i && b.gapBefore ? gap : 0)));
  const legendY = (ys.at(-1) ?? top) + rowH + 14;
  const h = legendY + 34;
  const w = left + labelW + barW + 110;
  const rows = bars.map((b, i) => {
    const y = ys[i];
    const len = Math.max(1, (b.value / max) * barW);
    const colour = COLOURS[groups.indexOf(b.group) % COLOURS.length];
    return `<text x="${left + labelW - 8}" y="${y + 16}" text-anchor="end">${esc(b.label)}</text>` +
      `<rect x="${left + labelW}" y="${y + 4}" width="${len.toFixed(1)}" height="${rowH - 8}" rx="3" fill="${colour}"/>` +
      `<text x="${left + labelW + len + 6}" y="${y + 16}">${Math.round(b.value).toLocaleString('en-US')}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="system-ui, sans-serif" font-size="13" fill="#1d2330">
<rect width="100%" height="100%" fill="#fff"/>
<text x="${left}" y="22" font-size="15" font-weight="600">${esc(title)}</text>
<text x="${left}" y="38" fill="#5b6472">${esc(unit)}</text>
${rows.join('\n')}
${legend(groups, left, legendY)}
<text x="${left}" y="${h - 10}" fill="#5b6472" font-size="11">${esc(note)}</text>
</svg>
`;
}

/** The README chart from a `bench/results/latest.json` object. */
export function resultsChart(results: {
  config: { B: number; H: number; dk: number; T: number };
  machine: { node?: string; cpu?: string; date: string };
  prefill: Record<string, { tok_s: number }>;
  operators: Record<string, Record<string, number | Record<string, number>>>;
  best: string;
}): string {
  const group = (n: string) => (n === 'ts' ? 'straightforward TS' : n.startsWith('native') ? 'native' : n.startsWith('tfjs') ? 'tfjs' : n.split('/')[0]);
  const bars: Bar[] = [
    ...Object.entries(results.prefill).map(([n, v]) => ({ label: n === 'ts' ? 'hla2 · straightforward TS' : `hla2 · ${n.replace('/', ' · ')}`, value: v.tok_s, group: group(n) })),
    ...Object.entries(results.operators).filter(([op]) => op !== 'hla2').flatMap(([op, r]) => [
      { label: `${op} · straightforward TS`, value: r.ts as number, group: group('ts') },
      { label: `${op} · ${results.best} · recurrent`, value: r.recurrent as number, group: results.best },
    ]),
  ];
  const { B, H, dk, T } = results.config;
  return barChart(
    `Prefill throughput (B=${B}, H=${H}, dk=dv=${dk}, T=${T}; one thread unless said)`,
    'tokens/s, median of interleaved rounds (higher is better); colour = implementation',
    bars,
    `npm run bench · node ${results.machine.node ?? ''} · ${results.machine.cpu ?? ''} · ${results.machine.date.slice(0, 10)}`,
  );
}

/** The `npm run bench:full` chart from a `bench/results/full.json` object: per operator, the
 *  best one-thread prefill form of every flavour in every runtime, the TS baseline and peers. */
export function fullChart(full: {
  config: { B: number; H: number; d: number; T: number };
  machine: Record<string, unknown>;
  rows: { runtime: string; kind: string; op: string; impl: string; backend?: string; form?: string; threads: number; tok_s: number }[];
}): string {
  const RT: Record<string, string> = { node: 'Node', chromium: 'Chromium', native: 'native' };
  const bars: (Bar & { gapBefore?: boolean })[] = [];
  for (const op of ['la1', 'hla2', 'ahla', 'hla3']) {
    const mine = full.rows.filter((r) => r.kind === 'prefill' && r.op === op && r.threads === 1);
    // One bar per (runtime, implementation, flavour): its fastest form.
    const best = new Map<string, (typeof mine)[number]>();
    for (const r of mine) {
      const key = `${r.runtime}|${r.impl}|${r.backend ?? ''}`;
      if (!best.has(key) || best.get(key)!.tok_s < r.tok_s) best.set(key, r);
    }
    let first = true;
    for (const r of best.values()) {
      const who = r.impl === 'wasm' ? `${r.backend}` : r.impl === 'ts' ? 'straightforward TS' : r.impl === 'native' ? `${r.backend}` : r.impl;
      const form = r.impl === 'ts' ? '' : ` (${r.form})`;
      const group = r.impl === 'ts' ? 'TS baseline' : r.impl === 'wasm' || r.impl === 'native' ? RT[r.runtime] ?? r.runtime : r.impl;
      bars.push({ label: `${op} · ${RT[r.runtime] ?? r.runtime} · ${who}${form}`, value: r.tok_s, group, gapBefore: first && bars.length > 0 });
      first = false;
    }
  }
  const { B, H, d, T } = full.config;
  const m = full.machine;
  return barChart(
    'Prefill throughput per operator: Node vs Chromium vs native, one thread',
    `tokens/s at B=${B}, H=${H}, dk=dv=${d}, T=${T}; median of interleaved rounds, best form per flavour (higher is better)`,
    bars,
    `npm run bench:full · ${m.cpu ?? ''} · node ${m.node ?? ''}${m.chromium ? ` · Chromium ${m.chromium}` : ''} · ${String(m.date ?? '').slice(0, 10)}`,
  );
}
