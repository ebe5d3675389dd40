// A Web-standard `fetch(request) → Response` handler for stateful streaming inference: every
// request restores its conversation's session from a snapshot, steps it, stores the new
// snapshot and frees the session, so no wasm memory is held between requests and any worker
// sharing the store can serve any conversation. No framework and no node: imports: runs
// wherever Request/Response do (Node, Deno, Bun, workerd, browsers). Erasable TypeScript only
// (no parameter properties, `.ts` specifiers), so Node ≥ 22.18 runs it without a build.
import type { Hla, OpName, Session, SessionOptions } from 'hla-wasm';
import { ID_PATTERN, type SnapshotStore } from './store.ts';

/** The operator and session options every conversation is created with. */
export interface EdgeConfig extends SessionOptions {
  op: OpName;
}

export interface HandlerOptions {
  hla: Hla;
  store: SnapshotStore;
  config: EdgeConfig;
  /** Largest request body accepted (413 beyond). Default 1 MiB. */
  maxBodyBytes?: number;
  /** New conversation ids (default: random UUIDs). Must match ID_PATTERN. */
  newId?: () => string;
  /** Called with unexpected (5xx) errors, which clients only see as a generic message. */
  onError?: (error: unknown) => void;
}

/** A client-visible failure: becomes `{ error: { code, message } }` with this status. */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string>;
  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
  });
}

/**
 * Runs tasks for one key strictly one after another, in the order `run` was called; tasks for
 * other keys don't wait. This is what makes two concurrent steps on one conversation both
 * apply (restore → step → put can't interleave and lose an update).
 */
export class KeyedMutex {
  #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const tail = prev.then(() => new Promise<void>((r) => (release = r)));
    this.#tails.set(key, tail);
    await prev; // never rejects: tails only ever resolve
    try {
      return await task();
    } finally {
      release();
      // The last waiter cleans up, so the map holds only ids with work in flight.
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}

/** Reads at most `max` bytes: rejects early on Content-Length, and again while streaming (it may lie or be absent). */
export async function readBody(request: Request, max: number): Promise<Uint8Array> {
  const tooLarge = () => new HttpError(413, 'body_too_large', `request body exceeds ${max} bytes`);
  const declared = request.headers.get('content-length');
  if (declared !== null) {
    if (!/^\d+$/.test(declared)) throw new HttpError(400, 'bad_content_length', `invalid Content-Length ${JSON.stringify(declared)}`);
    if (Number(declared) > max) throw tooLarge();
  }
  // Firefox's Request has no `body` stream at all (undefined, not null): read it whole.
  if (request.body === undefined) {
    const bytes = new Uint8Array(await request.arrayBuffer().catch(() => {
      throw new HttpError(400, 'body_read_failed', 'the request body could not be read');
    }));
    if (bytes.byteLength > max) throw tooLarge();
    return bytes;
  }
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let r: ReadableStreamReadResult<Uint8Array>;
    try {
      r = await reader.read();
    } catch {
      throw new HttpError(400, 'body_read_failed', 'the request body could not be read (client aborted?)');
    }
    if (r.done) break;
    total += r.value.byteLength;
    if (total > max) {
      void reader.cancel().catch(() => {}); // stop buffering; the adapter discards the rest
      throw tooLarge();
    }
    chunks.push(r.value);
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

/** Compare-and-set retries of one step before giving up with 409 (each means another server stepped first). */
const MAX_ATTEMPTS = 8;

function allFinite(x: Float32Array): boolean {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) return false;
  return true;
}

/** The state floats of a snapshot (format version 1, README "Snapshot format"). */
function snapshotState(bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nDecay = view.getUint32(48, true);
  const at = 52 + 4 * nDecay;
  const n = view.getUint32(at, true);
  const state = new Float32Array(n);
  for (let i = 0; i < n; i++) state[i] = view.getFloat32(at + 4 + 4 * i, true);
  return state;
}

function describe(x: unknown): string {
  if (typeof x === 'number') return String(x); // JSON.stringify would print Infinity as null
  const s = JSON.stringify(x) ?? String(x);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

/** `{ q, k, v }`: equally many rows (tokens), each a flat array of finite float32-representable numbers. */
function parseTokens(body: unknown, nq: number, nv: number, shapes: { q: string; v: string }) {
  const bad = (message: string) => new HttpError(400, 'invalid_body', message);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('body: expected an object { q, k, v }');
  for (const key of Object.keys(body)) if (key !== 'q' && key !== 'k' && key !== 'v') throw bad(`body: unknown field ${JSON.stringify(key)} (expected q, k, v)`);
  const rows = (name: 'q' | 'k' | 'v', n: number, shape: string): Float32Array[] => {
    const x = (body as Record<string, unknown>)[name];
    if (!Array.isArray(x) || x.length === 0) throw bad(`${name}: expected a non-empty array of rows (one per token), got ${describe(x)}`);
    return x.map((row: unknown, t) => {
      if (!Array.isArray(row) || row.length !== n) {
        throw bad(`${name}[${t}]: expected an array of ${n} numbers ${shape}, got ${Array.isArray(row) ? `${row.length} numbers` : describe(row)}`);
      }
      const f = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const xi: unknown = row[i];
        // Finite as a double isn't enough: 1e39 overflows to Infinity in float32.
        if (typeof xi !== 'number' || !Number.isFinite(Math.fround(xi))) throw bad(`${name}[${t}][${i}]: expected a finite float32, got ${describe(xi)}`);
        f[i] = xi;
      }
      return f;
    });
  };
  const q = rows('q', nq, shapes.q), k = rows('k', nq, shapes.q), v = rows('v', nv, shapes.v);
  if (k.length !== q.length || v.length !== q.length) throw bad(`q, k, v: expected the same number of rows, got ${q.length}, ${k.length}, ${v.length}`);
  return { q, k, v };
}

/** Returns the `fetch`-style handler. Client mistakes are 4xx JSON; nothing is stored unless a step fully succeeds. */
export function createHandler(options: HandlerOptions): (request: Request) => Promise<Response> {
  const { hla, store, config } = options;
  const maxBodyBytes = options.maxBodyBytes ?? 1 << 20;
  const newId = options.newId ?? (() => crypto.randomUUID());
  const onError = options.onError ?? ((e: unknown) => console.error('edge handler:', e));
  const { op, ...sessionOptions } = config;

  // Validate the config once, up front, and keep the empty-conversation snapshot as a template.
  const probe = hla.session(op, sessionOptions);
  const dims = { batch: probe.batch, heads: probe.heads, valueHeads: probe.valueHeads, dk: probe.dk, dv: probe.dv };
  const empty = probe.snapshot();
  probe.free();
  const nq = dims.batch * dims.heads * dims.dk, nv = dims.batch * dims.valueHeads * dims.dv;
  const shapes = { q: `[B=${dims.batch}, H=${dims.heads}, dk=${dims.dk}]`, v: `[B=${dims.batch}, HV=${dims.valueHeads}, dv=${dims.dv}]` };
  const locks = new KeyedMutex();

  /** The stored session, or 404. A snapshot that doesn't restore to this config is the server's problem (500). */
  async function load(id: string): Promise<Session> {
    const bytes = await store.get(id);
    if (!bytes) throw new HttpError(404, 'not_found', `no conversation ${JSON.stringify(id)} (create one with POST /v1/conversations)`);
    const s = hla.restore(bytes, { op }); // throws on corrupt/foreign bytes → 500 below
    if (s.batch !== dims.batch || s.heads !== dims.heads || s.valueHeads !== dims.valueHeads || s.dk !== dims.dk || s.dv !== dims.dv) {
      s.free();
      throw new Error(`stored snapshot of ${id} has other dimensions than the configuration`);
    }
    return s;
  }

  async function step(id: string, request: Request): Promise<Response> {
    // Read and validate the whole body before taking the lock: a slow or bad client never
    // holds up the conversation, and a bad one never touches stored state.
    const raw = await readBody(request, maxBodyBytes);
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
    } catch {
      throw new HttpError(400, 'invalid_json', 'body: expected JSON { q, k, v } in UTF-8');
    }
    const tokens = parseTokens(body, nq, nv, shapes);
    return locks.run(id, async () => {
      // Within this process the lock orders steps; across processes sharing a store with a
      // compare-and-set, a lost race is retried from the newer snapshot.
      for (let attempt = 1; ; attempt++) {
        const s = await load(id);
        try {
          const from = s.position;
          const o = tokens.q.map((q, t) => s.step(q, tokens.k[t], tokens.v[t]));
          const snapshot = s.snapshot();
          // Finite float32 inputs can still overflow (1e30 · 1e30): a non-finite state would
          // poison every later step, so such a step is refused and nothing is stored.
          if (!o.every(allFinite) || !allFinite(snapshotState(snapshot))) {
            throw new HttpError(422, 'non_finite', 'these tokens make the outputs or the state overflow float32; the conversation is unchanged');
          }
          if (!store.putIf) await store.put(id, snapshot); // only now does the conversation advance
          else if (!(await store.putIf(id, snapshot, from, s.position))) {
            if (attempt < MAX_ATTEMPTS) continue;
            throw new HttpError(409, 'conflict', `conversation ${id} kept changing under this step (${MAX_ATTEMPTS} attempts); retry`);
          }
          return json(200, { id, position: s.position, o: o.map((row) => Array.from(row)) });
        } finally {
          s.free();
        }
      }
    });
  }

  async function route(request: Request): Promise<Response> {
    const url = new URL(request.url);
    // A query or fragment is never part of an id: `/v1/conversations/?x/step` must not read as
    // "create" (the path before `?`), nor `/v1/conversations/a#/step` as "get a".
    if (url.search !== '' || url.hash !== '' || /[?#]/.test(request.url)) {
      throw new HttpError(400, 'invalid_url', `no query or fragment accepted, got ${describe(url.search + url.hash || request.url)}`);
    }
    const path = url.pathname.replace(/\/+$/, '');
    const m = /^\/v1\/conversations(?:\/([^/]*)(\/step)?)?$/.exec(path);
    if (!m) throw new HttpError(404, 'no_route', `no route ${request.method} ${path || '/'}`);
    const [, id, isStep] = m;
    const allow = id === undefined || isStep ? 'POST' : 'GET';
    if (request.method !== allow) throw new HttpError(405, 'method_not_allowed', `${request.method} not allowed here (use ${allow})`, { allow });
    if (id === undefined) {
      const created = newId();
      await store.put(created, empty);
      return json(201, { id: created, position: 0 }, { location: `/v1/conversations/${created}` });
    }
    // Ids are checked on the raw path segment: anything percent-encoded is rejected, not decoded.
    if (!ID_PATTERN.test(id)) throw new HttpError(400, 'invalid_id', `conversation id: expected ${ID_PATTERN}, got ${describe(id)}`);
    if (isStep) return step(id, request);
    const s = await load(id); // reads need no lock: the store swaps snapshots atomically
    try {
      return json(200, { id, position: s.position });
    } finally {
      s.free();
    }
  }

  return async (request) => {
    try {
      return await route(request);
    } catch (e) {
      if (e instanceof HttpError) return json(e.status, { error: { code: e.code, message: e.message } }, e.headers);
      onError(e);
      return json(500, { error: { code: 'internal', message: 'internal error; stored state is unchanged' } });
    }
  };
}
