// `npm run bench:runtimes` (and part of `npm run bench:full`): hla2 prefill (B=1, H=8,
// dk=dv=64, T=2048) and decode per flavour in every runtime, each running the same probe
// (bench/runtimes/probe.mjs) from a project with the packed tarball installed: Node 20 (with and
// without --experimental-wasm-relaxed-simd), Node 22/24 (with and without
// --experimental-wasm-revectorize), Deno, Bun, workerd (wrangler dev), Chromium, Firefox ESR.
// Rounds rotate the runtimes' order, so a slow phase of a shared machine hits all alike; each
// figure is the median over rounds of each round's median. Writes <out>/runtimes.json and
// runtimes.svg and prints the README table. Knobs: HLA_BENCH_ROUNDS (3), HLA_BENCH_OUT,
// HLA_BENCH_FROM=<file> (no measuring: the table from rounds bench/runtimes/rounds.sh recorded
// on another machine, e.g. a quiet one with only the runtimes' binaries).
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import puppeteer from 'puppeteer-core';
import { BIN, consumer, freePort, have, root, run, stop, wranglerDev } from '../tests/consumer.ts';

type Flavour = 'relaxed' | 'simd128';
interface Measure { prefill_tok_s: number; decode_us: number }
type Probe = { relaxed: Measure | null; simd128: Measure | null; fused: boolean | null };
interface Contender { name: string; version: string; flags: string; probe: () => Promise<Probe> }

const roundsWanted = Number(process.env.HLA_BENCH_ROUNDS ?? 3);
const outDir = process.env.HLA_BENCH_OUT ?? 'bench/results';
const log = (s: string) => console.error(`[bench:runtimes] ${s}`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const first = async (bin: string, args: string[]) => (await run(bin, args)).stdout.trim().split('\n')[0];

/** Each contender's identity and its per-round probes. */
interface Measured { name: string; version: string; flags: string; probes: Probe[] }
const from = process.env.HLA_BENCH_FROM;
const measured: Measured[] = from ? readRounds(from) : await measureHere();

/** Rounds recorded elsewhere by bench/runtimes/rounds.sh (one JSON line per run). */
function readRounds(file: string): Measured[] {
  const byKey = new Map<string, Measured>();
  for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const { name, version, flags, probe } = JSON.parse(line);
    const key = `${name}|${flags}`;
    if (!byKey.has(key)) byKey.set(key, { name, version, flags, probes: [] });
    byKey.get(key)!.probes.push(probe);
  }
  return [...byKey.values()];
}

async function measureHere(): Promise<Measured[]> {
  const dir = await consumer();
  log(`consumer project ${dir}`);
  const cli = async (bin: string, args: string[]): Promise<Probe> => JSON.parse((await run(bin, [...args, 'bench/probe-cli.mjs'], { cwd: dir, timeout: 300_000 })).stdout);
  
  const contenders: Contender[] = [];
  const node20 = process.execPath;
  const v20 = process.version;
  contenders.push({ name: `Node ${v20.split('.')[0].slice(1)}`, version: v20, flags: '', probe: () => cli(node20, []) });
  contenders.push({ name: `Node ${v20.split('.')[0].slice(1)}`, version: v20, flags: '--experimental-wasm-relaxed-simd', probe: () => cli(node20, ['--experimental-wasm-relaxed-simd']) });
  for (const n of ['node22', 'node24'] as const) {
    if (!have(n)) continue;
    const version = await first(BIN[n], ['--version']);
    contenders.push({ name: `Node ${n.slice(4)}`, version, flags: '', probe: () => cli(BIN[n], []) });
    contenders.push({ name: `Node ${n.slice(4)}`, version, flags: '--experimental-wasm-revectorize', probe: () => cli(BIN[n], ['--experimental-wasm-revectorize']) });
  }
  if (have('deno')) contenders.push({ name: 'Deno', version: (await first(BIN.deno, ['--version'])).split(' ')[1], flags: '--allow-read', probe: () => cli(BIN.deno, ['run', '--allow-read']) });
  if (have('bun')) contenders.push({ name: 'Bun', version: await first(BIN.bun, ['--version']), flags: '', probe: () => cli(BIN.bun, []) });
  
  const cleanups: (() => Promise<unknown>)[] = [];
  if (have('wrangler') && have('node22')) {
    // workerd's clock stands still while code runs: time whole requests, minus an empty one's.
    const port = await freePort();
    const server = await wranglerDev(join(dir, 'bench'), port);
    cleanups.push(() => stop(server));
    const base = `http://127.0.0.1:${port}`;
    const request = async (q: string) => {
      const t0 = performance.now();
      const res = await fetch(`${base}/work?${q}`);
      await res.text();
      return { ok: res.ok, s: (performance.now() - t0) / 1e3 };
    };
    const workerdVersion = readFileSync(join(BIN.wrangler, '../../../@cloudflare/workerd-linux-64/package.json'), 'utf8');
    contenders.push({
      name: 'workerd', version: JSON.parse(workerdVersion).version, flags: 'wrangler dev', probe: async () => {
        const out: Probe = { relaxed: null, simd128: null, fused: null };
        for (const backend of ['relaxed', 'simd128'] as Flavour[]) {
          const per: Record<string, number> = {};
          for (const kind of ['prefill', 'decode']) {
            const q = (n: number) => `backend=${backend}&kind=${kind}&n=${n}`;
            if (!(await request(q(1))).ok) break;
            const w0 = performance.now();
            while (performance.now() - w0 < 1000) await request(q(1));
            const empty: number[] = [], one: number[] = [];
            for (let i = 0; i < 5; i++) {
              empty.push((await request(q(0))).s);
              one.push((await request(q(1))).s);
            }
            per[kind] = median(one) - median(empty);
          }
          if (per.prefill) out[backend] = { prefill_tok_s: 2048 / per.prefill, decode_us: (per.decode / 200) * 1e6 };
        }
        out.fused = out.relaxed ? await (await fetch(`${base}/fused`)).json() : null;
        return out;
      },
    });
  }
  
  const { start } = await import(join(root, 'examples/browser/serve.mjs'));
  const web = await start({ port: 0, root: dir });
  cleanups.push(() => web.close());
  const page = new URL('bench/page.html', web.url).href;
  type PageResult = Probe & { error?: string };
  if (have('chromium')) {
    const browser = await chromium.launch({ executablePath: BIN.chromium, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
    cleanups.push(() => browser.close());
    contenders.push({
      name: 'Chromium', version: browser.version(), flags: '', probe: async () => {
        const p = await browser.newPage();
        try {
          await p.goto(page);
          await p.waitForFunction(() => (window as { __result?: unknown }).__result !== undefined, null, { timeout: 300_000 });
          const r = await p.evaluate(() => (window as unknown as { __result: PageResult }).__result);
          if (r.error) throw new Error(r.error);
          return r;
        } finally {
          await p.close();
        }
      },
    });
  }
  if (have('firefox')) {
    const browser = await puppeteer.launch({ browser: 'firefox', executablePath: BIN.firefox, headless: true, protocolTimeout: 600_000 });
    cleanups.push(() => browser.close());
    contenders.push({
      name: 'Firefox ESR', version: (await browser.version()).replace(/^firefox\//i, ''), flags: '', probe: async () => {
        const p = await browser.newPage();
        try {
          await p.goto(page);
          await p.waitForFunction(() => (window as { __result?: unknown }).__result !== undefined, { timeout: 300_000 });
          const r = await p.evaluate(() => (window as unknown as { __result: PageResult }).__result);
          if (r.error) throw new Error(r.error);
          return r;
        } finally {
          await p.close();
        }
      },
    });
  }
  
  const results: Probe[][] = contenders.map(() => []);
  try {
    for (let r = 0; r < roundsWanted; r++) {
      for (let i = 0; i < contenders.length; i++) {
        const c = (i + r) % contenders.length;
        log(`round ${r + 1}/${roundsWanted}: ${contenders[c].name} ${contenders[c].flags}`);
        results[c].push(await contenders[c].probe());
      }
    }
  } finally {
    for (const f of cleanups.reverse()) await f().catch(() => {});
  }
  return contenders.map((c, i) => ({ name: c.name, version: c.version, flags: c.flags, probes: results[i] }));
}

const summarise = (ps: Probe[], f: Flavour): Measure | null =>
  ps.every((p) => p[f]) ? { prefill_tok_s: median(ps.map((p) => p[f]!.prefill_tok_s)), decode_us: median(ps.map((p) => p[f]!.decode_us)) } : null;
const rows = measured.map((c) => {
  const relaxed = summarise(c.probes, 'relaxed'), simd128 = summarise(c.probes, 'simd128');
  return { runtime: c.name, version: c.version, flags: c.flags, chosen: relaxed ? 'relaxed' : 'simd128', fused: c.probes[0].fused, relaxed, simd128, rounds: c.probes };
});
const rounds = Math.min(...measured.map((c) => c.probes.length));
const base = rows[0][rows[0].chosen as Flavour]!;
const best = (r: (typeof rows)[number]) => r[r.chosen as Flavour]!;

mkdirSync(outDir, { recursive: true });
const shape = { op: 'hla2', B: 1, H: 8, dk: 64, dv: 64, T: 2048, decodeSteps: 200 };
const machine = from ? { recorded: from, note: process.env.HLA_BENCH_MACHINE ?? '' } : { cpu: cpus()[0]?.model, cores: cpus().length };
const name = process.env.HLA_BENCH_NAME ?? 'runtimes';
writeFileSync(join(outDir, `${name}.json`), JSON.stringify({ date: new Date().toISOString(), machine, shape, rounds, rows }, null, 1) + '\n');
writeFileSync(join(outDir, `${name}.svg`), chart(rows.map((r) => ({ label: `${r.runtime}${r.flags && !r.flags.startsWith('--allow') && r.flags !== 'wrangler dev' ? ` ${r.flags.replace('--experimental-wasm-', '+')}` : ''}`, relaxed: r.relaxed?.prefill_tok_s ?? 0, simd128: r.simd128?.prefill_tok_s ?? 0 }))));

const f0 = (x: number) => Math.round(x).toLocaleString('en-US');
console.log(`\n| runtime | version | flags | flavour chosen | relaxed fused | prefill tok/s (relaxed / simd128) | decode µs/step (relaxed / simd128) | prefill vs ${rows[0].runtime} | decode vs ${rows[0].runtime} | chosen prefill, rounds min–max |`);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  const fused = r.fused === null ? 'unsupported' : r.fused ? 'yes' : 'no (= simd128 bits)';
  const pair = (k: keyof Measure, d: (x: number) => string) => `${r.relaxed ? d(r.relaxed[k]) : '—'} / ${r.simd128 ? d(r.simd128[k]) : '—'}`;
  console.log(`| ${r.runtime} | ${r.version} | ${r.flags ? `\`${r.flags}\`` : '—'} | ${r.chosen} | ${fused} | ${pair('prefill_tok_s', f0)} | ${pair('decode_us', (x) => x.toFixed(1))} | ${(best(r).prefill_tok_s / base.prefill_tok_s).toFixed(2)}× | ${(base.decode_us / best(r).decode_us).toFixed(2)}× | ${spread(r)} |`);
}
console.log(`\n${rounds} rounds; wrote ${outDir}/${name}.json and ${name}.svg`);

/** The chosen flavour's prefill tok/s over the rounds, lowest–highest: how noisy the machine was. */
function spread(r: (typeof rows)[number]): string {
  const xs = r.rounds.map((p) => p[r.chosen as Flavour]!.prefill_tok_s);
  return `${f0(Math.min(...xs))}–${f0(Math.max(...xs))}`;
}

/** Grouped horizontal bars: prefill tok/s per runtime, relaxed and simd128. */
function chart(bars: { label: string; relaxed: number; simd128: number }[]): string {
  const max = Math.max(...bars.flatMap((b) => [b.relaxed, b.simd128]));
  const rowH = 30, left = 260, width = 460, top = 40;
  const h = top + bars.length * rowH + 30;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${left + width + 90}" height="${h}" font-family="sans-serif" font-size="12">`,
    `<text x="10" y="20" font-size="14">hla2 prefill tok/s (B=1, H=8, d=64, T=2048) per runtime: relaxed (dark), simd128 (light)</text>`];
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    parts.push(`<text x="${left - 8}" y="${y + 17}" text-anchor="end">${b.label}</text>`);
    for (const [j, v, fill] of [[0, b.relaxed, '#2a6'], [1, b.simd128, '#9d9']] as const) {
      const w = (v / max) * width;
      parts.push(`<rect x="${left}" y="${y + 2 + j * 12}" width="${w.toFixed(1)}" height="11" fill="${fill}"/>`);
      if (v) parts.push(`<text x="${left + w + 4}" y="${y + 12 + j * 12}" font-size="10">${Math.round(v).toLocaleString('en-US')}</text>`);
    }
  });
  parts.push('</svg>');
  return parts.join('\n');
}
