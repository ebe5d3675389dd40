#!/usr/bin/env bash
# Builds everything the npm package ships into dist/:
#   1. the wasm flavours (relaxed = SIMD128 + relaxed-SIMD FMA, simd128, scalar) from one
#      kernel source, each through wasm-bindgen --target web (glue into ts/wasm/<flavour>/);
#   2. the TypeScript facade, bundled by esbuild (ESM + CJS) with .d.ts from tsc.
# Calls scripts/toolchain.sh first, which installs whatever is missing (and only that).
# We drive cargo + wasm-bindgen-cli directly instead of wasm-pack: wasm-pack downloads its own
# wasm-bindgen and binaryen binaries from GitHub, which this workplace cannot reach.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
say() { printf '[build] %s\n' "$*" >&2; }

bash scripts/toolchain.sh "$@"
rustc=$(cat target/.wasm-rustc)
if [ "$rustc" = /usr/bin/rustc ]; then cargo=/usr/bin/cargo; else cargo=$(dirname "$rustc")/cargo; fi

flavours=${HLA_FLAVOURS:-"relaxed simd128 scalar"}
for flavour in $flavours; do
  case $flavour in
    relaxed) features="+simd128,+relaxed-simd" ;;
    simd128) features="+simd128" ;;
    scalar) features="-simd128" ;;
    *) echo "unknown flavour $flavour" >&2; exit 2 ;;
  esac
  say "cargo build hla-wasm ($flavour: $features) with $rustc"
  CARGO_TARGET_DIR="target/wasm-$flavour" RUSTC="$rustc" RUSTFLAGS="-C target-feature=$features" \
    "$cargo" build --quiet --release --target wasm32-unknown-unknown -p hla-wasm
  out="ts/wasm/$flavour"
  rm -rf "$out"
  wasm-bindgen --target web --out-dir "$out" --out-name "hla_$flavour" \
    "target/wasm-$flavour/wasm32-unknown-unknown/release/hla_wasm.wasm"
  # The glue keeps one instance in module-level state and exports no way to replace it; after
  # a trap (panic = "abort") the facade needs a fresh instance of the same module (ts/runtime.ts).
  cat >> "$out/hla_$flavour.js" <<'GLUE'

/** Added by hla-wasm's scripts/build.sh: replaces this glue's instance with a fresh one of the same module. */
export function __hla_reinstantiate() {
    const instance = new WebAssembly.Instance(wasmModule, __wbg_get_imports());
    return __wbg_finalize_init(instance, wasmModule);
}
GLUE
  cat >> "$out/hla_$flavour.d.ts" <<'GLUE'

/** Added by hla-wasm's scripts/build.sh: replaces this glue's instance with a fresh one of the same module. */
export function __hla_reinstantiate(): InitOutput;
GLUE
done

say "bundling the facade (esbuild) and declarations (tsc)"
node scripts/bundle.mjs
