// The browser example end to end: build examples/browser/, serve it cross-origin isolated on
// 127.0.0.1, drive Debian's Chromium headless through playwright-core, click Run, and check
// the page's outputs against the same computation in Node on the same seeded inputs.
// Needs /usr/bin/chromium (scripts/setup.sh --chromium installs it): skipped without it,
// except under CI, where a missing browser is a failure.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, demoInputs } from '../examples/browser/seeded.ts';
import type { HlaResult } from '../examples/browser/main.ts';

const CHROMIUM = '/usr/bin/chromium';
const root = new URL('..', import.meta.url).pathname;
const haveChromium = existsSync(CHROMIUM);
const inCI = !!process.env.CI;

/** What the page puts on `window.__hlaResult`. */
type PageResult = HlaResult;

if (!haveChromium && !inCI) {
  console.warn(`[browser.test] SKIPPED: ${CHROMIUM} not found. Install it with \`bash scripts/setup.sh --chromium\` (apt-get install chromium).`);
}

describe.runIf(haveChromium || inCI)('browser example (headless Chromium)', () => {
  let browser: Browser | undefined;
  let server: { url: string; close: () => Promise<void> } | undefined;
  let page: Page;
  let result: PageResult;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (!haveChromium) throw new Error(`${CHROMIUM} is missing under CI: run scripts/setup.sh --chromium before the tests`);
    // Plain-JS scripts of the example (no type declarations): imported by URL.
    const example = (f: string) => import(new URL(`../examples/browser/${f}`, import.meta.url).href);
    const { build } = await example('build.mjs');
    const { start } = await example('serve.mjs');
    await build({ quiet: true });
    server = (await start({ port: 0 })) as { url: string; close: () => Promise<void> };
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--disable-quic'],
    });
    page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`); });
    page.on('requestfailed', (r) => pageErrors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));

    await page.goto(server.url, { waitUntil: 'load' });
    await page.locator('#status[data-state="idle"]').waitFor({ timeout: 10_000 });
    await page.click('#run');
    await page.locator('#status[data-state="done"], #status[data-state="error"]').waitFor({ timeout: 60_000 });
    const error = await page.evaluate(() => (window as { __hlaError?: string }).__hlaError);
    if (error) throw new Error(`the page reported: ${error}\n${pageErrors.join('\n')}`);
    result = await page.evaluate(() => (window as unknown as { __hlaResult: PageResult }).__hlaResult);

    mkdirSync(join(root, 'test-results'), { recursive: true });
    await page.screenshot({ path: join(root, 'test-results/browser.png'), fullPage: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('loads the package as a module and shows the backend it got', async () => {
    expect(pageErrors).toEqual([]);
    expect(['relaxed', 'simd128', 'scalar']).toContain(result.backend);
    expect((await page.textContent('#backend'))?.trim()).toBe(result.backend);
    // The server's COOP/COEP headers make the page cross-origin isolated (ready for threads).
    expect(result.crossOriginIsolated).toBe(true);
    expect(result.threads).toBe(2);
    expect((await page.textContent('#threads'))?.replace(/\s+/g, ' ').trim()).toBe('threads: 1, 2');
  });

  it('streams the seeded tokens and matches the same run in Node', async () => {
    const { init } = await import('../dist/index.mjs');
    // Same backend as the page when Node supports it (vitest enables relaxed SIMD on Node 20);
    // otherwise the best Node has, which the tolerance covers.
    const hla = await init({ backend: result.backend }).catch(() => init());
    const inp = demoInputs(DEMO);
    const { heads, dk, dv, decay, tokens } = DEMO;
    const s = hla.session('hla2', { heads, dk, dv, decay });
    const ref: number[] = [];
    try {
      for (let t = 0; t < tokens; t++) ref.push(...s.step(inp.q[t], inp.k[t], inp.v[t]));
      expect(result.position).toBe(s.position);
      expect(result.stateBytes).toBe(s.stateBytes);
    } finally {
      s.free();
    }
    const refFunctional = Array.from(hla.hla2(inp.tensors.q, inp.tensors.k, inp.tensors.v, { decay, mode: 'chunk', chunkSize: 8 }).o.data);

    expect(result.tokens).toBe(tokens);
    expect(result.outputs).toHaveLength(tokens * heads * dv);
    expect(result.functional).toHaveLength(tokens * heads * dv);
    const close = (got: number[], want: number[], what: string) => {
      const tol = 1e-4 * Math.max(1, ...want.map(Math.abs));
      let worst = 0, at = -1;
      got.forEach((x, i) => {
        const d = Math.abs(x - want[i]);
        if (!(d <= worst)) { worst = d; at = i; }
      });
      expect(worst, `${what}: max |browser − node| = ${worst} at ${at} (${hla.backend} in Node, ${result.backend} in the page), tolerance ${tol}`).toBeLessThanOrEqual(tol);
    };
    close(result.outputs, ref, 'session.step outputs');
    close(result.functional, refFunctional, 'hla.hla2 outputs');
    // And the page's own consistency check: streamed ≡ chunk-parallel.
    expect(result.maxAbsDiff).toBeLessThanOrEqual(1e-4 * Math.max(1, ...ref.map(Math.abs)));
    // The table shows the first numbers of the first token as in Node.
    const first = await page.locator('#tokens tbody tr').first().locator('td').nth(1).textContent();
    expect(Number(first)).toBeCloseTo(ref[0], 3);
  });

  it('the README quick start page runs (examples/browser/quickstart.html)', async () => {
    const qs = await browser!.newPage();
    try {
      await qs.goto(new URL("quickstart.html", server!.url).href, { waitUntil: 'load' });
      await qs.waitForFunction(() => (window as { __quickstart?: unknown }).__quickstart, undefined, { timeout: 30_000 });
      const r = await qs.evaluate(() => (window as unknown as { __quickstart: { backend: string; position: number; o0: number; stateBytes: number } }).__quickstart);
      expect(['relaxed', 'simd128', 'scalar']).toContain(r.backend);
      expect(r.position).toBe(8);
      expect(Number.isFinite(r.o0) && r.o0 !== 0).toBe(true);
      expect(r.stateBytes).toBe(4 * 2 * (16 * 16 + 16 + 16 * 16));
    } finally {
      await qs.close();
    }
  });

  it('a session snapshot taken in Node restores in the browser and continues identically', async () => {
    const { init } = await import('../dist/index.mjs');
    const hla = await init({ backend: 'simd128' });
    const tok = (t: number, n: number, salt: number) => Array.from({ length: n }, (_, i) => Math.sin(0.37 * t + 0.11 * i + salt));
    const s = hla.session('hla3', { heads: 2, dk: 8, dv: 4, decay: 0.9 });
    for (let t = 0; t < 5; t++) s.step(Float32Array.from(tok(t, 16, 0)), Float32Array.from(tok(t, 16, 1)), Float32Array.from(tok(t, 8, 2)));
    const bytes = Array.from(s.snapshot());
    const want = Array.from(s.step(Float32Array.from(tok(5, 16, 0)), Float32Array.from(tok(5, 16, 1)), Float32Array.from(tok(5, 8, 2))));
    s.free();
    const p = await browser!.newPage();
    try {
      await p.goto(new URL('quickstart.html', server!.url).href, { waitUntil: 'load' });
      // A string, not a function: vitest would rewrite a dynamic import() inside this file.
      const args = JSON.stringify({ bytes, q: tok(5, 16, 0), k: tok(5, 16, 1), v: tok(5, 8, 2) });
      const got = (await p.evaluate(`(async () => {
        const { bytes, q, k, v } = ${args};
        const { init } = await import(new URL('./dist/index.browser.mjs', location.href).href);
        const h = await init({ backend: 'simd128' });
        const r = h.restore(Uint8Array.from(bytes), { op: 'hla3' });
        const out = Array.from(r.step(Float32Array.from(q), Float32Array.from(k), Float32Array.from(v)));
        const position = r.position;
        r.free();
        return { out, position };
      })()`)) as { out: number[]; position: number };
      expect(got.position).toBe(6);
      expect(got.out).toEqual(want);
    } finally {
      await p.close();
    }
  });

  it('benchmarked decode on every backend the browser supports, and prefill with 1 and 2 worker threads', () => {
    const names = result.bench.map((r) => `${r.kind}/${r.backend}/${r.threads}`);
    expect(names).toEqual(['decode/relaxed/1', 'decode/simd128/1', 'decode/scalar/1', `prefill/${result.backend}/1`, `prefill/${result.backend}/2`]);
    for (const r of result.bench.filter((x) => x.kind === 'prefill')) expect(r.tokPerSec).toBeGreaterThan(0);
    for (const r of result.bench) {
      if (r.tokPerSec === null) expect(r.note).toMatch(/not supported/);
      else expect(r.tokPerSec).toBeGreaterThan(0);
    }
    // The backend the page picked is supported, so it was measured.
    expect(result.bench.find((r) => r.backend === result.backend)?.tokPerSec).toBeGreaterThan(0);
    expect(existsSync(join(root, 'test-results/browser.png'))).toBe(true);
  });
});
