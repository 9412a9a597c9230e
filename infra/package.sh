#!/usr/bin/env bash
# Builds the Function App deployment package in <staging-dir> and, given <zip-file>, zips it for
#   az functionapp deployment source config-zip -g <group> -n <app> --src <zip-file>
#
# The package holds what the Functions host runs and nothing else: dist/ (compiled from a fresh
# tsc run, so a stale local dist/ never ships, with the Lua scripts copied beside the compiled
# code as `npm run build` does: dist/shared/redis/lua/), host.json, package.json and production
# node_modules.
#
# Usage: infra/package.sh <staging-dir> [zip-file]
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
  echo "usage: infra/package.sh <staging-dir> [zip-file]" >&2
  exit 2
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
stage="$(mkdir -p "$1" && cd "$1" && pwd)"
zip_file="${2:-}"
if [[ "$stage" == "$root" ]]; then
  echo "package.sh: the staging directory must not be the repository itself" >&2
  exit 2
fi

rm -rf "${stage:?}"/*
"$root/node_modules/.bin/tsc" -p "$root/tsconfig.json" --outDir "$stage/dist" --sourceMap false
node "$root/scripts/copy-lua.mjs" "$stage/dist"
# scripts/ is the local development stack; nothing in Azure imports it.
rm -rf "$stage/dist/scripts"
cp "$root/host.json" "$root/package.json" "$root/package-lock.json" "$stage/"
# Production dependencies only, exactly as locked. Optional dependencies are the Functions Core
# Tools, which a deployed app does not need. No install scripts run: no production dependency
# needs one.
(cd "$stage" && npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error)
# patches/ (patch-package, applied by postinstall) fixes development dependencies only; a patched
# package in production would ship unpatched from here, so that stops the build.
for patch in "$root"/patches/*.patch; do
  [[ -e "$patch" ]] || continue
  name="$(basename "$patch" .patch)"
  pkg="${name%+*}"
  pkg="${pkg//+//}"
  if [[ -d "$stage/node_modules/$pkg" ]]; then
    echo "package.sh: $pkg ships in production but is patched in patches/; apply the patch here" >&2
    exit 1
  fi
done

if [[ -n "$zip_file" ]]; then
  mkdir -p "$(dirname "$zip_file")"
  zip_path="$(cd "$(dirname "$zip_file")" && pwd)/$(basename "$zip_file")"
  rm -f "$zip_path"
  if command -v zip >/dev/null 2>&1; then
    (cd "$stage" && zip -qr "$zip_path" .)
  else
    (cd "$stage" && python3 -m zipfile -c "$zip_path" dist host.json package.json package-lock.json node_modules)
  fi
  echo "package: $zip_path"
fi
echo "staged: $stage"
