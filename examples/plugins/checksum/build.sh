#!/usr/bin/env bash
# Builds checksum.wasm from assembly/checksum.ts with the npm packages pinned
# in package-lock.json (@extism/as-pdk, assemblyscript, json-as). Needs
# Node.js >= 20 and npm. Quick when nothing changed: npm ci runs only when
# node_modules is missing or older than the lock file, asc only when a source
# is newer than checksum.wasm.
set -euo pipefail
cd "$(dirname "$0")"
command -v npm >/dev/null || { echo "$0: Node.js (>= 20) and npm are required" >&2; exit 1; }
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	npm ci --no-audit --no-fund --loglevel=error
fi
if [ -f checksum.wasm ] && [ -z "$(find assembly package.json package-lock.json -newer checksum.wasm)" ]; then
	exit 0
fi
# asc writes its output even when it fails later: build aside, then move.
npx --no-install asc assembly/checksum.ts --outFile checksum.wasm.tmp --optimize \
	--transform json-as --use abort=assembly/checksum/abort
mv checksum.wasm.tmp checksum.wasm
