// Snapshots in Workers KV (workerd, wrangler): survive the isolate, which the platform starts
// and evicts at will, unlike MemoryStore. KV is eventually consistent and has no
// compare-and-set: the handler's per-id lock orders steps within one isolate, but two isolates
// stepping one conversation at once can lose a step (last write wins), and another location
// may read an older snapshot for up to a minute. Keep a conversation on one isolate, or use a
// Durable Object per conversation for a strict single-writer order.
import { checkId, type SnapshotStore } from './store.ts';

/** The part of a KV namespace binding this store uses. */
export interface KvNamespace {
  get(key: string, type: 'arrayBuffer'): Promise<ArrayBuffer | null>;
  put(key: string, value: ArrayBuffer | ArrayBufferView): Promise<void>;
}

export class KvStore implements SnapshotStore {
  readonly #kv: KvNamespace;
  readonly #prefix: string;

  constructor(kv: KvNamespace, prefix = 'conversation:') {
    this.#kv = kv;
    this.#prefix = prefix;
  }

  async get(id: string): Promise<Uint8Array | null> {
    checkId(id);
    const b = await this.#kv.get(this.#prefix + id, 'arrayBuffer');
    return b ? new Uint8Array(b) : null;
  }

  async put(id: string, bytes: Uint8Array): Promise<void> {
    checkId(id);
    await this.#kv.put(this.#prefix + id, bytes);
  }
}
