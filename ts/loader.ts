// Loads one wasm flavour. Each flavour has its own copy of the wasm-bindgen glue, so several
// can live side by side in one realm (the benchmark compares them in one run).
import { relaxedSimd, simd } from 'wasm-feature-detect';
import initRelaxed, * as relaxed from './wasm/relaxed/hla_relaxed.js';
import initScalar, * as scalar from './wasm/scalar/hla_scalar.js';
import initSimd128, * as simd128 from './wasm/simd128/hla_simd128.js';

import { rangeError } from './errors.js';
import { Runtime } from './runtime.js';
import type { Backend, WasmSource } from './types.js';

export type { Backend, WasmSource };
export { BACKENDS } from './types.js';

export type Glue = typeof simd128;

type InitFn = (input: { module_or_path: unknown }) => Promise<unknown>;
const FLAVOURS: Record<Backend, { init: InitFn; glue: Glue; url: () => URL }> = {
  // One literal URL per file (not a template) so that bundlers can find and emit each .wasm.
  relaxed: { init: initRelaxed as InitFn, glue: relaxed, url: () => new URL('./hla_relaxed.wasm', import.meta.url) },
  simd128: { init: initSimd128 as InitFn, glue: simd128, url: () => new URL('./hla_simd128.wasm', import.meta.url) },
  scalar: { init: initScalar as InitFn, glue: scalar, url: () => new URL('./hla_scalar.wasm', import.meta.url) },
};

/** A flavour's glue and its instance (replaced after a trap: ts/runtime.ts). */
export type Loaded = Runtime;

const loaded = new Map<Backend, Promise<Loaded>>();
/** The `source` each flavour was first loaded from (undefined: the default file). */
const sources = new Map<Backend, WasmSource | undefined>();

/** The best flavour this runtime can run (relaxed SIMD needs Node ≥ 22, Chromium ≥ 114, or a flag). */
export async function detectBackend(): Promise<Backend> {
  if (await relaxedSimd()) return 'relaxed';
  if (await simd()) return 'simd128';
  return 'scalar';
}

export async function supported(backend: Backend): Promise<boolean> {
  return backend === 'scalar' || (backend === 'simd128' ? simd() : relaxedSimd());
}

// Replaced at bundle time: false in the browser build, so its node:fs branch is dropped.
declare const __HLA_NODE__: boolean;
const isNode = __HLA_NODE__ && typeof process !== 'undefined' && process.versions != null && process.versions.node != null;

async function defaultSource(backend: Backend): Promise<WasmSource> {
  const url = FLAVOURS[backend].url();
  if (__HLA_NODE__ && isNode && url.protocol === 'file:') {
    const { readFile } = await import('node:fs/promises');
    return readFile(url);
  }
  return url;
}

/**
 * Instantiates `backend` once per realm; `source` (if given) is used for that first load.
 * Later calls share the instance (each facade keeps its own scratch `Engine`); a later call
 * with another `source` is refused rather than ignored: the glue holds one instance per flavour.
 */
export function loadGlue(backend: Backend, source?: WasmSource): Promise<Loaded> {
  let p = loaded.get(backend);
  if (p && source !== undefined && sources.get(backend) !== source) {
    const first = sources.get(backend) === undefined ? 'the default file' : 'another source';
    return Promise.reject(rangeError('wasm', `no source, or the one ${backend} was first loaded from (one instance per flavour per realm)`, `a new source after ${backend} was loaded from ${first}`));
  }
  if (!p) {
    sources.set(backend, source);
    p = (async () => {
      const { init, glue } = FLAVOURS[backend];
      const exports = (await init({ module_or_path: source ?? (await defaultSource(backend)) })) as { memory: WebAssembly.Memory };
      return new Runtime(backend, glue, exports.memory, () => (glue.__hla_reinstantiate() as { memory: WebAssembly.Memory }).memory);
    })();
    p.catch(() => loaded.delete(backend));
    loaded.set(backend, p);
  }
  return p;
}
