#!/usr/bin/env bash
# Fetch the pinned Debian packages listed in corpus/assets.toml WITHOUT installing them:
# apt-get download NAME=VERSION, then dpkg-deb -x into CACHE_DIR/NAME. Idempotent: a package whose
# CACHE_DIR/NAME/.version matches the pin is skipped. This is the only network access of the corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE_DIR="${1:-cache/assets}"
PY=".venv/bin/python"
[ -x "$PY" ] || PY=python3
mkdir -p "$CACHE_DIR/debs"
CACHE_DIR="$(cd "$CACHE_DIR" && pwd)"

# "name version" lines from the manifest (tomllib is in the standard library since 3.11).
mapfile -t PINS < <("$PY" -c '
import sys, tomllib
with open("corpus/assets.toml", "rb") as fh:
    for pkg in tomllib.load(fh)["package"]:
        print(pkg["name"], pkg["version"])
')

updated=0
for pin in "${PINS[@]}"; do
  read -r name version <<<"$pin"
  dest="$CACHE_DIR/$name"
  if [ -f "$dest/.version" ] && [ "$(cat "$dest/.version")" = "$version" ]; then
    echo "ok      $name $version"
    continue
  fi
  # Refresh the package lists once, only when a pinned version is not known yet.
  if [ "$updated" = 0 ] && ! apt-cache show "$name=$version" >/dev/null 2>&1; then
    apt-get update -qq
    updated=1
  fi
  echo "fetch   $name $version"
  # As root, apt's download sandbox user cannot write into our cache: download as root, quietly.
  sandbox=()
  [ "$(id -u)" = 0 ] && sandbox=(-o APT::Sandbox::User=root)
  (cd "$CACHE_DIR/debs" && apt-get download -qq "${sandbox[@]}" "$name=$version")
  deb="$(ls "$CACHE_DIR/debs/${name}_"*.deb | head -n 1)"
  rm -rf "$dest"
  mkdir -p "$dest"
  dpkg-deb -x "$deb" "$dest"
  echo "$version" >"$dest/.version"
  rm -f "$deb"  # the extracted tree is all the corpus needs
done
echo "assets in $CACHE_DIR"
