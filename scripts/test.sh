#!/usr/bin/env bash
# One command: install everything the tests need, lint, type-check, run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if ! command -v mkvpropedit >/dev/null 2>&1; then
  # Matroska chapter publishing is tested against the real tool (Debian's mkvtoolnix).
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mkvtoolnix >/dev/null) \
      || echo "warning: could not install mkvtoolnix; its tests will be skipped" >&2
  fi
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
