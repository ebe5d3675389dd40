// hla-wasm browser example: which backend we got, a streaming demo on seeded inputs, and a
// benchmark with a live chart (decode per backend, prefill with 1 and 2 worker threads); a second
// tab runs the in-context-learning figures live (icl.ts). Plain DOM; bundled by build.mjs,
// served by serve.mjs.
import { init, type Backend, type Hla, type Session } from '../../dist/index.browser.mjs';
import { runIcl } from './icl.ts';
import { DEMO, demoInputs, mulberry32 } from './seeded.ts';

const BACKENDS: Backend[] = ['relaxed', 'simd128', 'scalar'];
/** Benchmark shape: one decoding sequence, hla2 with 8 heads of 64. */
const BENCH = { heads: 8, dk: 64, dv: 64, decay: 0.99, warmupMillis: 150, millis: 1000, slice: 50 };
/** Worker counts for the prefill rows (`init({ threads })` + `hla.run`, split by heads). Decode
 *  is one token after another, so each session is one thread. */
const THREADS = [1, 2];
/** Prefill rows: hla2 over this many tokens per call through `hla.run`. */
const PREFILL_T = 256;

export interface BenchRow { kind: 'decode' | 'prefill'; backend: Backend; threads: number; tokPerSec: number | null; tokens: number; note?: string }
export interface HlaResult {
  backend: Backend;
  /** session.step outputs, token after token: T·HV·dv numbers. */
  outputs: number[];
  /** hla.hla2 (chunk mode) on the same tokens: [1, T, HV, dv] flattened. */
  functional: number[];
  maxAbsDiff: number;
  position: number;
  stateBytes: number;
  tokens: number;
  crossOriginIsolated: boolean;
  threads: number;
  bench: BenchRow[];
}
declare global {
  interface Window { __hlaResult?: HlaResult; __hlaError?: string }
}

const $ = <T extends Element = HTMLElement>(sel: string) => document.querySelector(sel) as T;
const el = <K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...kids: (Node | string)[]) => {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...kids);
  return e;
};
const fmt = (x: number) => (x >= 0 ? ' ' : '') + x.toFixed(4);
const nextFrame = () => new Promise<void>((r) => setTimeout(r, 0));

function setStatus(state: 'idle' | 'running' | 'done' | 'error', text: string) {
  const s = $('#status');
  s.dataset.state = state;
  s.textContent = text;
}

/** Streams DEMO.tokens seeded tokens through a session, then runs hla.hla2 on the same tokens. */
async function demo(hla: Hla) {
  const inp = demoInputs(DEMO);
  const { heads, dk, dv, decay, tokens } = DEMO;
  const body = $('#tokens tbody');
  body.replaceChildren();
  const shown = new Set([0, 1, 2, 3, tokens - 3, tokens - 2, tokens - 1]);
  const outputs: number[] = [];
  const s = hla.session('hla2', { heads, dk, dv, decay });
  let position = 0, stateBytes = 0;
  try {
    for (let t = 0; t < tokens; t++) {
      const o = s.step(inp.q[t], inp.k[t], inp.v[t]);
      outputs.push(...o);
      position = s.position;
      stateBytes = s.stateBytes;
      if (shown.has(t)) {
        const norm = Math.hypot(...o);
        body.append(el('tr', {},
          el('td', {}, `#${t + 1}`),
          ...[0, 1, 2, 3].map((i) => el('td', { className: 'num' }, fmt(o[i]))),
          el('td', { className: 'num' }, norm.toFixed(4)),
          el('td', { className: 'num' }, String(position)),
          el('td', { className: 'num' }, stateBytes.toLocaleString('en-US'))));
        if (t === 3) body.append(el('tr', { className: 'gap' }, el('td', { colSpan: 8 }, `⋯ tokens 5–${tokens - 3} ⋯`)));
      }
      if (t % 4 === 3) await nextFrame(); // let the table fill in visibly
    }
  } finally {
    s.free();
  }
  const { o } = hla.hla2(inp.tensors.q, inp.tensors.k, inp.tensors.v, { decay, mode: 'chunk', chunkSize: 8 });
  const functional = Array.from(o.data);
  const maxAbsDiff = functional.reduce((m, x, i) => Math.max(m, Math.abs(x - outputs[i])), 0);
  $('#summary').replaceChildren(
    ...[
      ['tokens streamed', String(position)],
      ['state bytes (constant)', stateBytes.toLocaleString('en-US')],
      ['outputs', `${outputs.length} floats`],
      ['hla2 (chunk) vs stream', `max |Δ| ${maxAbsDiff.toExponential(1)}`],
    ].map(([k, v]) => el('div', {}, el('span', {}, k), el('b', {}, v))),
  );
  return { outputs, functional, maxAbsDiff, position, stateBytes, tokens };
}

// ---- live chart -------------------------------------------------------------------------

const SVG = 'http://www.w3.org/2000/svg';
function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** A round tick step (1, 2 or 5 × 10^n) giving at most 5 intervals up to x. */
function tickStep(x: number) {
  if (!(x > 0)) return 250;
  const raw = x / 5, p = 10 ** Math.floor(Math.log10(raw));
  return ([1, 2, 5, 10].find((m) => m * p >= raw) ?? 10) * p;
}

/** Horizontal bars, one per (kind, backend, threads). */
function drawChart(rows: BenchRow[], active?: BenchRow) {
  const chart = $<SVGSVGElement>('#chart');
  const W = 860, left = 210, right = 110, top = 26, rowH = 34, barH = 20;
  const n = rows.length;
  const H = top + n * rowH + 8;
  chart.setAttribute('viewBox', `0 0 ${W} ${H}`);
  const top1 = Math.max(0, ...rows.map((r) => r.tokPerSec ?? 0)) * 1.02;
  const step = tickStep(top1), max = Math.max(1, Math.ceil(top1 / step)) * step;
  const x = (v: number) => left + (v / max) * (W - left - right);
  const kids: SVGElement[] = [];
  const axis = svg('g', { class: 'axis' });
  for (let v = 0; v <= max + step / 2; v += step) {
    axis.append(svg('line', { class: 'grid', x1: x(v), x2: x(v), y1: top - 6, y2: H - 6 }));
    axis.append(svg('text', { x: x(v), y: top - 10, 'text-anchor': 'middle' }, v >= 1000 ? `${(v / 1000).toLocaleString('en-US')}k` : String(v)));
  }
  axis.append(svg('text', { x: left - 12, y: top - 10, 'text-anchor': 'end' }, 'tok/s'));
  kids.push(axis);
  rows.forEach((r, i) => {
    const y = top + i * rowH + (rowH - barH) / 2;
    const color = `var(--${r.backend})`;
    kids.push(svg('text', { x: 8, y: y + barH / 2 + 4 }, `${r.kind} · ${r.backend} · ${r.threads} thread${r.threads > 1 ? 's' : ''}`));
    if (r.tokPerSec === null) {
      kids.push(svg('text', { class: 'note', x: left + 6, y: y + barH / 2 + 4 }, r.note ?? 'waiting'));
      return;
    }
    kids.push(svg('rect', { x: left, y, width: Math.max(1, x(r.tokPerSec) - left), height: barH, rx: 3, fill: color, opacity: r === active ? 0.7 : 1 }));
    kids.push(svg('text', { x: x(r.tokPerSec) + 6, y: y + barH / 2 + 4 }, `${Math.round(r.tokPerSec).toLocaleString('en-US')}${r === active ? ' …' : ''}`));
  });
  chart.replaceChildren(...kids);
}

/** Loads every backend, then measures decode tok/s round-robin in `slice`-ms turns (fair on a
 *  busy machine: drift hits all backends alike), redrawing the chart after every turn. */
async function bench(best: Backend): Promise<BenchRow[]> {
  const rows: BenchRow[] = [
    ...BACKENDS.map((backend) => ({ kind: 'decode' as const, backend, threads: 1, tokPerSec: null, tokens: 0 })),
    ...THREADS.map((threads) => ({ kind: 'prefill' as const, backend: best, threads, tokPerSec: null, tokens: 0 })),
  ];
  drawChart(rows);
  const { heads, dk, dv, decay } = BENCH;
  const live: { row: BenchRow; s: Session; millis: number }[] = [];
  try {
    for (const row of rows.filter((r) => r.kind === 'decode')) {
      let hla: Hla;
      try {
        hla = await init({ backend: row.backend });
      } catch {
        row.note = 'not supported by this browser';
        continue;
      }
      const s = hla.session('hla2', { heads, dk, dv, decay });
      live.push({ row, s, millis: 0 });
      const r = mulberry32(7);
      const { q, k, v } = s.inputs;
      for (const x of [q, k, v]) for (let i = 0; i < x.length; i++) x[i] = 0.1 * r();
      // Warm up long enough for V8 to tier the kernel up (Liftoff → TurboFan) before timing.
      for (const w0 = performance.now(); performance.now() - w0 < BENCH.warmupMillis;) for (let i = 0; i < 8; i++) s.stepInPlace();
    }
    drawChart(rows);
    while (live.some((b) => b.millis < BENCH.millis)) {
      for (const b of live) {
        if (b.millis >= BENCH.millis) continue;
        const t0 = performance.now();
        let now = t0, n = 0;
        do {
          for (let i = 0; i < 8; i++) b.s.stepInPlace();
          n += 8;
          now = performance.now();
        } while (now - t0 < BENCH.slice);
        b.millis += now - t0;
        b.row.tokens += n;
        b.row.tokPerSec = b.row.tokens / (b.millis / 1000);
        drawChart(rows, b.row);
        await nextFrame();
      }
    }
  } finally {
    for (const b of live) b.s.free();
  }
  await prefill(rows.filter((r) => r.kind === 'prefill'), rows);
  drawChart(rows);
  return rows;
}

/** Prefill through `hla.run` with 1 and 2 workers (split by heads), interleaved call by call. */
async function prefill(mine: BenchRow[], all: BenchRow[]) {
  const { heads, dk, decay } = BENCH;
  const r = mulberry32(11);
  const t = () => ({ data: Float32Array.from({ length: PREFILL_T * heads * dk }, () => 0.1 * r()), shape: [1, PREFILL_T, heads, dk] });
  const [q, k, v] = [t(), t(), t()];
  const pools = await Promise.all(mine.map((row) => init({ backend: row.backend, threads: row.threads })));
  try {
    const millis = mine.map(() => 0);
    for (const hla of pools) for (const w0 = performance.now(); performance.now() - w0 < 2 * BENCH.warmupMillis;) await hla.run('hla2', q, k, v, { decay });
    while (millis.some((m) => m < BENCH.millis)) {
      for (let i = 0; i < mine.length; i++) {
        const t0 = performance.now();
        await pools[i].run('hla2', q, k, v, { decay });
        millis[i] += performance.now() - t0;
        mine[i].tokens += PREFILL_T;
        mine[i].tokPerSec = mine[i].tokens / (millis[i] / 1000);
        drawChart(all, mine[i]);
      }
      await nextFrame();
    }
  } finally {
    for (const hla of pools) hla.close();
  }
}

// ---- wiring -------------------------------------------------------------------------------

function chosenBackend(): Backend | undefined {
  const v = $<HTMLSelectElement>('#backend-select').value;
  return v === 'auto' ? undefined : (v as Backend);
}

async function run() {
  const button = $<HTMLButtonElement>('#run');
  button.disabled = true;
  $('#error').hidden = true;
  delete window.__hlaResult;
  delete window.__hlaError;
  try {
    const t0 = performance.now();
    setStatus('running', 'loading the wasm module…');
    const hla = await init({ backend: chosenBackend() });
    $('#backend').textContent = hla.backend;
    setStatus('running', `streaming ${DEMO.tokens} tokens through a ${hla.backend} session…`);
    const d = await demo(hla);
    setStatus('running', 'benchmarking every backend…');
    const rows = await bench(hla.backend);
    window.__hlaResult = { backend: hla.backend, ...d, crossOriginIsolated, threads: Math.max(...THREADS), bench: rows };
    const measured = rows.filter((r) => r.tokPerSec !== null).length;
    setStatus('done', `Done ✓ ${d.position} tokens streamed on ${hla.backend}, ${measured} of ${rows.length} backends benchmarked, in ${((performance.now() - t0) / 1000).toFixed(1)} s.`);
  } catch (e) {
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    window.__hlaError = msg;
    const err = $('#error');
    err.textContent = msg;
    err.hidden = false;
    setStatus('error', 'Failed (see below).');
  } finally {
    button.disabled = false;
  }
}

/** The in-context-learning tab's run (its own button; errors go to the same #error line). */
let iclStarted = false;
async function runIclTab() {
  iclStarted = true;
  const button = $<HTMLButtonElement>('#icl-run');
  button.disabled = true;
  $('#error').hidden = true;
  delete window.__iclResult;
  delete window.__iclError;
  try {
    const hla = await init({ backend: chosenBackend() });
    $('#backend').textContent = hla.backend;
    window.__iclResult = await runIcl(hla);
  } catch (e) {
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    window.__iclError = msg;
    const err = $('#error');
    err.textContent = msg;
    err.hidden = false;
    $('#icl-status').dataset.state = 'error';
    $('#icl-status').textContent = 'Failed (see below).';
  } finally {
    button.disabled = false;
  }
}

function showTab(name: 'kernels' | 'icl') {
  for (const t of ['kernels', 'icl'] as const) {
    $(`#tab-${t}`).setAttribute('aria-selected', String(t === name));
    $(`#panel-${t}`).hidden = t !== name;
  }
  if (name === 'icl' && !iclStarted) void runIclTab();
}

function setup() {
  const { heads, dk, dv, decay, tokens, seed } = DEMO;
  $('#demo-desc').textContent =
    `${tokens} seeded tokens (mulberry32, seed ${seed}) through hla.session('hla2', { heads: ${heads}, dk: ${dk}, dv: ${dv}, decay: ${decay} }): ` +
    `first outputs of each step, position and state size; then hla.hla2 in chunk mode on the same tokens.`;
  $('#bench-desc').textContent =
    `Decode tok/s of hla2 (heads ${BENCH.heads}, dk = dv = ${BENCH.dk}, batch 1), ~${BENCH.millis / 1000} s per backend in interleaved ${BENCH.slice} ms turns, each backend loaded with init({ backend }); then prefill tok/s of ${PREFILL_T}-token calls through hla.run with 1 and 2 worker threads (init({ threads }), split by heads).`;
  $('#coi').textContent = crossOriginIsolated ? 'yes' : 'no';
  const want = new URLSearchParams(location.search).get('backend');
  if (want && [...BACKENDS, 'auto'].includes(want)) $<HTMLSelectElement>('#backend-select').value = want;
  // Show the backend init() would pick before anything runs.
  init({ backend: chosenBackend() }).then(
    (hla) => ($('#backend').textContent = hla.backend),
    () => ($('#backend').textContent = 'unavailable'),
  );
  $('#backend-select').addEventListener('change', () => {
    init({ backend: chosenBackend() }).then(
      (hla) => ($('#backend').textContent = hla.backend),
      () => ($('#backend').textContent = 'not supported'),
    );
  });
  $('#run').addEventListener('click', run);
  $('#icl-run').addEventListener('click', () => void runIclTab());
  $('#tab-kernels').addEventListener('click', () => showTab('kernels'));
  $('#tab-icl').addEventListener('click', () => showTab('icl'));
  if (new URLSearchParams(location.search).get('tab') === 'icl') showTab('icl');
  drawChart([
    ...BACKENDS.map((backend) => ({ kind: 'decode' as const, backend, threads: 1, tokPerSec: null, tokens: 0, note: 'press Run' })),
    ...THREADS.map((threads) => ({ kind: 'prefill' as const, backend: 'relaxed' as Backend, threads, tokPerSec: null, tokens: 0, note: 'press Run' })),
  ]);
  setStatus('idle', 'Ready: press Run to stream the demo tokens and benchmark the backends.');
}

setup();
