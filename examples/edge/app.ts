// The example as a `export default { fetch }` module, the shape `deno serve`, `bun` and
// workerd (wrangler) all serve as is:
//   deno serve --allow-read examples/edge/app.ts      bun examples/edge/app.ts
//   wrangler dev (examples/edge/wrangler.toml)         workerd serve examples/edge/workerd.capnp
// Snapshots live in this process's memory (MemoryStore): enough for one Deno/Bun process, but
// on workerd every isolate has its own and the platform may start or evict isolates at any
// time, so a deployed worker needs a shared store (a Durable Object per conversation, which
// gives the one-writer order KeyedMutex gives here, or KV for read-mostly use).
import { init } from 'hla-wasm';
import { DEFAULT_CONFIG } from './config.ts';
import { createHandler } from './handler.ts';
import { MemoryStore } from './store.ts';

let handler: Promise<(request: Request) => Promise<Response>> | undefined;

export default {
  fetch(request: Request): Promise<Response> {
    // Instantiated on the first request, not while the module loads (workers keep start-up cheap).
    handler ??= init().then((hla) => createHandler({ hla, store: new MemoryStore(), config: DEFAULT_CONFIG }));
    return handler.then((h) => h(request));
  },
};
