#!/usr/bin/env bash
# One command: install (CPU torch) and run the daemon in the foreground on a library folder.
#   scripts/run.sh [LIBRARY_DIR] [extra `intro-daemon run` options]
# State (SQLite database, caches) goes to ${XDG_STATE_HOME:-~/.local/state}/intro-daemon.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
library=${1:-$PWD/library}
shift || true
mkdir -p "$library"
exec .venv/bin/intro-daemon run --library "$library" "$@"
