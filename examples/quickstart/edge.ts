import { init } from 'hla-wasm';
import { createHandler } from '../edge/handler.ts';
import { MemoryStore } from '../edge/store.ts';

// A fetch(request) → Response handler: runs as is on any Web-standard runtime.
const handler = createHandler({
  hla: await init(),
  store: new MemoryStore(), // FileStore(dir) persists snapshots atomically, one file per id
  config: { op: 'hla2', heads: 2, dk: 8, dv: 8, decay: 0.99 },
});

const post = (path: string, body?: unknown) =>
  handler(new Request(`http://edge.local${path}`, { method: 'POST', body: body && JSON.stringify(body) }));

const { id } = await (await post('/v1/conversations')).json();
const row = (n: number) => Array.from({ length: n }, (_, i) => Math.sin(i));
// One token: q and k rows hold heads·dk numbers, v rows heads·dv.
const res = await post(`/v1/conversations/${id}/step`, { q: [row(16)], k: [row(16)], v: [row(16)] });
const { position, o } = await res.json();
console.log(res.status, 'position', position, 'o[0][0..2]', o[0].slice(0, 3));
