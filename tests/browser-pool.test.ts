// The worker pool in headless Chromium, both transports: served with COOP/COEP the page is
// cross-origin isolated and the pool shares memory ('shared'); served without, it has no
// SharedArrayBuffer and the pool copies ('copy'). Either way `hla.run` equals the synchronous
// call (bit for bit by heads, every operator; within 1e-4 along T), and close() rejects a
// pending run.
// Needs /usr/bin/chromium (scripts/setup.sh --chromium): skipped without it, except under CI.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join, normalize } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHROMIUM = '/usr/bin/chromium';
// The testing bundle: its test knob lets the page split a short sequence along T.
const dist = new URL('../target/testing/dist/', import.meta.url).pathname;
const haveChromium = existsSync(CHROMIUM);

/** dist/ on 127.0.0.1, with or without the two headers that make a page cross-origin isolated. */
function serve(isolated: boolean): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const headers: Record<string, string> = isolated ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } : {};
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/') {
      res.writeHead(200, { ...headers, 'Content-Type': 'text/html' });
      return res.end('<!doctype html><title>pool</title>');
    }
    const file = normalize(join(dist, path));
    if (!file.startsWith(dist) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, headers);
      return res.end();
    }
    const type = file.endsWith('.wasm') ? 'application/wasm' : 'text/javascript';
    res.writeHead(200, { ...headers, 'Content-Type': type });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const a = server.address() as { port: number };
    resolve({ server, url: `http://127.0.0.1:${a.port}/` });
  }));
}

interface PageReport {
  isolated: boolean;
  transport: string | null;
  threads: number;
  byHeads: Record<string, boolean>;
  alongT: Record<string, number>;
  sharedTensor: boolean;
  tensorEqual: boolean;
  closed: string;
}


/** The page's side (plain JS: it runs as is in Chromium). */
const PAGE = `
  const { init } = await import(location.origin + '/index.browser.mjs');
  const rand = (n, seed) => {
    let s = seed >>> 0;
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 0.5;
    return x;
  };
  const t = (shape, seed) => ({ data: rand(shape.reduce((a, b) => a * b, 1), seed), shape });
  const same = (a, b) => a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
  const relErr = (a, b) => {
    let m = 1, e = 0;
    b.forEach((x, i) => { m = Math.max(m, Math.abs(x)); e = Math.max(e, Math.abs(a[i] - x)); });
    return e / m;
  };
  const single = await init();
  const pool = await init({ threads: 3 });
  const byHeads = {}, alongT = {};
  const [q, k, v] = [t([2, 40, 5, 8], 1), t([2, 40, 5, 8], 2), t([2, 40, 5, 8], 3)];
  for (const op of ['la1', 'hla2', 'ahla', 'hla3']) {
    const opts = { decay: 0.95, normalize: true, outputFinalState: true };
    const a = single[op](q, k, v, opts), b = await pool.run(op, q, k, v, opts);
    byHeads[op] = same(a.o.data, b.o.data) && same(a.finalState.toFloat32Array(), b.finalState.toFloat32Array());
  }
  // The operators with more per-token inputs: gates per query-key head (gk), per value head
  // (beta, g, correction), and sse's router, which every job reads whole.
  const neg = (x) => ({ data: x.data.map((y) => -y), shape: x.shape });
  const gk = neg(t([2, 40, 5, 8], 7)), beta = t([2, 40, 5], 8);
  const sseInputs = { q1: q, k1: k, q2: k, k2: q, v, router: t([2, 40, 3], 9), gk1: gk, gk2: neg(t([2, 40, 5, 8], 10)) };
  const calls = { gla: [q, k, v, { gk }], deltaRule: [q, k, v, { beta, g: neg(beta) }], sse: [sseInputs, { base: 'gla', topK: 2 }], rla: [q, k, v, { correction: beta }] };
  for (const [op, args] of Object.entries(calls)) {
    const full = [...args.slice(0, -1), { ...args[args.length - 1], outputFinalState: true }];
    const a = single[op](...full), b = await pool.run(op, ...full);
    byHeads[op] = same(a.o.data, b.o.data) && same(a.finalState.toFloat32Array(), b.finalState.toFloat32Array());
  }
  globalThis[Symbol.for('hla-wasm.splitMinT')] = 256;
  const [q1, k1, v1] = [t([1, 700, 1, 8], 4), t([1, 700, 1, 8], 5), t([1, 700, 1, 8], 6)];
  for (const op of ['la1', 'hla2']) alongT[op] = relErr((await pool.run(op, q1, k1, v1, { decay: 0.99 })).o.data, single[op](q1, k1, v1, { decay: 0.99 }).o.data);
  const st = pool.tensor([2, 40, 5, 8]);
  st.data.set(q.data);
  const tensorEqual = same((await pool.run('hla2', st, k, v)).o.data, single.hla2(q, k, v).o.data);
  const transport = pool.transport;
  const pending = pool.run('hla2', q, k, v);
  pool.close();
  const closed = await pending.then(() => 'resolved', (e) => e.message);
  return {
    isolated: crossOriginIsolated, transport, threads: 3, byHeads, alongT,
    sharedTensor: typeof SharedArrayBuffer === 'function' && st.data.buffer instanceof SharedArrayBuffer, tensorEqual, closed,
  };
`;

describe.runIf(haveChromium || !!process.env.CI)('the pool in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  }, 60_000);
  afterAll(async () => browser?.close());

  it.each([true, false])('cross-origin isolated: %s', async (isolated) => {
    const { server, url } = await serve(isolated);
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(url);
      const report = (await page.evaluate(`(async () => { ${PAGE} })()`)) as PageReport;
      expect(errors).toEqual([]);
      expect(report.isolated).toBe(isolated);
      expect(report.transport).toBe(isolated ? 'shared' : 'copy');
      expect(report.sharedTensor).toBe(isolated);
      expect(report.byHeads).toEqual({ la1: true, hla2: true, ahla: true, hla3: true, gla: true, deltaRule: true, sse: true, rla: true });
      for (const e of Object.values(report.alongT)) expect(e).toBeLessThanOrEqual(1e-4);
      expect(report.tensorEqual).toBe(true);
      expect(report.closed).toMatch(/worker pool was closed/);
      await page.close();
    } finally {
      server.close();
    }
  }, 120_000);
});
