// Beyond one server: two edge server processes (examples/edge/server.ts) sharing one Redis
// (examples/edge/redis-store.ts, compare-and-set on the position). 20 conversations are stepped
// through both servers at once, one server is killed (SIGKILL) mid-round and restarted: every
// acknowledged step must be kept, at the position it was acknowledged at, and every
// conversation must equal one local session stepped with the same tokens in that order.
// Needs Debian's redis-server (scripts/ensure-runtimes.sh): skipped without it, except under CI.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { init, type Hla } from '../dist/index.mjs';
import { DEFAULT_CONFIG } from '../examples/edge/config.ts';
import { RedisStore } from '../examples/edge/redis-store.ts';

const REDIS = '/usr/bin/redis-server';
const root = new URL('..', import.meta.url).pathname;
const runIt = existsSync(REDIS) || !!process.env.CI;
// The servers run this Node with this process's flags, so they pick the same flavour as `hla`.
const nodeFlags = process.versions.node.startsWith('20.') ? ['--experimental-wasm-relaxed-simd'] : [];

const children = new Set<ChildProcess>();
let redisUrl: string;
let store: RedisStore;
let serverJs: string;
let hla: Hla;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function start(bin: string, args: string[], env: Record<string, string>, ready: RegExp): Promise<ChildProcess> {
  const child = spawn(bin, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return new Promise((resolve, reject) => {
    let log = '';
    const on = (d: Buffer) => {
      log += d;
      if (ready.test(log)) resolve(child);
    };
    child.stdout!.on('data', on);
    child.stderr!.on('data', on);
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}:\n${log}`)));
  });
}

const server = (port: number) => start(process.execPath, [...nodeFlags, serverJs], { PORT: String(port), HLA_EDGE_REDIS: redisUrl }, /listening on/);

beforeAll(async () => {
  if (!existsSync(REDIS)) throw new Error(`${REDIS} is missing under CI: run scripts/ensure-runtimes.sh`);
  const port = await freePort();
  await start(REDIS, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {}, /Ready to accept connections/);
  redisUrl = `redis://127.0.0.1:${port}`;
  store = await RedisStore.connect(redisUrl);
  // Bundled once (Node 20 runs no TypeScript); hla-wasm and ioredis resolve from this package.
  mkdirSync(join(root, 'target/edge-redis'), { recursive: true });
  serverJs = join(root, 'target/edge-redis/server.mjs');
  await build({ entryPoints: [join(root, 'examples/edge/server.ts')], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: serverJs, logLevel: 'warning' });
  hla = await init();
}, 60_000);

afterAll(async () => {
  await store?.close();
  for (const c of children) c.kill('SIGKILL');
});

const ROUNDS = 6, CONVERSATIONS = 20;
interface Token { q: number[]; k: number[]; v: number[] }
interface Sent { token: Token; acked?: { position: number; o: number[] } }

it.runIf(runIt)('two servers, one Redis, one server killed and restarted: every acknowledged step kept, outputs ≡ one local session', async () => {
  const ports = [await freePort(), await freePort()];
  const servers = [await server(ports[0]), await server(ports[1])];
  const base = (i: number) => `http://127.0.0.1:${ports[i]}`;
  const { op, ...opts } = DEFAULT_CONFIG;
  const probe = hla.session(op, opts);
  const nq = probe.heads * probe.dk, nv = probe.valueHeads * probe.dv;
  probe.free();
  let seed = 1;
  const rows = (n: number) => Array.from({ length: n }, () => Math.fround(Math.sin(seed++ * 12.9898) * 0.5));

  const ids: string[] = [];
  for (let c = 0; c < CONVERSATIONS; c++) {
    const res = await fetch(`${base(c % 2)}/v1/conversations`, { method: 'POST' });
    expect(res.status).toBe(201);
    ids.push((await res.json()).id);
  }
  const sent: Sent[][] = ids.map(() => []);
  const step = async (c: number, via: number): Promise<void> => {
    const s: Sent = { token: { q: rows(nq), k: rows(nq), v: rows(nv) } };
    sent[c].push(s);
    try {
      const res = await fetch(`${base(via)}/v1/conversations/${ids[c]}/step`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ q: [s.token.q], k: [s.token.k], v: [s.token.v] }),
      });
      if (res.status !== 200) throw new Error(`status ${res.status}: ${await res.text()}`);
      const body = await res.json();
      s.acked = { position: body.position, o: body.o[0] };
    } catch (e) {
      if (via !== 0 || killed !== 'during') throw e; // only the killed server's requests may fail
    }
  };

  let killed: 'no' | 'during' | 'restarted' = 'no';
  for (let round = 0; round < ROUNDS; round++) {
    // Every conversation gets two concurrent steps, one through each server.
    const inFlight = ids.flatMap((_, c) => [step(c, (c + round) % 2), step(c, (c + round + 1) % 2)]);
    if (round === 2) {
      await new Promise((r) => setTimeout(r, 15));
      killed = 'during';
      servers[0].kill('SIGKILL');
    }
    await Promise.all(inFlight);
    if (round === 2) {
      servers[0] = await server(ports[0]);
      killed = 'restarted';
    }
  }

  let lost = 0;
  for (let c = 0; c < CONVERSATIONS; c++) {
    const stored = (await store.get(ids[c]))!;
    const restored = hla.restore(stored, { op });
    const final = restored.position;
    restored.free();
    const acked = sent[c].filter((s) => s.acked);
    const unacked = sent[c].filter((s) => !s.acked);
    lost += unacked.length;
    const at = new Map(acked.map((s) => [s.acked!.position, s]));
    expect(at.size, `conversation ${c}: two acknowledgements at one position`).toBe(acked.length);
    expect(final).toBeGreaterThanOrEqual(acked.length);
    for (const p of at.keys()) expect(p).toBeLessThanOrEqual(final);
    // Positions nobody acknowledged hold steps whose server died before answering: find which.
    const gaps = Array.from({ length: final }, (_, i) => i + 1).filter((p) => !at.has(p));
    expect(gaps.length).toBeLessThanOrEqual(unacked.length);
    const replay = (fill: Sent[]): { bytes: Uint8Array; outputs: Map<number, number[]> } => {
      const s = hla.session(op, opts);
      const outputs = new Map<number, number[]>();
      let g = 0;
      for (let p = 1; p <= final; p++) {
        const t = (at.get(p) ?? fill[g++]).token;
        outputs.set(p, Array.from(s.step(Float32Array.from(t.q), Float32Array.from(t.k), Float32Array.from(t.v))));
      }
      const bytes = s.snapshot();
      s.free();
      return { bytes, outputs };
    };
    const fills = arrangements(unacked, gaps.length).map(replay).filter((r) => Buffer.compare(Buffer.from(r.bytes), Buffer.from(stored)) === 0);
    expect(fills.length, `conversation ${c}: no order of its steps reproduces the stored snapshot`).toBeGreaterThan(0);
    for (const [p, s] of at) expect(s.acked!.o, `conversation ${c} position ${p}`).toEqual(fills[0].outputs.get(p));
  }
  console.log(`[redis] ${CONVERSATIONS} conversations × ${2 * ROUNDS} steps; ${lost} requests to the killed server unanswered`);
}, 120_000);

/** Every ordered choice of `n` distinct items. */
function arrangements<T>(items: T[], n: number): T[][] {
  if (n === 0) return [[]];
  return items.flatMap((x, i) => arrangements([...items.slice(0, i), ...items.slice(i + 1)], n - 1).map((rest) => [x, ...rest]));
}
