// Where conversation snapshots live between requests. The handler only needs whole-value get
// and put: a snapshot is small and self-checking (CRC-32), so "replace the whole thing
// atomically" is all the consistency a store has to provide.
import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

export interface SnapshotStore {
  /** The last snapshot put for `id`, or null if there is none. */
  get(id: string): Promise<Uint8Array | null>;
  /** Replaces `id`'s snapshot; a concurrent `get` sees either the old or the new bytes, never a mix. */
  put(id: string, bytes: Uint8Array): Promise<void>;
}

/** Conversation ids: also file names, so nothing that could mean a path (`/`, `..`, `.tmp`). */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

function checkId(id: string): void {
  // The handler validates ids already; the store checks again because it builds paths from them.
  if (!ID_PATTERN.test(id)) throw new RangeError(`id: expected ${ID_PATTERN}, got ${JSON.stringify(id)}`);
}

/** For illustration and tests: copies in and out so callers can't mutate stored bytes. */
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

/**
 * One file `<dir>/<id>.hlas` per conversation. A put writes a uniquely named temp file in the
 * same directory, fsyncs it, then renames it over the target: rename within one file system is
 * atomic, so readers and crashes see the old or the new snapshot, never a torn one, and two
 * concurrent puts leave one of them whole (last rename wins).
 */
export class FileStore implements SnapshotStore {
  #ready: Promise<unknown>;
  constructor(readonly dir: string) {
    this.#ready = mkdir(dir, { recursive: true });
  }

  /** The snapshot file of `id` (exposed for tests and tooling). */
  file(id: string): string {
    checkId(id);
    return join(this.dir, `${id}.hlas`);
  }

  async get(id: string): Promise<Uint8Array | null> {
    const path = this.file(id);
    await this.#ready;
    try {
      const b = await readFile(path);
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  async put(id: string, bytes: Uint8Array): Promise<void> {
    const path = this.file(id);
    await this.#ready;
    // Dot-prefixed and suffixed .tmp: never matches `<id>.hlas`; pid + UUID: never shared by two writers.
    const tmp = join(this.dir, `.${id}.${process.pid}.${randomUUID()}.tmp`);
    try {
      const fh = await open(tmp, 'wx');
      try {
        await fh.writeFile(bytes);
        await fh.sync(); // data on disk before the rename makes it visible
      } finally {
        await fh.close();
      }
      await rename(tmp, path);
      // Surviving power loss would also need an fsync of the directory; omitted (not portable).
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }
}
