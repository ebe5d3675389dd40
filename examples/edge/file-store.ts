// Snapshots as files, one per conversation (Node, Deno, Bun: node: built-ins).
import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { checkId, type SnapshotStore } from './store.ts';

/** `.<id>.<pid>.<uuid>.tmp`: a put's temp file, named by the process that writes it. */
const TMP = /^\.[A-Za-z0-9_-]{1,64}\.(\d+)\.[0-9a-f-]{36}\.tmp$/;

function alive(pid: number): boolean {
  if (pid === process.pid) return false; // a previous process with our pid: nothing of ours is in flight yet
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, not ours to signal
  }
}

/**
 * A writer killed between creating its temp file and the rename leaves it behind. At start-up
 * remove those whose process is gone; a live process's (another server on the same directory)
 * may be mid-put and stays.
 */
async function removeOrphans(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    const m = TMP.exec(name);
    if (m && !alive(Number(m[1]))) await rm(join(dir, name), { force: true });
  }
}

/**
 * One file `<dir>/<id>.hlas` per conversation. A put writes a uniquely named temp file in the
 * same directory, fsyncs it, then renames it over the target: rename within one file system is
 * atomic, so readers and crashes see the old or the new snapshot, never a torn one, and two
 * concurrent puts leave one of them whole (last rename wins).
 */
export class FileStore implements SnapshotStore {
  readonly dir: string;
  #ready: Promise<unknown>;
  constructor(dir: string) {
    this.dir = dir;
    this.#ready = mkdir(dir, { recursive: true }).then(() => removeOrphans(dir));
  }

  /** Resolves once the directory exists and orphaned temp files are gone. */
  ready(): Promise<void> {
    return this.#ready.then(() => {});
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
