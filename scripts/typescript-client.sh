#!/usr/bin/env bash
# The TypeScript client (clients/typescript), as CI checks it: its packages from the lock file,
# the generated bindings and the chat page's compiled scripts current with their sources, `tsc`
# strict over the library, the bindings, the demo and the type tests, the unit tests against the
# real Quick Start and chat servers, and the chat page in headless Chromium across a server
# restart. Needs Node.js 20+, npm and /usr/bin/chromium (scripts/install-test-deps.sh installs
# them).
#
#   bash scripts/typescript-client.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# The servers the tests start, at target/debug/examples/.
cargo build -p yoctopus-examples --example chat --example quickstart

cd clients/typescript
npm ci --no-audit --no-fund --ignore-scripts --no-update-notifier --loglevel=error
npm run --silent bindings:check
npm run --silent web:check
npm run --silent typecheck
npm test
npm run test:browser
