#!/usr/bin/env bash
# Builds everything the npm package ships into dist/:
#   1. the wasm flavours (relaxed = SIMD128 + relaxed-SIMD FMA, simd128, scalar) from one
#      kernel source, each through wasm-pack --target web (glue into ts/wasm/<flavour>/);
#   2. the TypeScript facade, bundled by esbuild (ESM + CJS) with .d.ts from tsc.
# Calls scripts/setup.sh first, which installs whatever is missing (and only that).
# wasm-pack runs with --mode no-install: it uses the wasm-bindgen-cli on PATH (the crate's pinned
# version, from scripts/setup.sh) and downloads nothing, which this workplace cannot.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
say() { printf '[build] %s\n' "$*" >&2; }

bash scripts/setup.sh "$@"
rustc=$(cat target/.wasm-rustc)
if [ "$rustc" = /usr/bin/rustc ]; then cargo=/usr/bin/cargo; else cargo=$(dirname "$rustc")/cargo; fi

# One flavour through wasm-pack (the pinned wasm-bindgen-cli on PATH; --mode no-install
# downloads nothing). wasm-opt is skipped (--no-opt): no wasm-opt is provisioned. $1 flavour, $2 out dir, $3 cargo features.
build_flavour() {
  local flavour=$1 out=$2 cargo_features=$3 features
  case $flavour in
    relaxed) features="+simd128,+relaxed-simd" ;;
    simd128) features="+simd128" ;;
    scalar) features="-simd128" ;;
    *) echo "unknown flavour $flavour" >&2; exit 2 ;;
  esac
  say "wasm-pack build hla-wasm ($flavour: $features${cargo_features:+, features $cargo_features}) with $rustc"
  rm -rf "$out"
  CARGO_TARGET_DIR="$here/target/wasm-$flavour" RUSTC="$rustc" RUSTFLAGS="-C target-feature=$features" \
    PATH="$(dirname "$cargo"):$PATH" \
    wasm-pack --quiet build crates/hla-wasm --target web --mode no-install --release --no-opt --no-pack \
      --out-dir "$out" --out-name "hla_$flavour" -- ${cargo_features:+--features "$cargo_features"}
  rm -f "$out/.gitignore"
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
}

flavours=${HLA_FLAVOURS:-"relaxed simd128 scalar"}
for flavour in $flavours; do
  build_flavour "$flavour" "$here/ts/wasm/$flavour" ""
done

say "bundling the facade (esbuild) and declarations (tsc)"
HLA_BUNDLE=package node scripts/bundle.mjs

# The test and benchmark builds (HLA_TESTING=1: scripts/test.sh, scripts/bench.sh): the same
# kernels with the `testing` feature's hooks (panicForTests, the FMA probes) and the facade's
# test knob, bundled into target/testing/dist/ (what tests and bench that need a hook import).
# The shipped dist/ above has none of them (tests/binding.test.ts checks its exports).
if [ "${HLA_TESTING:-}" = 1 ]; then
  for flavour in $flavours; do
    build_flavour "$flavour" "$here/target/testing/wasm/$flavour" testing
  done
  say "bundling the testing facade into target/testing/dist"
  HLA_BUNDLE=testing node scripts/bundle.mjs
fi
