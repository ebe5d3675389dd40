// Every runtime, as a new user meets it: the packed tarball installed into an empty project,
// then in Node 20 / 22 / 24, Deno, Bun, workerd (wrangler dev, default bundling), Chromium and
// Firefox: the quick start, the golden check (examples/runtimes/golden.mjs: per flavour, digests
// of a fixed-seed forward and a session snapshot, compared with this Node's bytes) and the
// edge example (examples/edge/) answering HTTP, each with the command a user would type; in
// Node 22/24, Deno and Bun also the worker pool (examples/runtimes/threads.mjs).
// scripts/ensure-runtimes.sh installs the runtimes (npm test runs it); without them the
// runtime's tests are skipped, except under CI.
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { chromium } from 'playwright-core';
import puppeteer from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init, type Hla } from '../dist/index.mjs';
import { DEFAULT_CONFIG } from '../examples/edge/config.ts';
import { BIN, consumer, freePort, have, run, serve as start, stop as end, wranglerDev } from './consumer.ts';
// @ts-expect-error plain JS module without declarations
import { golden } from '../examples/runtimes/golden.mjs';

const inCI = !!process.env.CI;

type Golden = Record<'relaxed' | 'simd128' | 'scalar', { backend?: string; forward?: string; snapshot?: string; sample?: number[]; error?: string }>;

let dir: string; // the consumer project
let reference: Golden; // this Node's (Node 20 in CI, relaxed through the V8 flag vitest passes)
let hla: Hla;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  dir = await consumer();
  reference = await golden();
  hla = await init();
}, 180_000);

afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A command in the consumer project; its stdout. */
async function cmd(bin: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await run(bin, args, { cwd: dir, env: { ...process.env, ...env, NO_COLOR: '1' }, timeout: 120_000, maxBuffer: 1 << 24 });
  return stdout;
}

async function serve(bin: string, args: string[], url: string, env: Record<string, string> = {}): Promise<ChildProcess> {
  const child = await start(bin, args, url, { cwd: dir, env });
  children.add(child);
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  await end(child);
  children.delete(child);
}

const row = (n: number, seed: number) => Array.from({ length: n }, (_, i) => Math.fround(Math.sin(seed * 31 + i)));

/** Creates a conversation, steps it twice and checks the outputs against a local session; its id. */
async function checkEdge(base: string): Promise<string> {
  const created = await fetch(`${base}/v1/conversations`, { method: 'POST' });
  expect(created.status).toBe(201);
  const { id } = await created.json();
  const { op, ...opts } = DEFAULT_CONFIG;
  const local = hla.session(op, opts);
  const nq = local.heads * local.dk, nv = local.valueHeads * local.dv;
  try {
    for (let t = 0; t < 2; t++) {
      const q = row(nq, t), k = row(nq, t + 10), v = row(nv, t + 20);
      const res = await fetch(`${base}/v1/conversations/${id}/step`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ q: [q], k: [k], v: [v] }) });
      const body = await res.json();
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(body.position).toBe(t + 1);
      const want = local.step(Float32Array.from(q), Float32Array.from(k), Float32Array.from(v));
      // The server may run another flavour than this process (relaxed vs simd128): FMA rounding only.
      for (let i = 0; i < nv; i++) expect(Math.abs(body.o[0][i] - want[i])).toBeLessThanOrEqual(1e-5);
    }
    const bad = await fetch(`${base}/v1/conversations/?x/step`, { method: 'POST' });
    expect(bad.status).toBe(400);
    return id;
  } finally {
    local.free();
  }
}

/**
 * simd128 and scalar: the same bytes as this Node's. relaxed: the same bytes as this Node's
 * (fused multiply-add, every V8) or as simd128's (the engine runs relaxed madd unfused).
 */
function checkGolden(got: Golden): 'fused' | 'unfused' | 'unsupported' {
  for (const f of ['simd128', 'scalar'] as const) {
    expect(got[f].error, f).toBeUndefined();
    expect({ f, forward: got[f].forward, snapshot: got[f].snapshot }).toEqual({ f, forward: reference[f].forward, snapshot: reference[f].snapshot });
  }
  const r = got.relaxed;
  if (r.error) return 'unsupported';
  // Fused or not, relaxed differs from simd128 by FMA rounding only (README "Runtimes").
  const scale = Math.max(...got.simd128.sample!.map(Math.abs));
  for (let i = 0; i < r.sample!.length; i++) expect(Math.abs(r.sample![i] - got.simd128.sample![i])).toBeLessThanOrEqual(1e-6 * scale);
  if (r.forward === reference.relaxed.forward && r.snapshot === reference.relaxed.snapshot) return 'fused';
  expect({ forward: r.forward, snapshot: r.snapshot }).toEqual({ forward: got.simd128.forward, snapshot: got.simd128.snapshot });
  return 'unfused';
}

/** What each runtime did, for the README table (printed at the end). */
const seen: Record<string, { relaxed: string }> = {};

describe.each([
  ['node22', 'Node 22'],
  ['node24', 'Node 24'],
] as const)('%s', (bin, name) => {
  it.runIf(have(bin) || inCI)(`${name}: quick start, golden, edge server (node edge/server.ts, types stripped)`, async () => {
    const quick = await cmd(BIN[bin], ['quickstart/node.mjs']);
    expect(quick).toMatch(/^relaxed \[ 1, 128, 4, 64 \]/);
    seen[name] = { relaxed: checkGolden(JSON.parse(await cmd(BIN[bin], ['runtimes/golden-cli.mjs']))) };
    expect(seen[name].relaxed).toBe('fused');
    expect(await cmd(BIN[bin], ['runtimes/threads.mjs'])).toBe('relaxed 2 true\n');
    const port = await freePort();
    const server = await serve(BIN[bin], ['edge/server.ts'], `http://127.0.0.1:${port}/`, { PORT: String(port) });
    try {
      await checkEdge(`http://127.0.0.1:${port}`);
    } finally {
      await stop(server);
    }
  });
});

it('Node 20 (this process): quick start and golden; relaxed only with --experimental-wasm-relaxed-simd', async () => {
  if (!process.versions.node.startsWith('20.')) return; // CI's Node; elsewhere Node 22/24 above cover it
  expect(await cmd(process.execPath, ['quickstart/node.mjs'])).toMatch(/^simd128 \[ 1, 128, 4, 64 \]/);
  const plain = JSON.parse(await cmd(process.execPath, ['runtimes/golden-cli.mjs'])) as Golden;
  expect(checkGolden(plain)).toBe('unsupported');
  expect(checkGolden(JSON.parse(await cmd(process.execPath, ['--experimental-wasm-relaxed-simd', 'runtimes/golden-cli.mjs'])))).toBe('fused');
});

it.runIf(have('deno') || inCI)('Deno: quick start, golden, edge app (deno serve --allow-read)', async () => {
  const quick = await cmd(BIN.deno, ['run', '--allow-read', 'quickstart/node.mjs']);
  expect(quick).toMatch(/^relaxed \[ 1, 128, 4, 64 \]/);
  seen.Deno = { relaxed: checkGolden(JSON.parse(await cmd(BIN.deno, ['run', '--allow-read', 'runtimes/golden-cli.mjs']))) };
  expect(seen.Deno.relaxed).toBe('fused');
  expect(await cmd(BIN.deno, ['run', '--allow-read', 'runtimes/threads.mjs'])).toBe('relaxed 2 true\n'); // module Workers
  const port = await freePort();
  const server = await serve(BIN.deno, ['serve', '--allow-read', '--host', '127.0.0.1', '--port', String(port), 'edge/app.ts'], `http://127.0.0.1:${port}/`);
  try {
    await checkEdge(`http://127.0.0.1:${port}`);
  } finally {
    await stop(server);
  }
});

it.runIf(have('bun') || inCI)('Bun: quick start, golden, edge app (bun edge/app.ts)', async () => {
  expect(await cmd(BIN.bun, ['quickstart/node.mjs'])).toMatch(/^relaxed \[ 1, 128, 4, 64 \]/);
  seen.Bun = { relaxed: checkGolden(JSON.parse(await cmd(BIN.bun, ['runtimes/golden-cli.mjs']))) };
  expect(seen.Bun.relaxed).toBe('unfused'); // JavaScriptCore: relaxed madd as mul + add (README "Runtimes")
  expect(await cmd(BIN.bun, ['runtimes/threads.mjs'])).toBe('relaxed 2 true\n'); // worker_threads
  const port = await freePort();
  const server = await serve(BIN.bun, ['edge/app.ts'], `http://127.0.0.1:${port}/`, { PORT: String(port) });
  try {
    await checkEdge(`http://127.0.0.1:${port}`);
  } finally {
    await stop(server);
  }
});

// Wrangler itself needs Node ≥ 22.12: it runs on the Node 22 above.
it.runIf((have('wrangler') && have('node22')) || inCI)("workerd: wrangler dev, default bundling of import { init } from 'hla-wasm'; golden and edge app", async () => {
  const port = await freePort();
  let id = '';
  const server = await wranglerDev(`${dir}/runtimes`, port);
  children.add(server);
  try {
    const res = await fetch(`http://127.0.0.1:${port}/golden`);
    const text = await res.text();
    expect(res.status, text).toBe(200);
    seen.workerd = { relaxed: checkGolden(JSON.parse(text)) };
    expect(seen.workerd.relaxed).toBe('fused');
    id = await checkEdge(`http://127.0.0.1:${port}`);
  } finally {
    await stop(server);
  }
  // The snapshots were in KV (examples/edge/kv-store.ts), not the isolate: a new wrangler dev finds them.
  const again = await wranglerDev(`${dir}/runtimes`, port);
  children.add(again);
  try {
    const res = await fetch(`http://127.0.0.1:${port}/v1/conversations/${id}`);
    expect(await res.json()).toEqual({ id, position: 2 });
  } finally {
    await stop(again);
  }
});

describe('browsers (the page: golden check + the edge quick start, bundled)', () => {
  let server: { url: string; close: () => Promise<void> };
  beforeAll(async () => {
    const { start } = await import(new URL('../examples/browser/serve.mjs', import.meta.url).href);
    server = await start({ port: 0, root: dir });
  });
  afterAll(() => server?.close());

  type PageResult = { golden?: Golden; edge?: string[]; ua?: string; error?: string };
  function checkPage(name: string, r: PageResult): void {
    expect(r.error, JSON.stringify(r)).toBeUndefined();
    seen[name] = { relaxed: checkGolden(r.golden!) };
    expect(r.edge).toHaveLength(1);
    expect(r.edge![0]).toMatch(/^200 position 1 o\[0\]\[0\.\.2\]/);
  }

  it.runIf(have('chromium') || inCI)('Chromium (playwright-core)', async () => {
    const browser = await chromium.launch({ executablePath: BIN.chromium, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
    try {
      const page = await browser.newPage();
      await page.goto(new URL('runtimes/page.html', server.url).href);
      await page.waitForFunction(() => (window as { __result?: unknown }).__result !== undefined, null, { timeout: 60_000 });
      checkPage('Chromium', await page.evaluate(() => (window as unknown as { __result: PageResult }).__result));
      expect(seen.Chromium.relaxed).toBe('fused');
    } finally {
      await browser.close();
    }
  });

  it.runIf(have('firefox') || inCI)('Firefox ESR (puppeteer-core, WebDriver BiDi)', async () => {
    const browser = await puppeteer.launch({ browser: 'firefox', executablePath: BIN.firefox, headless: true, args: ['--no-remote'] });
    try {
      const page = await browser.newPage();
      await page.goto(new URL('runtimes/page.html', server.url).href);
      await page.waitForFunction(() => (window as { __result?: unknown }).__result !== undefined, { timeout: 60_000 });
      checkPage('Firefox', await page.evaluate(() => (window as unknown as { __result: PageResult }).__result));
      expect(seen.Firefox.relaxed).toBe('unsupported'); // ESR 140: relaxed SIMD is off by default; init() picks simd128
    } finally {
      await browser.close();
    }
  });
});

afterAll(() => console.log(`[runtimes] relaxed flavour per runtime: ${JSON.stringify(seen)}`));
