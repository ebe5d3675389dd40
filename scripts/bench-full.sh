#!/usr/bin/env bash
# `npm run bench:full`: the whole benchmark matrix (bench/full.ts) in Node and in headless
# Chromium with the same harness (bench/matrix.ts), plus the native anchor; writes
# bench/results/full.json and full.svg, then the cross-runtime table (bench/runtimes.ts:
# bench/results/runtimes.json and runtimes.svg). Builds the package and the native anchor first, and
# installs Debian's Chromium when missing (the Chromium part is skipped, with a note, if that fails).
# Knobs: HLA_BENCH_RUNS, HLA_BENCH_WARMUP, HLA_BENCH_T, HLA_BENCH_STEPS, HLA_BENCH_RUNTIMES
# (default node,chromium,native,runtimes), HLA_BENCH_ROUNDS (bench/runtimes.ts)
# (see bench/full.ts). About 6–8 minutes on a 2-core VM.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
echo "[bench:full] building the native anchor (target-cpu=native)" >&2
RUSTFLAGS="-C target-cpu=native" CARGO_TARGET_DIR=target/native cargo build --quiet --release --example native_bench -p hla-core
case ",${HLA_BENCH_RUNTIMES:-chromium}," in
  *,chromium,*) bash scripts/setup.sh --no-npm --chromium >&2 || echo "[bench:full] no Chromium: its rows will be missing" >&2 ;;
esac
node --experimental-wasm-relaxed-simd scripts/run-ts.mjs bench/full.ts
# Across runtimes (bench/runtimes.ts): hla2 prefill and decode per flavour in Node 20/22/24
# (± flags), Deno, Bun, workerd, Chromium, Firefox ESR → bench/results/runtimes.{json,svg}.
case ",${HLA_BENCH_RUNTIMES:-runtimes}," in
  *,runtimes,*) bash scripts/ensure-runtimes.sh && node scripts/run-ts.mjs bench/runtimes.ts ;;
esac
