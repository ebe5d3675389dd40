// Snapshots in Redis, shared by any number of server processes: servers stay stateless, and a
// step's write is a compare-and-set on the conversation's position (one Lua script, atomic in
// Redis), so two servers stepping one conversation at once never lose or double-apply a step:
// the later writer finds the position moved, and the handler retries from the newer snapshot.
import { Redis } from 'ioredis';
import { checkId, snapshotPosition, type SnapshotStore } from './store.ts';

/** Sets position and snapshot only if the stored position is still ARGV[1]. */
const PUT_IF = `
if redis.call('HGET', KEYS[1], 'p') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'p', ARGV[2], 's', ARGV[3])
  return 1
end
return 0`;

/** Hash `<prefix><id>`: field `p` the position (decimal), `s` the snapshot bytes. */
export class RedisStore implements SnapshotStore {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(redis: Redis, prefix = 'hla:conversation:') {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  /** Connects to `url` (`redis://host:port`) and checks the server answers. */
  static async connect(url: string, prefix?: string): Promise<RedisStore> {
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
    await redis.connect();
    return new RedisStore(redis, prefix);
  }

  #key(id: string): string {
    checkId(id);
    return this.#prefix + id;
  }

  async get(id: string): Promise<Uint8Array | null> {
    const b = await this.#redis.hgetBuffer(this.#key(id), 's');
    return b ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : null;
  }

  async put(id: string, bytes: Uint8Array): Promise<void> {
    await this.#redis.hset(this.#key(id), 'p', String(snapshotPosition(bytes)), 's', Buffer.from(bytes));
  }

  async putIf(id: string, bytes: Uint8Array, from: number, to: number): Promise<boolean> {
    return (await this.#redis.eval(PUT_IF, 1, this.#key(id), String(from), String(to), Buffer.from(bytes))) === 1;
  }

  close(): Promise<unknown> {
    return this.#redis.quit();
  }
}
