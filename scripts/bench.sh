#!/usr/bin/env bash
# `npm run bench`: builds the package and the native anchor (the same hla-core kernels for this
# CPU), then runs the benchmark. Node 20 needs the flag for the relaxed-SIMD flavour.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
echo "[bench] building the native anchor (target-cpu=native)" >&2
RUSTFLAGS="-C target-cpu=native" CARGO_TARGET_DIR=target/native cargo build --quiet --release --example native_bench -p hla-core
node --experimental-wasm-relaxed-simd scripts/run-ts.mjs bench/run.ts
