#!/usr/bin/env bash
# The command-line runtimes' share of bench/runtimes.ts on a machine that has only their
# binaries (no npm, no browsers): runs bench/probe-cli.mjs in a project with hla-wasm installed,
# in rotated order for $ROUNDS rounds, one JSON line per run on stdout. bench/runtimes.ts
# builds the table from that file with HLA_BENCH_FROM=<file>.
#   usage: rounds.sh <project dir> <bin dir with node20 node22 node24 deno bun>   (env ROUNDS=5)
set -euo pipefail
project=$1 bin=$2 rounds=${ROUNDS:-5}
contenders=(
  "Node 20||$bin/node20"
  "Node 20|--experimental-wasm-relaxed-simd|$bin/node20 --experimental-wasm-relaxed-simd"
  "Node 22||$bin/node22"
  "Node 22|--experimental-wasm-revectorize|$bin/node22 --experimental-wasm-revectorize"
  "Node 24||$bin/node24"
  "Node 24|--experimental-wasm-revectorize|$bin/node24 --experimental-wasm-revectorize"
  "Deno|--allow-read|$bin/deno run --allow-read"
  "Bun||$bin/bun"
)
version() {
  case $1 in
    Node*) ${2%% *} --version ;;
    Deno) "$bin/deno" --version | head -1 | cut -d' ' -f2 ;;
    Bun) "$bin/bun" --version ;;
  esac
}
cd "$project"
n=${#contenders[@]}
for ((r = 0; r < rounds; r++)); do
  for ((i = 0; i < n; i++)); do
    IFS='|' read -r name flags cmd <<<"${contenders[(i + r) % n]}"
    echo "[rounds] round $((r + 1))/$rounds: $name $flags" >&2
    probe=$($cmd bench/probe-cli.mjs)
    printf '{"name":"%s","version":"%s","flags":"%s","probe":%s}\n' "$name" "$(version "$name" "$cmd")" "$flags" "$probe"
  done
done
