#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed at /usr/bin/chromium (for tests/browser.test.ts,
# which drives it headless through playwright-core). Idempotent: does nothing when present.
# Installing needs root (or passwordless sudo) and apt-get (Debian/Ubuntu).
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  echo "[ensure-chromium] $CHROMIUM present: $("$CHROMIUM" --version 2>/dev/null || echo 'version unknown')"
  exit 0
fi

echo "[ensure-chromium] $CHROMIUM missing: installing Debian's chromium package via apt-get"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "[ensure-chromium] error: apt-get not found; install Chromium at $CHROMIUM by hand" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "[ensure-chromium] error: not root and no sudo; cannot install chromium" >&2
    exit 1
  fi
fi

echo "[ensure-chromium] apt-get update"
$SUDO apt-get update -qq
echo "[ensure-chromium] apt-get install chromium"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

if [ ! -x "$CHROMIUM" ]; then
  echo "[ensure-chromium] error: installed, but $CHROMIUM is still missing" >&2
  exit 1
fi
echo "[ensure-chromium] installed: $("$CHROMIUM" --version 2>/dev/null || echo 'version unknown')"
