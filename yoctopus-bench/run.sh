#!/usr/bin/env bash
# Builds the benchmark in release mode and runs the driver: by default the issue's five interleaved
# rounds of every configuration, in about eight minutes, with the tables on standard output.
# Arguments go to bench-driver, e.g. `yoctopus-bench/run.sh --rounds 1 --duration 2` for a quick look,
# or `--raw results.json` to keep every measurement. Run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release -p yoctopus-bench

# 10,000 idle connections need as many descriptors in the server and in the load generator, which
# inherit this shell's limit. Raising the hard limit needs root; the soft limit can go up to it.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

exec "${CARGO_TARGET_DIR:-target}/release/bench-driver" "$@"
