/**
 * hla-wasm: Higher-order Linear Attention (arXiv 2510.27258) in WebAssembly SIMD.
 *
 * ```ts
 * import { init } from 'hla-wasm';
 * const hla = await init();
 * const { o, finalState } = hla.hla2(q, k, v, { decay: 0.99, outputFinalState: true });
 * ```
 * @packageDocumentation
 */
import { Hla } from './hla.js';
import { BACKENDS, detectBackend, loadGlue, refuseNewSource, resolveWasm, supported, type Loaded } from './loader.js';
import type { Backend, WasmSource } from './types.js';
import { typeError, rangeError } from './errors.js';
import { checkKnown } from './validate.js';
import { Pool } from './pool.js';

export { Hla, type ForwardResult } from './hla.js';
export { HlaState } from './state.js';
export { Session, type SessionOptions } from './session.js';
export { GatedSession, type GatedSessionOptions } from './gated-session.js';
export type { Tensor, OpName, GatedOpName, Backend, WasmSource } from './types.js';
export type { GlaOptions, DeltaRuleOptions } from './gated.js';
export { BACKENDS, GATED_OPS, HLA_OPS, OPS, type OperatorFamily, type OperatorName, type OperatorsOf } from './types.js';
export type { SseInputs, SseOptions, RlaOptions } from './second-options.js';
export { SecondSession, type SecondSessionOptions } from './second-session.js';
export type { ForwardOptions } from './validate.js';
export type { Transport } from './pool.js';

export interface InitOptions {
  /** Force a flavour instead of the best the runtime supports. */
  backend?: Backend;
  /**
   * Where the .wasm comes from: bytes, a URL, a `Response` or a compiled `WebAssembly.Module`
   * (e.g. `import wasm from 'hla-wasm/hla_relaxed.wasm'`). Its flavour is read from the module
   * itself, so `backend` may be left out. Default: the file next to this module, read or fetched.
   */
  wasm?: WasmSource;
  /**
   * Worker threads for {@link Hla.run} (Node `worker_threads`, browser module Workers), each with
   * its own instance of the backend; 'auto' = one per core (`os.availableParallelism()`,
   * `navigator.hardwareConcurrency`). Default 1: no workers. End them with `hla.close()`.
   */
  threads?: number | 'auto';
}

/** Loads the best (or the requested) wasm flavour and returns an instance. */
export async function init(options: InitOptions = {}): Promise<Hla> {
  if (typeof options !== 'object' || options === null) throw typeError('init options', 'an object', options);
  checkKnown(options, new Set(['backend', 'wasm', 'threads']), 'init options');
  const threads = options.threads === 'auto' ? await cores() : options.threads ?? 1;
  if (typeof threads !== 'number' || !Number.isInteger(threads) || threads < 1 || threads > 64) throw rangeError('threads', "an integer from 1 to 64 or 'auto'", threads);
  let backend = options.backend;
  if (backend !== undefined) {
    if (!BACKENDS.includes(backend)) throw rangeError('backend', `one of ${BACKENDS.join(', ')}`, backend);
    if (!(await supported(backend))) {
      throw rangeError('backend', `a flavour this runtime supports (${backend} is not; Node 20 needs --experimental-wasm-relaxed-simd for relaxed)`, backend);
    }
  }
  let loaded: Loaded;
  if (options.wasm !== undefined) {
    // The module names its flavour (ts/loader.ts flavourOf): no backend needed, a wrong one refused.
    const refused = backend === undefined ? null : refuseNewSource(backend, options.wasm);
    if (refused) throw refused;
    const resolved = await resolveWasm(backend, options.wasm);
    backend = resolved.backend;
    loaded = await loadGlue(backend, options.wasm, resolved.module);
  } else {
    backend ??= await detectBackend();
    loaded = await loadGlue(backend);
  }
  return new Hla(loaded, threads > 1 ? await Pool.start(threads, backend) : null);
}

declare const __HLA_NODE__: boolean;

/** Cores of this machine (at most 64, the pool's limit), for `threads: 'auto'`. */
async function cores(): Promise<number> {
  let n = 1;
  if (__HLA_NODE__ && typeof process !== 'undefined' && process.versions?.node) {
    const os = await import('node:os');
    n = os.availableParallelism?.() ?? os.cpus().length;
  } else if (typeof navigator !== 'undefined') {
    n = navigator.hardwareConcurrency ?? 1;
  }
  return Math.max(1, Math.min(64, n));
}
