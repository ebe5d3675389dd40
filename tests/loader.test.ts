// init({ wasm }): the flavour comes from the module itself (its imports name wasm-bindgen's glue,
// `./hla_<flavour>_bg.js`); a mismatch or a foreign module is a RangeError naming both; where
// modules have no URL (workerd without the workerd build) init() says to pass init({ wasm }).
// A flavour loads once per realm (a new source after that is refused: tests/hostile.test.ts), so
// every case runs in its own copy of the browser build, evaluated as CommonJS.
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import type { init as Init } from '../dist/index.mjs';

const root = new URL('..', import.meta.url).pathname;
const bytes = (flavour: string) => readFileSync(`${root}dist/hla_${flavour}.wasm`);

// esbuild leaves import.meta empty outside ESM: the browser build as CommonJS has no module URL.
const { outputFiles } = await build({ entryPoints: [`${root}dist/index.browser.mjs`], bundle: true, format: 'cjs', platform: 'neutral', write: false, logLevel: 'silent' });
/** `init` of a fresh copy of the package (its own glue, nothing loaded yet, no module URL). */
function fresh(): typeof Init {
  const module = { exports: {} as { init: typeof Init } };
  new Function('module', 'exports', outputFiles[0].text)(module, module.exports);
  return module.exports.init;
}

describe('init({ wasm })', () => {
  it.each(['relaxed', 'simd128', 'scalar'])('reads the flavour from hla_%s.wasm (bytes, Module, Response)', async (flavour) => {
    expect((await fresh()({ wasm: bytes(flavour) })).backend).toBe(flavour);
    expect((await fresh()({ wasm: await WebAssembly.compile(bytes(flavour)) })).backend).toBe(flavour);
    const response = new Response(bytes(flavour), { headers: { 'content-type': 'application/wasm' } });
    expect((await fresh()({ wasm: response })).backend).toBe(flavour);
    expect((await fresh()({ wasm: bytes(flavour), backend: flavour as 'scalar' })).backend).toBe(flavour);
  });

  it('a module of another flavour than `backend` is a RangeError naming both', async () => {
    await expect(fresh()({ wasm: bytes('scalar'), backend: 'simd128' })).rejects.toThrow(
      new RangeError("wasm: expected the simd128 flavour (hla_simd128.wasm) to match backend: 'simd128', got hla_scalar.wasm (the scalar flavour)"),
    );
  });

  it('a module that is no hla-wasm flavour is a RangeError naming what it imports', async () => {
    const empty = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    await expect(fresh()({ wasm: empty })).rejects.toThrow(/^wasm: expected an hla-wasm flavour .*, got a module importing from nothing$/);
    await expect(fresh()({ wasm: new Uint8Array([1, 2, 3]) })).rejects.toThrow(/^wasm: expected a \.wasm this runtime can compile.*CompileError/);
  });

  it('a source of the wrong kind is a TypeError', async () => {
    await expect(fresh()({ wasm: 42 as never })).rejects.toThrow(new TypeError('wasm: expected bytes, a URL, a Response or a WebAssembly.Module, got 42'));
  });
});

it('without a module URL (import.meta.url undefined, as on workerd) init() says to pass init({ wasm })', async () => {
  await expect(fresh()({ backend: 'simd128' })).rejects.toThrow(/import\.meta\.url is undefined\), so hla_simd128\.wasm can't be located: pass init\(\{ wasm \}\)/);
  expect((await fresh()({ wasm: bytes('simd128') })).backend).toBe('simd128');
});
