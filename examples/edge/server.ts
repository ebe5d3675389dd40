// Node adapter: serves the fetch-style handler with node:http on loopback, converting
// IncomingMessage → Request and Response → ServerResponse (Node ≥ 20 has both globals).
// Run: node examples/edge/server.ts (Node ≥ 22.18 strips the types; Node 20:
// node scripts/run-ts.mjs examples/edge/server.ts). Env: PORT, HLA_EDGE_DIR, HLA_EDGE_REDIS.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { init, type Hla } from 'hla-wasm';
import { DEFAULT_CONFIG } from './config.ts';
import { createHandler, type EdgeConfig } from './handler.ts';
import { FileStore } from './file-store.ts';
import type { SnapshotStore } from './store.ts';

export { DEFAULT_CONFIG };

/** After a response, unread request bytes are discarded up to this much, then the socket is dropped. */
const DRAIN_LIMIT = 1 << 20;

/**
 * The request body as a web stream with backpressure. Unlike `Readable.toWeb`, cancelling it
 * (the handler rejecting an oversized body) doesn't destroy the socket, so the 413 can still be sent.
 */
function bodyStream(req: IncomingMessage): ReadableStream<Uint8Array> {
  let open = true;
  return new ReadableStream<Uint8Array>({
    start(c) {
      req.on('data', (chunk: Buffer) => {
        if (!open) return;
        c.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((c.desiredSize ?? 0) <= 0) req.pause();
      });
      req.on('end', () => open && ((open = false), c.close()));
      req.on('error', (e) => open && ((open = false), c.error(e)));
    },
    pull() {
      req.resume();
    },
    cancel() {
      open = false;
    },
  });
}

function toRequest(req: IncomingMessage, origin: string): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, v);
  }
  const method = req.method ?? 'GET';
  const body = method === 'GET' || method === 'HEAD' ? null : bodyStream(req);
  // `duplex: 'half'` is required by Node's fetch for stream bodies (not yet in the DOM typings).
  return new Request(new URL(req.url ?? '/', origin), { method, headers, body, duplex: 'half' } as RequestInit);
}

async function send(res: ServerResponse, response: Response): Promise<void> {
  // Our responses are small JSON, so buffering the body keeps this simple.
  const body = Buffer.from(await response.arrayBuffer());
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => (headers[name] = value));
  res.writeHead(response.status, { ...headers, 'content-length': String(body.byteLength) });
  res.end(body);
}

/** Lets a client that is still uploading (e.g. after a 413) finish and read the response, within bounds. */
function discardRest(req: IncomingMessage): void {
  if (req.complete) return;
  let dropped = 0;
  req.removeAllListeners('data');
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.byteLength;
    if (dropped > DRAIN_LIMIT) req.socket.destroy();
  });
  req.resume();
}

export interface StartOptions {
  /** Port on 127.0.0.1; default 0 (ephemeral). */
  port?: number;
  /** Snapshot directory; default a fresh temp directory. */
  dir?: string;
  /** Another store instead of files (e.g. ./redis-store.ts, shared by several servers). */
  store?: SnapshotStore;
  config?: EdgeConfig;
  maxBodyBytes?: number;
  /** An initialised instance to reuse (default: `init()`). */
  hla?: Hla;
  onError?: (error: unknown) => void;
}

export async function start(options: StartOptions = {}): Promise<{ url: string; dir: string | undefined; store: SnapshotStore; close: () => Promise<void> }> {
  const hla = options.hla ?? (await init());
  const dir = options.store ? undefined : (options.dir ?? (await mkdtemp(join(tmpdir(), 'hla-edge-'))));
  const store = options.store ?? new FileStore(dir!);
  const handler = createHandler({ hla, store, config: options.config ?? DEFAULT_CONFIG, maxBodyBytes: options.maxBodyBytes, onError: options.onError });
  const server = createServer((req, res) => {
    const origin = `http://${req.headers.host ?? '127.0.0.1'}`;
    res.on('finish', () => discardRest(req));
    (async () => {
      let request: Request;
      try {
        request = toRequest(req, origin);
      } catch {
        // e.g. a request target that isn't a valid URL
        return send(res, Response.json({ error: { code: 'bad_request', message: 'malformed request' } }, { status: 400 }));
      }
      return send(res, await handler(request));
    })().catch((e) => {
      options.onError?.(e);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"code":"internal","message":"internal error"}}');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve()); // loopback only
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    dir,
    store,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections(); // keep-alive sockets from fetch would otherwise hold close() open
      }),
  };
}

// Run directly (not when imported, e.g. by the test): serve until interrupted.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const redis = process.env.HLA_EDGE_REDIS; // e.g. redis://127.0.0.1:6379
  const store = redis ? await (await import('./redis-store.ts')).RedisStore.connect(redis) : undefined;
  const { url, dir } = await start({ port: process.env.PORT ? Number(process.env.PORT) : 0, dir: process.env.HLA_EDGE_DIR, store });
  console.log(`hla-wasm edge example listening on ${url} (snapshots in ${dir ?? redis})`);
}
