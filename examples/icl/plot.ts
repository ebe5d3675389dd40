// One hand-written SVG line chart with Monte Carlo error bars, shared by the Node demo (files
// under docs/) and the browser page (drawn live): a string in, no DOM needed.

export type Marker = 'circle' | 'square';

export interface Series {
  colour: string;
  /** SVG stroke-dasharray, e.g. '6 4'; solid when left out. */
  dash?: string;
  /** The closed-form curve. */
  line: [number, number][];
  /** Monte Carlo estimates, drawn as markers with ±2 standard-error bars. */
  points?: { x: number; y: number; se: number }[];
  marker?: Marker;
}

/** A legend row: a swatch (line and/or marker) and its label, or a bold heading (no colour). */
export interface LegendRow {
  label: string;
  colour?: string;
  dash?: string;
  marker?: Marker;
  /** Draw the line sample (default true when a colour is given). */
  line?: boolean;
  /** Draw an error-bar sample. */
  errorBar?: boolean;
}

export interface Chart {
  /** Unique per page: names the chart's clip path (two charts inline in one page). */
  id: string;
  title: string;
  /** Lines under the title (setting, model). */
  subtitle: string[];
  xLabel: string;
  yLabel: string;
  x: { min: number; max: number; ticks: { at: number; label: string }[] };
  y: { min: number; max: number };
  series: Series[];
  legend: LegendRow[];
  /** A line under the plot (what is computed how). */
  footnote?: string;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const f1 = (v: number) => (Math.round(v * 10) / 10).toString();

/** A round tick step (1, 2 or 5 × 10^k) giving about 5–8 intervals over `span`. */
function niceStep(span: number): number {
  const raw = span / 6, p = 10 ** Math.floor(Math.log10(raw));
  return ([1, 2, 5, 10].find((m) => m * p >= raw) ?? 10) * p;
}

function marker(kind: Marker, x: number, y: number, colour: string): string {
  return kind === 'square'
    ? `<rect x="${f1(x - 3.5)}" y="${f1(y - 3.5)}" width="7" height="7" fill="#fff" stroke="${colour}" stroke-width="1.6"/>`
    : `<circle cx="${f1(x)}" cy="${f1(y)}" r="3.6" fill="${colour}" stroke="#fff" stroke-width="0.8"/>`;
}

/** The chart as a standalone SVG document (fixed 980 px wide: a 560 px plot, the legend on its right). */
export function chartSvg(c: Chart): string {
  const W = 980, left = 78, plotW = 560, top = 40 + 17 * c.subtitle.length + 14, plotH = 360;
  const legendX = left + plotW + 32;
  const H = top + plotH + 58 + (c.footnote ? 20 : 0);
  const sx = (v: number) => left + ((v - c.x.min) / (c.x.max - c.x.min)) * plotW;
  const sy = (v: number) => top + plotH - ((v - c.y.min) / (c.y.max - c.y.min)) * plotH;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif" font-size="13" fill="#1d232b">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${left - 60}" y="26" font-size="16" font-weight="600">${esc(c.title)}</text>`);
  c.subtitle.forEach((s, i) => out.push(`<text x="${left - 60}" y="${47 + 17 * i}" fill="#5f6b7a">${esc(s)}</text>`));
  // Grid and ticks.
  const step = niceStep(c.y.max - c.y.min);
  out.push('<g stroke="#e3e7ec">');
  for (let v = Math.ceil(c.y.min / step) * step; v <= c.y.max + step * 1e-9; v += step) out.push(`<line x1="${left}" x2="${left + plotW}" y1="${f1(sy(v))}" y2="${f1(sy(v))}"/>`);
  for (const t of c.x.ticks) out.push(`<line x1="${f1(sx(t.at))}" x2="${f1(sx(t.at))}" y1="${top}" y2="${top + plotH}"/>`);
  out.push('</g>');
  out.push(`<g fill="#5f6b7a" font-size="12">`);
  for (let v = Math.ceil(c.y.min / step) * step; v <= c.y.max + step * 1e-9; v += step) {
    out.push(`<text x="${left - 8}" y="${f1(sy(v) + 4)}" text-anchor="end">${+v.toFixed(6)}</text>`);
  }
  for (const t of c.x.ticks) out.push(`<text x="${f1(sx(t.at))}" y="${top + plotH + 18}" text-anchor="middle">${esc(t.label)}</text>`);
  out.push('</g>');
  out.push(`<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#9aa3ad"/>`);
  out.push(`<text x="${left + plotW / 2}" y="${top + plotH + 40}" text-anchor="middle">${esc(c.xLabel)}</text>`);
  out.push(`<text transform="translate(${left - 50} ${top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(c.yLabel)}</text>`);
  // Curves, then error bars and markers on top (clipped to the plot area).
  out.push(`<clipPath id="${c.id}-plot"><rect x="${left}" y="${top}" width="${plotW}" height="${plotH}"/></clipPath><g clip-path="url(#${c.id}-plot)">`);
  for (const s of c.series) {
    const pts = s.line.map(([x, y]) => `${f1(sx(x))},${f1(sy(y))}`).join(' ');
    out.push(`<polyline points="${pts}" fill="none" stroke="${s.colour}" stroke-width="1.8"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
  }
  for (const s of c.series) {
    for (const p of s.points ?? []) {
      const x = sx(p.x), lo = sy(p.y - 2 * p.se), hi = sy(p.y + 2 * p.se);
      out.push(`<path d="M${f1(x)} ${f1(lo)}V${f1(hi)}M${f1(x - 3)} ${f1(lo)}h6M${f1(x - 3)} ${f1(hi)}h6" stroke="${s.colour}" stroke-width="1.2" fill="none"/>`);
      out.push(marker(s.marker ?? 'circle', x, sy(p.y), s.colour));
    }
  }
  out.push('</g>');
  // Legend.
  let ly = top + 6;
  for (const row of c.legend) {
    if (!row.colour) {
      out.push(`<text x="${legendX}" y="${ly + 4}" font-weight="600">${esc(row.label)}</text>`);
      ly += 21;
      continue;
    }
    if (row.line ?? true) out.push(`<line x1="${legendX}" x2="${legendX + 30}" y1="${ly}" y2="${ly}" stroke="${row.colour}" stroke-width="1.8"${row.dash ? ` stroke-dasharray="${row.dash}"` : ''}/>`);
    if (row.errorBar) out.push(`<path d="M${legendX + 15} ${ly - 7}V${ly + 7}M${legendX + 12} ${ly - 7}h6M${legendX + 12} ${ly + 7}h6" stroke="${row.colour}" stroke-width="1.2" fill="none"/>`);
    if (row.marker) out.push(marker(row.marker, legendX + 15, ly, row.colour));
    out.push(`<text x="${legendX + 38}" y="${ly + 4}">${esc(row.label)}</text>`);
    ly += 19;
  }
  if (c.footnote) out.push(`<text x="${left - 60}" y="${H - 12}" fill="#5f6b7a" font-size="12">${esc(c.footnote)}</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
