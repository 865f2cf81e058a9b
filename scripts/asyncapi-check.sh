#!/usr/bin/env bash
# Validates every committed AsyncAPI document (docs/api/*.asyncapi.json) with the ecosystem's own
# parser, @asyncapi/parser (version pinned in tools/asyncapi-check/package-lock.json), and fails on
# any error-severity diagnostic, on a document that does not parse, or when there is no document.
# Warnings and infos are printed and allowed. Arguments (files or quoted globs, relative to the
# repository root) replace the default pattern.
# Needs Node.js 20+ and npm; the dependencies are installed from the lock file each run.
set -euo pipefail
cd "$(dirname "$0")/.."

tool="tools/asyncapi-check"
(cd "$tool" && npm ci --no-audit --no-fund --ignore-scripts --no-update-notifier --loglevel=error >/dev/null)

if [ "$#" -eq 0 ]; then
  # Quoted: check.mjs expands it, and fails when it matches nothing.
  set -- 'docs/api/*.asyncapi.json'
fi
node "$tool/check.mjs" "$@"
