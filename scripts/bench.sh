#!/usr/bin/env bash
# `npm run bench`: builds the package and the native anchor (the same hla-core kernels for this
# CPU), then runs the benchmark. Node 20 needs the flag for the relaxed-SIMD flavour.
set -euo pipefail
cd "$(dirname "$0")/.."
# HLA_TESTING=1: also the testing build, whose FMA probe the benchmark reads (target/testing/).
HLA_TESTING=1 bash scripts/build.sh
echo "[bench] building the native anchor (target-cpu=native)" >&2
RUSTFLAGS="-C target-cpu=native" CARGO_TARGET_DIR=target/native cargo build --quiet --release --example native_bench -p hla-core
RUSTFLAGS="-C target-cpu=native" CARGO_TARGET_DIR=target/native cargo build --quiet --release --example gated_race -p hla-core
RUSTFLAGS="-C target-cpu=native" CARGO_TARGET_DIR=target/native cargo build --quiet --release --example second_race -p hla-core
# The same at wasm's vector width: 128-bit Sse with FMA (no AVX2), for a same-width comparison.
echo "[bench] building the 128-bit native anchor (target-cpu=native, -avx2)" >&2
RUSTFLAGS="-C target-cpu=native -C target-feature=-avx2" CARGO_TARGET_DIR=target/native-128 cargo build --quiet --release --example native_bench -p hla-core
node --experimental-wasm-relaxed-simd scripts/run-ts.mjs bench/run.ts
# The gated family's rows (gla, deltaRule): bench/gated.ts.
node --experimental-wasm-relaxed-simd scripts/run-ts.mjs bench/gated.ts
# sse and rla (bench/second.ts): sse vs N and topK against (1 + topK)× its base, rla against 2×.
node --experimental-wasm-relaxed-simd scripts/run-ts.mjs bench/second.ts
