#!/usr/bin/env bash
# The one provisioning script: makes this machine able to build, test and benchmark hla-wasm —
# a wasm32 Rust std, wasm-bindgen-cli pinned to the crate's version, wasm-pack, the npm dev
# dependencies and (with --chromium) Debian's Chromium for the browser test and bench.
# Idempotent: every step checks first, says what it found, and only acts when something is
# missing; scripts/build.sh (so `npm test`, `npm run bench`) calls it on every run.
# Usage: bash scripts/setup.sh [--no-npm] [--chromium]
#
# Why not just `rustup target add wasm32-unknown-unknown`? On this workplace's machines rustup
# cannot download targets. We try it first and otherwise use Debian's rustc-web (1.96, LLVM 22,
# with /usr/bin/rust-lld) and build the wasm32 std once from Debian's rust-web-src.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' "$here/crates/hla-wasm/Cargo.toml")
TARGET=wasm32-unknown-unknown
say() { printf '[setup] %s\n' "$*" >&2; }

# --- 1. a rustc that can target wasm32 ------------------------------------------------------------
has_wasm_std() { # $1 = rustc
  local dir; dir=$("$1" --print target-libdir --target $TARGET 2>/dev/null) || return 1
  compgen -G "$dir/libstd-*.rlib" >/dev/null
}

pick_rustc() {
  if [ "${HLA_TOOLCHAIN:-}" != debian ] && command -v rustup >/dev/null 2>&1; then
    local rr; rr=$(rustup which rustc 2>/dev/null || true)
    if [ -n "$rr" ] && has_wasm_std "$rr"; then echo "$rr"; return; fi
    say "trying: rustup target add $TARGET"
    if rustup target add $TARGET >/dev/null 2>&1 && has_wasm_std "$rr"; then echo "$rr"; return; fi
    say "rustup could not add $TARGET (no download access); using Debian's rustc-web"
  fi
  if ! [ -x /usr/bin/rustc ] || ! [ -d /usr/lib/rustlib/src/rust/library/vendor ] || ! [ -x "$(readlink -f /usr/bin/rust-lld)" ]; then
    say "installing Debian packages rustc-web cargo-web rust-web-src rust-web-llvm lld-22"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq rustc-web cargo-web rust-web-src rust-web-llvm lld-22 >&2
  fi
  if ! has_wasm_std /usr/bin/rustc; then build_wasm_std; fi
  echo /usr/bin/rustc
}

build_wasm_std() {
  local work libdir
  work=$(mktemp -d)
  libdir=$(/usr/bin/rustc --print target-libdir --target $TARGET)
  say "building the $TARGET std from /usr/lib/rustlib/src (once; ~2 min) in $work"
  mkdir -p "$work/src" "$work/.cargo"
  cat >"$work/Cargo.toml" <<'TOML'
[package]
name = "hla_std_probe"
version = "0.0.0"
edition = "2021"
[lib]
path = "src/lib.rs"
[profile.release]
opt-level = 3
TOML
  echo '#![no_std]' >"$work/src/lib.rs"
  # std's own dependencies come from Debian's vendored copies: no network needed.
  cat >"$work/.cargo/config.toml" <<'TOML'
[source.crates-io]
replace-with = "debian-vendor"
[source.debian-vendor]
directory = "/usr/lib/rustlib/src/rust/library/vendor"
TOML
  (cd "$work" && RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_HOME="$work/.cargo-home" \
    /usr/bin/cargo build --release --offline -Zbuild-std=std,panic_abort --target $TARGET >&2)
  mkdir -p "$libdir"
  find "$work/target/$TARGET/release/deps" -name 'lib*.rlib' ! -name 'libhla_std_probe-*' \
    -exec cp {} "$libdir/" \;
  say "installed $(ls "$libdir" | wc -l) std rlibs into $libdir"
  rm -rf "$work"
}

# --- 2. wasm-bindgen-cli, the exact version of the crate ------------------------------------------
ensure_wasm_bindgen() {
  local have=""
  if command -v wasm-bindgen >/dev/null 2>&1; then have=$(wasm-bindgen --version | awk '{print $2}'); fi
  if [ "$have" = "$WASM_BINDGEN_VERSION" ]; then say "wasm-bindgen $have: ok"; return; fi
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION from crates.io (had: ${have:-none}; ~5 min)"
  # Host build: any cargo will do; --locked is not used because the lockfile pins a
  # webpki-roots release that the registry no longer serves.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" >&2
}

# --- 3. wasm-pack (drives the wasm builds; --mode no-install uses the wasm-bindgen above) ----------
ensure_wasm_pack() {
  if command -v wasm-pack >/dev/null 2>&1; then say "wasm-pack $(wasm-pack --version | awk '{print $2}'): ok"; return; fi
  # ~20 min measured on this workplace's shared 2-core machines under load (cargo install
  # wasm-pack --locked, 2026-12-01: 1174 s); a fresh CI machine has the cores to itself.
  say "installing wasm-pack from crates.io (cargo install wasm-pack --locked)"
  cargo install wasm-pack --locked >&2
}

# --- 4. Chromium (tests/browser.test.ts, bench:full), with --chromium ------------------------------
ensure_chromium() {
  local chromium=/usr/bin/chromium sudo=""
  if [ -x "$chromium" ]; then say "chromium: ok ($("$chromium" --version 2>/dev/null || echo 'version unknown'))"; return; fi
  command -v apt-get >/dev/null 2>&1 || { say "error: no apt-get; install Chromium at $chromium by hand"; return 1; }
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { say "error: not root and no sudo; cannot install chromium"; return 1; }
    sudo=sudo
  fi
  say "installing Debian's chromium (apt-get)"
  $sudo apt-get update -qq >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
  [ -x "$chromium" ] || { say "error: installed, but $chromium is still missing"; return 1; }
}

# --- 5. npm dev dependencies -----------------------------------------------------------------------
ensure_node_modules() {
  if [ -d "$here/node_modules/.bin" ] && [ "$here/node_modules/.package-lock.json" -nt "$here/package-lock.json" ]; then
    say "node_modules: ok"; return
  fi
  say "npm ci"
  (cd "$here" && npm ci --no-audit --no-fund >&2)
}

main() {
  local npm=1 chromium=0 a
  for a in "$@"; do
    case $a in
      --no-npm) npm=0 ;;
      --chromium) chromium=1 ;;
      *) echo "setup.sh: unknown option $a" >&2; exit 2 ;;
    esac
  done
  local rustc; rustc=$(pick_rustc)
  say "wasm32 rustc: $rustc ($("$rustc" --version))"
  ensure_wasm_bindgen
  ensure_wasm_pack
  [ $npm = 0 ] || ensure_node_modules
  [ $chromium = 0 ] || ensure_chromium
  # Tell the build which compiler to use (scripts/build.sh sources this line).
  mkdir -p "$here/target"
  echo "$rustc" >"$here/target/.wasm-rustc"
}
main "$@"
