#!/usr/bin/env bash
# Makes this machine able to build hla-wasm: a wasm32 Rust std, wasm-bindgen-cli pinned to the
# crate's version, and the npm dev dependencies. Idempotent: every step checks first, says what it
# found, and only acts when something is missing.
#
# Why not just `rustup target add wasm32-unknown-unknown`? On this workplace's machines rustup
# cannot download targets. We try it first and otherwise use Debian's rustc-web (1.96, LLVM 22,
# with /usr/bin/rust-lld) and build the wasm32 std once from Debian's rust-web-src.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' "$here/crates/hla-wasm/Cargo.toml")
TARGET=wasm32-unknown-unknown
say() { printf '[toolchain] %s\n' "$*" >&2; }

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

# --- 3. npm dev dependencies -----------------------------------------------------------------------
ensure_node_modules() {
  if [ -d "$here/node_modules/.bin" ] && [ "$here/node_modules/.package-lock.json" -nt "$here/package-lock.json" ]; then
    say "node_modules: ok"; return
  fi
  say "npm ci"
  (cd "$here" && npm ci --no-audit --no-fund >&2)
}

main() {
  local rustc; rustc=$(pick_rustc)
  say "wasm32 rustc: $rustc ($("$rustc" --version))"
  ensure_wasm_bindgen
  [ "${1:-}" = "--no-npm" ] || ensure_node_modules
  # Tell the build which compiler to use (scripts/build.sh sources this line).
  mkdir -p "$here/target"
  echo "$rustc" >"$here/target/.wasm-rustc"
}
main "$@"
