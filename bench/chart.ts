// A dependency-free horizontal bar chart (SVG) of benchmark results, for the README.

export interface Bar {
  label: string;
  value: number;
  /** Colour key: bars with the same group share a colour. */
  group: string;
}

const COLOURS = ['#2f6fdb', '#14a085', '#e08a1e', '#8a5cd1', '#9aa3ad'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function barChart(title: string, unit: string, bars: Bar[], note = ''): string {
  const labelW = 290, barW = 420, rowH = 24, top = 46, left = 12;
  const max = Math.max(...bars.map((b) => b.value));
  const groups = [...new Set(bars.map((b) => b.group))];
  const h = top + bars.length * rowH + 34;
  const w = left + labelW + barW + 110;
  const rows = bars.map((b, i) => {
    const y = top + i * rowH;
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
<text x="${left}" y="${h - 10}" fill="#5b6472" font-size="11">${esc(note)}</text>
</svg>
`;
}

/** The README chart from a `bench/results/latest.json` object. */
export function resultsChart(results: {
  config: { B: number; H: number; dk: number; T: number };
  machine: { node?: string; cpu?: string; date: string };
  prefill: Record<string, number>;
  operators: Record<string, Record<string, number | Record<string, number>>>;
  best: string;
}): string {
  const group = (n: string) => (n === 'ts' ? 'straightforward TS' : n.startsWith('native') ? 'native' : n.startsWith('tfjs') ? 'tfjs' : n.split('/')[0]);
  const bars: Bar[] = [
    ...Object.entries(results.prefill).map(([n, v]) => ({ label: n === 'ts' ? 'hla2 · straightforward TS' : `hla2 · ${n.replace('/', ' · ')}`, value: v, group: group(n) })),
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
