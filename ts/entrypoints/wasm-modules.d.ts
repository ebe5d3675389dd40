// What workerd and wrangler give for a `.wasm` import (ts/entrypoints/use-modules.ts).
declare module '*.wasm' {
  const module: WebAssembly.Module;
  export default module;
}
