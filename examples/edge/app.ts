// The example as a `export default { fetch }` module, the shape `deno serve`, `bun` and
// workerd (wrangler) all serve as is:
//   deno serve --allow-read examples/edge/app.ts      bun examples/edge/app.ts
//   wrangler dev (examples/edge/wrangler.toml)
// Snapshots live in the KV namespace bound as SNAPSHOTS where there is one (workerd:
// wrangler.toml), else in this process's memory (MemoryStore: enough for one Deno or Bun
// process; on workerd each isolate would have its own, lost when the platform evicts it).
import { init } from 'hla-wasm';
import { DEFAULT_CONFIG } from './config.ts';
import { createHandler } from './handler.ts';
import { KvStore, type KvNamespace } from './kv-store.ts';
import { MemoryStore } from './store.ts';

let handler: Promise<(request: Request) => Promise<Response>> | undefined;

export default {
  // workerd passes its bindings as `env`; Deno and Bun pass other things, without SNAPSHOTS.
  fetch(request: Request, env?: { SNAPSHOTS?: KvNamespace }): Promise<Response> {
    // Instantiated on the first request, not while the module loads (workers keep start-up cheap).
    handler ??= init().then((hla) =>
      createHandler({ hla, store: env?.SNAPSHOTS ? new KvStore(env.SNAPSHOTS) : new MemoryStore(), config: DEFAULT_CONFIG }));
    return handler.then((h) => h(request));
  },
};
