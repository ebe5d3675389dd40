// The one seam to the wasm-bindgen glue. Each flavour has its own copy of the glue, so several
// can live side by side in one realm (the benchmark compares them in one run). Where a
// flavour's .wasm comes from by default is the only runtime-specific part: each entry under
// ts/entrypoints/ hands its way of finding it to `useDefaultWasm` and re-exports the facade.
import { relaxedSimd, simd } from 'wasm-feature-detect';
import initRelaxed, * as relaxed from './wasm/relaxed/hla_relaxed.js';
import initScalar, * as scalar from './wasm/scalar/hla_scalar.js';
import initSimd128, * as simd128 from './wasm/simd128/hla_simd128.js';
import { Detail, rangeError, typeError } from './errors.js';
import { Runtime } from './runtime.js';

import { BACKENDS, type Backend, type WasmSource } from './types.js';

export type { Backend, WasmSource };
export { BACKENDS };

export type Glue = typeof simd128;

type InitFn = (input: { module_or_path: WebAssembly.Module }) => Promise<unknown>;
const FLAVOURS: Record<Backend, { init: InitFn; glue: Glue }> = {
  relaxed: { init: initRelaxed as unknown as InitFn, glue: relaxed },
  simd128: { init: initSimd128 as unknown as InitFn, glue: simd128 },
  scalar: { init: initScalar as unknown as InitFn, glue: scalar },
};

/** A flavour's glue and its instance (replaced after a trap: ts/runtime.ts). */
export type Loaded = Runtime;

/** How this runtime finds a flavour's .wasm when `init()` is given none (set by the entry). */
export type DefaultWasm = (backend: Backend) => WasmSource | Promise<WasmSource>;

let defaultWasm: DefaultWasm = () => {
  throw new Error('hla-wasm: no default .wasm location in this build; pass init({ wasm })');
};

/** Called once by each runtime entry (ts/entrypoints/*) before anything loads. */
export function useDefaultWasm(find: DefaultWasm): void {
  defaultWasm = find;
}

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

/**
 * The flavour a compiled module was built as. wasm-bindgen names the glue module its imports
 * come from after the output name (`./hla_simd128_bg.js`), and the three builds differ in
 * nothing else a host can see, so the import names are the flavour's signature.
 */
export function flavourOf(module: WebAssembly.Module): Backend | null {
  const names = new Set(WebAssembly.Module.imports(module).map((i) => i.module));
  const found = BACKENDS.filter((b) => names.has(`./hla_${b}_bg.js`));
  return found.length === 1 ? found[0] : null;
}

function isBufferSource(x: unknown): x is BufferSource {
  return x instanceof ArrayBuffer || ArrayBuffer.isView(x) || (typeof SharedArrayBuffer !== 'undefined' && x instanceof SharedArrayBuffer);
}

/** Any accepted source as a compiled module (the glue instantiates modules as they are). */
export async function compile(source: WasmSource): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  if (isBufferSource(source)) return WebAssembly.compile(source);
  let response: Response;
  if (typeof Response !== 'undefined' && source instanceof Response) response = source;
  else if (typeof source === 'string' || source instanceof URL) response = await fetch(source);
  else throw typeError('wasm', 'bytes, a URL, a Response or a WebAssembly.Module', source);
  if (!response.ok) throw new Error(`hla-wasm: fetching ${response.url || 'the .wasm'} failed: ${response.status} ${response.statusText}`);
  // Streaming compilation needs the application/wasm type; servers that send another fall back to bytes.
  if (typeof WebAssembly.compileStreaming === 'function' && response.headers.get('content-type')?.startsWith('application/wasm')) {
    return WebAssembly.compileStreaming(response);
  }
  return WebAssembly.compile(await response.arrayBuffer());
}

/**
 * The module to run and its flavour: `source` (checked against `backend` when both are given),
 * or the entry's default for `backend`. A module that is no hla-wasm flavour, or another
 * flavour than the one asked for, is a RangeError naming both.
 */
export async function resolveWasm(backend: Backend | undefined, source: WasmSource | undefined): Promise<{ backend: Backend; module: WebAssembly.Module }> {
  if (source === undefined) {
    const b = backend ?? (await detectBackend());
    return { backend: b, module: await compile(await defaultWasm(b)) };
  }
  let module: WebAssembly.Module;
  try {
    module = await compile(source);
  } catch (e) {
    if (!(e instanceof WebAssembly.CompileError)) throw e;
    throw new RangeError(`wasm: expected a .wasm this runtime can compile (hla_relaxed.wasm needs relaxed SIMD: Node ≥ 22, Chromium ≥ 114, or a flag; else pass hla_simd128.wasm), got a CompileError: ${e.message}`);
  }
  const found = flavourOf(module);
  if (found === null) {
    const from = [...new Set(WebAssembly.Module.imports(module).map((i) => i.module))].join(', ') || 'nothing';
    throw rangeError('wasm', 'an hla-wasm flavour (hla_relaxed.wasm, hla_simd128.wasm or hla_scalar.wasm)', new Detail(`a module importing from ${from}`));
  }
  if (backend !== undefined && backend !== found) throw rangeError('wasm', `the ${backend} flavour (hla_${backend}.wasm) to match backend: '${backend}'`, new Detail(`hla_${found}.wasm (the ${found} flavour)`));
  return { backend: found, module };
}

/** The error for a `source` other than the one `backend` was loaded from, if it is loaded. */
export function refuseNewSource(backend: Backend, source: WasmSource | undefined): RangeError | null {
  if (!loaded.has(backend) || source === undefined || sources.get(backend) === source) return null;
  const first = sources.get(backend) === undefined ? 'the default file' : 'another source';
  return rangeError('wasm', `no source, or the one ${backend} was first loaded from (one instance per flavour per realm)`, `a new source after ${backend} was loaded from ${first}`);
}

/**
 * Instantiates `backend` once per realm, from `module` (compiled from the caller's `source`) or
 * the entry's default. Later calls share the instance (each facade keeps its own scratch
 * `Engine`); a later call with another `source` is refused rather than ignored: the glue holds
 * one instance per flavour, which ts/runtime.ts replaces after a trap.
 */
export function loadGlue(backend: Backend, source?: WasmSource, module?: WebAssembly.Module): Promise<Loaded> {
  let p = loaded.get(backend);
  const refused = refuseNewSource(backend, source);
  if (refused) return Promise.reject(refused);
  if (!p) {
    sources.set(backend, source);
    p = (async () => {
      const { init, glue } = FLAVOURS[backend];
      const m = module ?? (source !== undefined ? await compile(source) : (await resolveWasm(backend, undefined)).module);
      const exports = (await init({ module_or_path: m })) as { memory: WebAssembly.Memory };
      return new Runtime(backend, glue, exports.memory, () => (glue.__hla_reinstantiate() as { memory: WebAssembly.Memory }).memory);
    })();
    p.catch(() => loaded.delete(backend));
    loaded.set(backend, p);
  }
  return p;
}
