#!/usr/bin/env bash
# All tests: native kernel tests (cargo), then the wasm build's tests (vitest, every backend).
# Works on a fresh machine: scripts/build.sh installs whatever the toolchain lacks.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

# HLA_TESTING=1: also the testing build (hooks) the tests need, in target/testing/.
HLA_TESTING=1 bash scripts/build.sh --chromium

echo "[test] cargo test (hla-core, native: baseline x86-64, 4-lane Sse)" >&2
cargo test --release -p hla-core
# The native anchor's build (8-lane Avx2 where the CPU has it), in its own target dir.
echo "[test] cargo test (hla-core, native: target-cpu=native, the benchmark's anchor)" >&2
RUSTFLAGS="-C target-cpu=native" CARGO_TARGET_DIR=target/native cargo test --release -p hla-core

echo "[test] tsc --noEmit (facade, tests, bench)" >&2
node_modules/.bin/tsc -p tsconfig.json

# The browser test drives Debian's Chromium (scripts/setup.sh --chromium, above, installs it).
# The cross-runtime tests (tests/runtimes.test.ts, tests/redis.test.ts): Node 22/24, Deno, Bun,
# wrangler/workerd from npm, Firefox ESR and redis-server from apt, each only when missing.
bash scripts/ensure-runtimes.sh

echo "[test] vitest (wasm build, every backend, every runtime, edge HTTP, Redis)" >&2
mkdir -p target
node_modules/.bin/vitest run --reporter=default --reporter=json --outputFile.json=target/vitest.json "$@"
node -e '
const r = require("./target/vitest.json");
console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
'
