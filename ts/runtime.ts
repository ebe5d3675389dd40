// One wasm instance of one flavour, shared by every facade of this realm, and what happens when
// it traps. Built with panic = "abort", a trap unwinds nothing: the allocator may be mid-update,
// memory allocated before it is never freed, and wasm-bindgen leaves the trapped object
// borrowed. The instance is poisoned, so `reset` replaces it with a fresh instance of the same
// module and disowns every object of the old one: sessions of the old instance throw
// RESET_MESSAGE, and neither they nor the glue's finalizers ever touch the new instance with a
// pointer into the old one.
import type { Glue } from './loader.js';
import type { Backend } from './types.js';

/** What a session of a replaced instance throws (its state was in the old instance). */
export const RESET_MESSAGE = "the wasm instance was reset after an internal error; this session's state is lost";

/** The glue's exported classes (Session, Engine) carry this: it unregisters their finalizer. */
interface GlueObject {
  __destroy_into_raw(): number;
}

export class Runtime {
  /** Incremented by every reset: objects remember the epoch they were created in. */
  epoch = 0;
  #memory: WebAssembly.Memory;
  #live = new Set<object>();

  constructor(
    readonly backend: Backend,
    readonly glue: Glue,
    memory: WebAssembly.Memory,
    readonly reinstantiate: () => WebAssembly.Memory,
  ) {
    this.#memory = memory;
  }

  /** The current instance's linear memory (a new one after a reset). */
  get memory(): WebAssembly.Memory {
    return this.#memory;
  }

  /** Registers a glue object of the current instance, disowned by the next reset. */
  track<T extends object>(o: T): T {
    this.#live.add(o);
    return o;
  }

  /** Forgets a glue object that was freed. */
  untrack(o: object): void {
    this.#live.delete(o);
  }

  /**
   * Replaces the instance after a trap. Every glue object of the old one is disowned (its
   * pointer zeroed, its finalizer unregistered) and never reaches the new instance.
   */
  reset(): void {
    for (const o of this.#live) {
      try {
        (o as GlueObject).__destroy_into_raw();
      } catch {
        /* already disowned */
      }
    }
    this.#live.clear();
    this.#memory = this.reinstantiate();
    this.epoch++;
  }
}
