#!/usr/bin/env bash
# bench/threads.ts, then bench/ceiling.ts (the same work on plain workers, no pool: what the
# machine itself allows), on the device tool's 16-core machine, which has no Node and no
# network: the benches are bundled here (esbuild) and travel with the built package (dist/:
# index.mjs, worker.mjs and the .wasm files beside them) and a compressed Node of this machine.
#
#   bash scripts/device-threads.sh prepare   # here: build, bundle, pack Node; prints the device call
#   bash scripts/device-threads.sh run       # there: writes $OUT/threads.json, threads.svg, threads.md,
#                                            # ceiling.json, ceiling.md, lscpu.txt
#
# prepare: HLA_SKIP_BUILD=1 skips scripts/build.sh (dist/ already built from this tree).
# run: HLA_NODE=/path/to/node skips unpacking (a check of the script here, with OUT set and
# e.g. HLA_THREADS_SMALL=1 HLA_THREADS_MAX=2). bench/threads.ts stops starting workloads after
# HLA_THREADS_DEADLINE seconds (default 300) and is killed at 360 (it takes ~100 s on 16 cores);
# bench/ceiling.ts after HLA_CEILING_DEADLINE (default 150), killed at 200: 560 s at most,
# inside the tool's 600.
#
# An old build against this one (bench/pool-ab.ts, one process, interleaved rounds, 8 and 16
# workers): prepare with HLA_AB_OLD=path/to/old/dist (copied to target/devbench/old), then run
# with HLA_DEVICE_BENCHES="threads ab" (default "threads ceiling"); it writes $OUT/pool-ab.log.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
say() { printf '[device-threads] %s\n' "$*" >&2; }

case "${1:-}" in
prepare)
  if [ "${HLA_SKIP_BUILD:-}" != 1 ]; then bash scripts/build.sh; fi
  for f in dist/index.mjs dist/worker.mjs dist/hla_relaxed.wasm; do
    [ -f "$f" ] || { echo "missing $f: run scripts/build.sh" >&2; exit 1; }
  done
  say "bundling bench/threads.ts, bench/ceiling.ts and their charts into target/devbench/"
  mkdir -p target/devbench
  # The package stays external, imported as ../../dist/index.mjs (from target/devbench/): its
  # worker.mjs and .wasm files resolve next to it, as in an installed package.
  node --input-type=module -e "
    import { build } from 'esbuild';
    for (const name of ['threads', 'threads-chart', 'ceiling', 'ceiling-chart', 'pool-ab']) {
      await build({
        entryPoints: ['bench/' + name + '.ts'], bundle: true, platform: 'node', format: 'esm', target: 'node20',
        outfile: 'target/devbench/' + name + '.mjs', external: ['node:*'], logLevel: 'warning',
        plugins: [{ name: 'dist', setup(b) { b.onResolve({ filter: /\/dist\/index\.mjs$/ }, () => ({ path: '../../dist/index.mjs', external: true })); } }],
      });
    }"
  carry='"dist", ".devnode", "target/devbench/threads.mjs", "target/devbench/threads-chart.mjs", "target/devbench/ceiling.mjs", "target/devbench/ceiling-chart.mjs"'
  if [ -n "${HLA_AB_OLD:-}" ]; then
    rm -rf target/devbench/old && cp -a "$HLA_AB_OLD" target/devbench/old
    carry="$carry, \"target/devbench/pool-ab.mjs\", \"target/devbench/old\""
  fi
  mkdir -p .devnode
  if [ ! -s .devnode/node.xz ] || [ "$(command -v node)" -nt .devnode/node.xz ]; then
    say "packing $(command -v node) ($(node --version)) into .devnode/node.xz"
    xz -T2 -6 -c "$(command -v node)" > .devnode/node.xz
  fi
  cat >&2 <<EOF
[device-threads] ready. On the device tool (kind nvidia-h200: 16 cores), one call:
  command: bash scripts/device-threads.sh run
  carry:   [$carry]
  timeout_s: 600
then copy threads.json, threads.svg and ceiling.json from its files_at into bench/results/
(threads.md and ceiling.md: the README tables).
EOF
  ;;
run)
  : "${OUT:?OUT must be set (the device tool sets it)}"
  node=${HLA_NODE:-}
  if [ -z "$node" ]; then
    node=/tmp/hla-node
    python3 -c "import lzma,shutil; shutil.copyfileobj(lzma.open('.devnode/node.xz'), open('$node','wb'))"
    chmod +x "$node"
  fi
  lscpu > "$OUT/lscpu.txt" 2>&1 || true
  nproc >> "$OUT/lscpu.txt"
  git log -1 --format='%H %s' > "$OUT/commit.txt" 2>/dev/null || true
  benches=${HLA_DEVICE_BENCHES:-threads ceiling}
  for bench in $benches; do
    start=$(date +%s)
    case $bench in
    threads)
      # A bench cut short (timeout) still leaves what it measured: the rest runs regardless.
      timeout 360 "$node" --experimental-wasm-relaxed-simd target/devbench/threads.mjs 2>&1 | tee "$OUT/threads.log" ||
        say "threads bench exited with $?"
      "$node" target/devbench/threads-chart.mjs > "$OUT/threads.md" || say "threads chart failed"
      cat "$OUT/threads.md"
      ;;
    ceiling)
      timeout 200 "$node" --experimental-wasm-relaxed-simd target/devbench/ceiling.mjs "$OUT/ceiling.json" 2>&1 | tee "$OUT/ceiling.log" ||
        say "ceiling bench exited with $?"
      "$node" target/devbench/ceiling-chart.mjs "$OUT/ceiling.json" > "$OUT/ceiling.md" || say "ceiling chart failed"
      cat "$OUT/ceiling.md"
      ;;
    ab)
      timeout 200 "$node" --experimental-wasm-relaxed-simd target/devbench/pool-ab.mjs target/devbench/old/index.mjs dist/index.mjs 8 16 2>&1 | tee "$OUT/pool-ab.log" ||
        say "pool-ab exited with $?"
      ;;
    *) say "unknown bench $bench" ;;
    esac
    say "$bench: $(( $(date +%s) - start )) s"
  done
  ;;
*)
  echo "usage: bash scripts/device-threads.sh prepare|run" >&2
  exit 2
  ;;
esac
