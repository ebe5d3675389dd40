// examples/edge: real HTTP on loopback against the fetch-style handler with a FileStore.
// Outputs must equal one uninterrupted session; concurrent steps on one id must all apply, in
// the order the server admitted them; client mistakes are 4xx JSON and never touch stored bytes.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init, type Hla, type Session } from '../dist/index.mjs';
import { createHandler, type EdgeConfig } from '../examples/edge/handler.ts';
import { start } from '../examples/edge/server.ts';
import { FileStore } from '../examples/edge/file-store.ts';
import { MemoryStore, type SnapshotStore } from '../examples/edge/store.ts';
import { relErr, rng } from './helpers.js';

const CONFIG: EdgeConfig = { op: 'hla2', heads: 2, valueHeads: 4, dk: 4, dv: 3, decay: 0.95, ridge: 0.1 };
const NQ = 2 * 4, NV = 4 * 3; // B·H·dk, B·HV·dv
const MAX_BODY = 32 * 1024;

let hla: Hla;
let server: Awaited<ReturnType<typeof start>>;
let dir: string;
const serverErrors: unknown[] = [];

beforeAll(async () => {
  hla = await init();
  dir = await mkdtemp(join(tmpdir(), 'hla-edge-test-'));
  server = await start({ hla, dir, config: CONFIG, maxBodyBytes: MAX_BODY, onError: (e) => serverErrors.push(e) });
  expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
});

afterAll(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Tokens { q: number[][]; k: number[][]; v: number[][] }

/** n tokens of float32-exact values (so the JSON round trip is lossless). */
function tokens(n: number, seed: number): Tokens {
  const r = rng(seed);
  const row = (len: number) => Array.from({ length: len }, () => Math.fround(r()));
  const t: Tokens = { q: [], k: [], v: [] };
  for (let i = 0; i < n; i++) {
    t.q.push(row(NQ));
    t.k.push(row(NQ));
    t.v.push(row(NV));
  }
  return t;
}

function slice(t: Tokens, idx: number[]): Tokens {
  return { q: idx.map((i) => t.q[i]), k: idx.map((i) => t.k[i]), v: idx.map((i) => t.v[i]) };
}

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

/** The uninterrupted reference: one session stepping every token. */
function reference(): Session {
  const { op, ...opts } = CONFIG;
  return hla.session(op, opts);
}

function refStep(s: Session, t: Tokens, i: number): number[] {
  return Array.from(s.step(Float32Array.from(t.q[i]), Float32Array.from(t.k[i]), Float32Array.from(t.v[i])));
}

function expectClose(actual: number[][], expected: number[][]): void {
  expect(actual.length).toBe(expected.length);
  expect(relErr(actual.flat(), expected.flat())).toBeLessThanOrEqual(1e-5);
}

interface Reply { status: number; type: string | null; body: any; headers: Headers }

async function call(path: string, init: RequestInit = {}): Promise<Reply> {
  const res = await fetch(server.url + path, init);
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), body: JSON.parse(text), headers: res.headers };
}

const post = (path: string, body: unknown) =>
  call(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

async function create(): Promise<string> {
  const r = await call('/v1/conversations', { method: 'POST' });
  expect(r.status).toBe(201);
  expect(r.body.position).toBe(0);
  return r.body.id;
}

/**
 * Concurrent single/multi-row requests on one id: positions must tile 1..total exactly (none
 * lost, none interleaved); replaying the requests in position order through the reference
 * must reproduce every output.
 */
function checkSerialised(replies: Reply[], sent: number[][], t: Tokens, ref: Session, p0: number): void {
  for (const r of replies) expect(r.status, JSON.stringify(r.body)).toBe(200);
  const order = replies.map((r, i) => ({ r, idx: sent[i] })).sort((a, b) => a.r.body.position - b.r.body.position);
  let p = p0;
  for (const { r, idx } of order) {
    p += idx.length;
    expect(r.body.position).toBe(p);
    expectClose(r.body.o, idx.map((i) => refStep(ref, t, i)));
  }
}

describe('examples/edge over HTTP', () => {
  it('a conversation sent in several requests ≡ one uninterrupted session', async () => {
    const id = await create();
    const t = tokens(12, 1);
    const ref = reference();
    try {
      let p = 0;
      for (const n of [1, 3, 1, 4, 2, 1]) {
        const idx = range(p, p + n);
        const r = await post(`/v1/conversations/${id}/step`, slice(t, idx));
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        expect(r.type).toMatch(/^application\/json/);
        p += n;
        expect(r.body).toMatchObject({ id, position: p });
        expectClose(r.body.o, idx.map((i) => refStep(ref, t, i)));
      }
      expect((await call(`/v1/conversations/${id}`)).body).toEqual({ id, position: 12 });
      // The stored file is a complete snapshot equal in effect to the reference's state.
      const restored = hla.restore(await readFile(join(dir, `${id}.hlas`)), { op: 'hla2' });
      try {
        expect(restored.position).toBe(12);
        const more = tokens(2, 99);
        for (let i = 0; i < 2; i++) expectClose([refStep(restored, more, i)], [refStep(ref, more, i)]);
      } finally {
        restored.free();
      }
    } finally {
      ref.free();
    }
  });

  it('concurrent steps on one id are serialised: all apply, none lost, then it continues', async () => {
    const id = await create();
    const t = tokens(8 + 8 + 2, 2);
    const ref = reference();
    try {
      // 8 single-token requests fired together.
      let sent = range(0, 8).map((i) => [i]);
      checkSerialised(await Promise.all(sent.map((idx) => post(`/v1/conversations/${id}/step`, slice(t, idx)))), sent, t, ref, 0);
      // 4 two-token requests fired together: no request's rows interleave with another's.
      sent = [[8, 9], [10, 11], [12, 13], [14, 15]];
      checkSerialised(await Promise.all(sent.map((idx) => post(`/v1/conversations/${id}/step`, slice(t, idx)))), sent, t, ref, 8);
      const r = await post(`/v1/conversations/${id}/step`, slice(t, [16, 17]));
      expect(r.body.position).toBe(18);
      expectClose(r.body.o, [16, 17].map((i) => refStep(ref, t, i)));
      expect((await call(`/v1/conversations/${id}`)).body.position).toBe(18);
    } finally {
      ref.free();
    }
  });

  it('different ids proceed independently at the same time', async () => {
    const ids = await Promise.all([create(), create(), create()]);
    expect(new Set(ids).size).toBe(3);
    const ts = ids.map((_, j) => tokens(4, 10 + j));
    const refs = ids.map(() => reference());
    try {
      // Interleaved: id0 tok0, id1 tok0, id2 tok0, id0 tok1, …, all in flight together.
      const jobs = range(0, 4).flatMap((i) => ids.map((id, j) => ({ j, idx: [i], reply: post(`/v1/conversations/${id}/step`, slice(ts[j], [i])) })));
      const replies = await Promise.all(jobs.map((x) => x.reply));
      ids.forEach((id, j) => {
        const mine = jobs.map((x, n) => ({ ...x, r: replies[n] })).filter((x) => x.j === j);
        for (const x of mine) expect(x.r.body.id).toBe(id);
        checkSerialised(mine.map((x) => x.r), mine.map((x) => x.idx), ts[j], refs[j], 0);
      });
    } finally {
      refs.forEach((s) => s.free());
    }
  });

  it('client mistakes are 4xx JSON and leave the stored snapshot byte-identical', async () => {
    const id = await create();
    const t = tokens(5, 3);
    const ref = reference();
    try {
      const first = await post(`/v1/conversations/${id}/step`, slice(t, [0, 1, 2]));
      expectClose(first.body.o, [0, 1, 2].map((i) => refStep(ref, t, i)));
      const before = await readFile(join(dir, `${id}.hlas`));
      const good = slice(t, [3]);
      const row = (n: number) => JSON.stringify(Array(n).fill(0.5));
      const step = `/v1/conversations/${id}/step`;
      const bigBody = JSON.stringify({ ...good, pad: ' '.repeat(MAX_BODY) });
      const cases: [string, () => Promise<Reply>, number, string][] = [
        ['malformed JSON', () => post(step, '{"q": [[0.1,'), 400, 'invalid_json'],
        ['invalid UTF-8', () => call(step, { method: 'POST', body: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]) }), 400, 'invalid_json'],
        ['empty body', () => call(step, { method: 'POST' }), 400, 'invalid_json'],
        ['not an object', () => post(step, '[1, 2, 3]'), 400, 'invalid_body'],
        ['unknown field', () => post(step, { ...good, x: 1 }), 400, 'invalid_body'],
        ['missing v', () => post(step, { q: good.q, k: good.k }), 400, 'invalid_body'],
        ['no rows', () => post(step, { q: [], k: [], v: [] }), 400, 'invalid_body'],
        ['wrong row length in the last of 3 rows', () => post(step, { q: [...t.q.slice(0, 2), t.q[2].slice(1)], k: t.k.slice(0, 3), v: t.v.slice(0, 3) }), 400, 'invalid_body'],
        ['row counts differ', () => post(step, { q: t.q.slice(0, 2), k: t.k.slice(0, 2), v: t.v.slice(0, 1) }), 400, 'invalid_body'],
        ['non-finite (1e999)', () => post(step, `{"q":[${row(NQ).replace('0.5', '1e999')}],"k":[${row(NQ)}],"v":[${row(NV)}]}`), 400, 'invalid_body'],
        ['float32 overflow (1e39)', () => post(step, `{"q":[${row(NQ)}],"k":[${row(NQ)}],"v":[${row(NV).replace('0.5', '-1e39')}]}`), 400, 'invalid_body'],
        ['string in a row', () => post(step, `{"q":[${row(NQ).replace('0.5', '"0.5"')}],"k":[${row(NQ)}],"v":[${row(NV)}]}`), 400, 'invalid_body'],
        ['invalid id', () => post('/v1/conversations/a.b/step', good), 400, 'invalid_id'],
        ['id too long', () => post(`/v1/conversations/${'x'.repeat(65)}/step`, good), 400, 'invalid_id'],
        ['percent-encoded traversal id', () => post('/v1/conversations/..%2Fx/step', good), 400, 'invalid_id'],
        ['unknown id', () => post('/v1/conversations/never-created/step', good), 404, 'not_found'],
        ['unknown id (GET)', () => call('/v1/conversations/never-created'), 404, 'not_found'],
        ['oversized (Content-Length)', () => post(step, bigBody), 413, 'body_too_large'],
        ['oversized (chunked stream, no Content-Length)', () => {
          const chunk = new TextEncoder().encode(bigBody.slice(0, 8192));
          let n = 0;
          const body = new ReadableStream<Uint8Array>({ pull: (c) => (n++ < 8 ? c.enqueue(chunk) : c.close()) });
          return call(step, { method: 'POST', body, duplex: 'half' } as RequestInit);
        }, 413, 'body_too_large'],
        ['unknown route', () => call('/v2/models'), 404, 'no_route'],
        ['a query string where the id goes (would read as "create")', () => post('/v1/conversations/?x/step', good), 400, 'invalid_url'],
        ['a query string after the step', () => post(`${step}?a=1`, good), 400, 'invalid_url'],
        // Finite float32 inputs whose products overflow: the outputs (and state) would be ±Infinity/NaN.
        ['finite inputs, overflowing outputs', () => post(step, `{"q":[${row(NQ).replaceAll('0.5', '1e18')}],"k":[${row(NQ).replaceAll('0.5', '1e18')}],"v":[${row(NV).replaceAll('0.5', '1e18')}]}`), 422, 'non_finite'],
        ['wrong method', () => call(step, { method: 'PUT', body: '{}' }), 405, 'method_not_allowed'],
      ];
      for (const [name, send, status, code] of cases) {
        const r = await send();
        expect(r.status, name).toBe(status);
        expect(r.type, name).toMatch(/^application\/json/);
        expect(r.body.error.code, name).toBe(code);
        expect(typeof r.body.error.message, name).toBe('string');
        expect(Buffer.compare(await readFile(join(dir, `${id}.hlas`)), before), `${name}: stored bytes changed`).toBe(0);
      }
      expect(serverErrors).toEqual([]); // no 500s
      await expect(readFile(join(dir, 'never-created.hlas'))).rejects.toThrow(/ENOENT/);
      expect((await call(step, { method: 'PUT' })).headers.get('allow')).toBe('POST');
      // The conversation continues exactly where it was.
      const r = await post(step, slice(t, [3, 4]));
      expect(r.body.position).toBe(5);
      expectClose(r.body.o, [3, 4].map((i) => refStep(ref, t, i)));
    } finally {
      ref.free();
    }
  });

  it('leaves exactly one snapshot file per conversation and no temp files', async () => {
    const files = await readdir(dir);
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(f).toMatch(/^[A-Za-z0-9_-]{1,64}\.hlas$/);
  });
});

describe('examples/edge handler and store', () => {
  it('a failing store write → 500 JSON; the conversation is unchanged and continues', async () => {
    const inner = new MemoryStore();
    let fail = false;
    const store: SnapshotStore = {
      get: (id) => inner.get(id),
      put: async (id, bytes) => {
        if (fail) throw new Error('disk full');
        return inner.put(id, bytes);
      },
    };
    const errors: unknown[] = [];
    const handler = createHandler({ hla, store, config: CONFIG, newId: () => 'conv-1', onError: (e) => errors.push(e) });
    const base = 'http://127.0.0.1';
    const stepReq = (t: Tokens) => new Request(`${base}/v1/conversations/conv-1/step`, { method: 'POST', body: JSON.stringify(t) });
    expect((await handler(new Request(`${base}/v1/conversations`, { method: 'POST' }))).status).toBe(201);
    const t = tokens(2, 4);
    const ref = reference();
    try {
      fail = true;
      const r = await handler(stepReq(slice(t, [0])));
      expect(r.status).toBe(500);
      expect((await r.json()).error.code).toBe('internal');
      expect(errors).toHaveLength(1);
      fail = false;
      const ok = await handler(stepReq(slice(t, [0, 1])));
      const body = await ok.json();
      expect(body.position).toBe(2);
      expectClose(body.o, [0, 1].map((i) => refStep(ref, t, i)));
      // A declared Content-Length over the limit is refused before any byte is read.
      const big = await handler(new Request(`${base}/v1/conversations/conv-1/step`, { method: 'POST', headers: { 'content-length': String(2 << 20) }, body: '{}' }));
      expect(big.status).toBe(413);
    } finally {
      ref.free();
    }
  });

  it('a Request without a body stream (Firefox has no Request.body) is read whole; a fragment is refused', async () => {
    const handler = createHandler({ hla, store: new MemoryStore(), config: CONFIG, newId: () => 'conv-2' });
    const base = 'http://127.0.0.1';
    expect((await handler(new Request(`${base}/v1/conversations`, { method: 'POST' }))).status).toBe(201);
    const t = tokens(1, 5);
    const real = new Request(`${base}/v1/conversations/conv-2/step`, { method: 'POST', body: JSON.stringify(t) });
    // What Firefox hands the handler: the same Request, but `body` is undefined.
    const firefoxLike = new Proxy(real, {
      get: (r, key) => {
        if (key === 'body') return undefined;
        const x = Reflect.get(r, key, r);
        return typeof x === 'function' ? x.bind(r) : x;
      },
    });
    expect((firefoxLike as Request).body).toBeUndefined();
    const res = await handler(firefoxLike as Request);
    const body = await res.json();
    expect(res.status, JSON.stringify(body)).toBe(200);
    const ref = reference();
    try {
      expectClose(body.o, [refStep(ref, t, 0)]);
    } finally {
      ref.free();
    }
    const frag = await handler(new Request(`${base}/v1/conversations/#frag/step`, { method: 'POST', body: JSON.stringify(t) }));
    expect(frag.status).toBe(400);
    expect((await frag.json()).error.code).toBe('invalid_url');
  });

  it('FileStore removes temp files orphaned by a killed writer at start-up, not a live one\'s', async () => {
    const d = await mkdtemp(join(tmpdir(), 'hla-edge-orphans-'));
    try {
      const uuid = '0b5e3f6e-8a37-4c41-9d0c-5f1a2b3c4d5e';
      const dead = `.c.999999999.${uuid}.tmp`, live = `.c.${process.ppid}.${uuid}.tmp`, other = 'notes.tmp';
      for (const f of [dead, live, other]) await writeFile(join(d, f), 'x');
      const store = new FileStore(d);
      await store.ready();
      expect((await readdir(d)).sort()).toEqual([live, other].sort());
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });

  it('FileStore: concurrent puts and gets never see a torn snapshot; no temp files remain', async () => {
    const d = await mkdtemp(join(tmpdir(), 'hla-edge-store-'));
    try {
      const store = new FileStore(d);
      const versions = range(0, 16).map((i) => new Uint8Array(4096 + 97 * i).fill(i + 1));
      const isWhole = (b: Uint8Array | null) => b === null || versions.some((v) => Buffer.compare(v, b) === 0);
      const gets: Promise<Uint8Array | null>[] = [];
      await Promise.all(versions.map((v) => (gets.push(store.get('c')), store.put('c', v))));
      for (const g of await Promise.all(gets)) expect(isWhole(g)).toBe(true);
      const last = await store.get('c');
      expect(last).not.toBeNull();
      expect(isWhole(last)).toBe(true);
      expect(await readdir(d)).toEqual(['c.hlas']);
      expect(await store.get('missing')).toBeNull();
      await expect(store.put('../x', new Uint8Array(1))).rejects.toThrow(RangeError);
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });
});
