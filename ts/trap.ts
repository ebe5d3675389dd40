// The one trap-to-error helper: a WebAssembly trap is a Rust panic (a bug) or the instance
// running out of memory; `trapReason` says which, for the Error the caller throws.
import type { Glue } from './loader.js';

/**
 * Why a wasm call failed with `e`: the Rust panic's message, or (no panic) the trap's own
 * with the memory in use; null when `e` is not a trap (an argument error passes through).
 */
export function trapReason(glue: Glue, e: unknown, memory?: WebAssembly.Memory): string | null {
  if (!(e instanceof WebAssembly.RuntimeError)) return null;
  let why = '';
  try {
    why = glue.lastPanic().replace(/\s+/g, ' ');
  } catch {
    /* the panic message is best effort */
  }
  if (why) return why;
  const mib = memory ? `; ${Math.round(memory.buffer.byteLength / 2 ** 20)} MiB of 4096 in use` : '';
  return `${e.message} (no Rust panic: most likely out of wasm memory${mib})`;
}

/** The hooks of a testing build (cargo feature `testing`); the shipped .wasm has none. */
export interface TestingHooks {
  fmaProbe?(iters: number): number;
  fmaProbeFlops?(iters: number): number;
  panicForTests?(): void;
}

export const NO_HOOKS = 'hla-wasm: this build has no test hooks (a testing build has them: HLA_TESTING=1 bash scripts/build.sh)';

/** `f` of a testing build's object, or the error saying this build has none. */
export function hook<K extends keyof TestingHooks>(o: object, name: K): NonNullable<TestingHooks[K]> {
  const f = (o as TestingHooks)[name];
  if (typeof f !== 'function') throw new Error(NO_HOOKS);
  return f.bind(o) as NonNullable<TestingHooks[K]>;
}
