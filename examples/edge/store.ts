// Where conversation snapshots live between requests. The handler only needs whole-value get
// and put: a snapshot is small and self-checking (CRC-32), so "replace the whole thing
// atomically" is all the consistency one process needs. Web-standard only (no node: imports):
// the file store is ./file-store.ts (Node, Deno, Bun), the shared one ./redis-store.ts.

export interface SnapshotStore {
  /** The last snapshot put for `id`, or null if there is none. */
  get(id: string): Promise<Uint8Array | null>;
  /** Replaces `id`'s snapshot; a concurrent `get` sees either the old or the new bytes, never a mix. */
  put(id: string, bytes: Uint8Array): Promise<void>;
  /**
   * Compare-and-set: stores `bytes` (the snapshot at position `to`) only if `id` is still at
   * position `from`, the one it was stepped from; false when another writer got there first.
   * Stores shared by several processes implement it (./redis-store.ts), and the handler then
   * retries a step instead of relying on its per-process lock.
   */
  putIf?(id: string, bytes: Uint8Array, from: number, to: number): Promise<boolean>;
}

/** The position (tokens consumed) a snapshot records: f64 at byte 40 (README "Snapshot format"). */
export function snapshotPosition(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getFloat64(40, true);
}

/** Conversation ids: also file names, so nothing that could mean a path (`/`, `..`, `.tmp`). */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export function checkId(id: string): void {
  // The handler validates ids already; the store checks again because it builds paths from them.
  if (!ID_PATTERN.test(id)) throw new RangeError(`id: expected ${ID_PATTERN}, got ${JSON.stringify(id)}`);
}

/**
 * One process's memory (tests, a browser page, a single-isolate worker): copies in and out so
 * callers can't mutate stored bytes. Gone when the process is; on workerd each isolate has its own.
 */
export class MemoryStore implements SnapshotStore {
  #map = new Map<string, Uint8Array>();
  async get(id: string): Promise<Uint8Array | null> {
    checkId(id);
    return this.#map.get(id)?.slice() ?? null;
  }
  async put(id: string, bytes: Uint8Array): Promise<void> {
    checkId(id);
    this.#map.set(id, bytes.slice());
  }
}

