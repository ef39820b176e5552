#!/usr/bin/env bash
# One command: install everything the tests need, lint, type-check, run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Matroska chapter publishing is tested against the real tools: Debian's mkvtoolnix writes the chapters, and mpv
# (a real player, with a chapter-skip script) reads and skips them. Each one missing skips only its own tests.
missing=()
command -v mkvpropedit >/dev/null 2>&1 || missing+=(mkvtoolnix)
command -v mpv >/dev/null 2>&1 || missing+=(mpv)
if [ "${#missing[@]}" -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq || true
  for package in "${missing[@]}"; do
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$package" >/dev/null \
      || echo "warning: could not install $package; its tests will be skipped" >&2
  done
fi
if ! command -v kodi >/dev/null 2>&1 || ! command -v Xvfb >/dev/null 2>&1; then
  # The Kodi .edl target is tested against the real player: Debian's kodi under Xvfb (about 200 packages, ~1 min).
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kodi xvfb >/dev/null) \
      || echo "warning: could not install kodi and xvfb; the Kodi playback test will be skipped" >&2
  fi
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest -q "$@"
