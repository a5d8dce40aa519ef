#!/usr/bin/env bash
# Refreshes the front-end files committed under wwwroot/lib from the versions pinned in package.json and
# package-lock.json. Only this script needs Node; building and running Osiris.Web do not, and nothing loads from a CDN.
# Usage: bash Osiris.Web/scripts/update-lib.sh   (after changing a version: npm install --package-lock-only first)
set -euo pipefail
cd "$(dirname "$0")/.."

npm ci --ignore-scripts --no-audit --no-fund

lib=wwwroot/lib
rm -rf "$lib/xterm"
mkdir -p "$lib/xterm"
cp node_modules/@xterm/xterm/lib/xterm.mjs "$lib/xterm/xterm.mjs"
cp node_modules/@xterm/xterm/css/xterm.css "$lib/xterm/xterm.css"
cp node_modules/@xterm/xterm/LICENSE "$lib/xterm/LICENSE"
cp node_modules/@xterm/addon-fit/lib/addon-fit.mjs "$lib/xterm/addon-fit.mjs"
# The source maps are not shipped; their references would only produce 404s in the browser console.
sed -i 's/^.*sourceMappingURL.*$//' "$lib"/xterm/*.mjs
{
  echo "Copied by scripts/update-lib.sh from npm; do not edit."
  for p in @xterm/xterm @xterm/addon-fit; do
    echo "$p $(node -p "require('./node_modules/$p/package.json').version")"
  done
} > "$lib/xterm/VERSIONS.txt"
rm -rf node_modules
echo "wwwroot/lib refreshed:"; cat "$lib/xterm/VERSIONS.txt"
