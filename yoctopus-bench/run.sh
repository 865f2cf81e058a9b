#!/usr/bin/env bash
# Builds the benchmark in release mode and runs the driver: by default the issue's five interleaved
# rounds of every configuration (the multicast to 10,000 connections, multicast-10k, the cluster
# through NATS, cluster-notify and cluster-multicast-10k, and in the first round only the open loop,
# open-loop-10k: 10,000 connections x 1 request / 100 ms timed from the scheduled send time, and the
# live idle run, idle-100k: 100,000 idle connections answering pings, or as many as the open-files
# hard limit allows, for memory per connection and the pings' CPU), 3 s measured per throughput
# run, in about 15 minutes (the driver prints its estimate first), with the tables on standard
# output.
# Arguments go to bench-driver, e.g. `yoctopus-bench/run.sh --rounds 1 --duration 2` for a quick look,
# `--configs multicast-10k` for one configuration alone (any of the names `--help` lists, comma
# separated), or `--raw results.json` to keep every measurement. Run it on an otherwise idle machine.
#
#   yoctopus-bench/run.sh --configs multicast-10k   # only the multicast: about 1.5 minutes
#
# The cluster configurations start a private nats-server per measurement (the `nats-server`
# package; `bash scripts/install-test-deps.sh` installs it) and two or three bench-yoctopus nodes,
# all on the server's core:
#
#   yoctopus-bench/run.sh --configs cluster-notify,cluster-multicast-10k   # about 2 minutes
#   yoctopus-bench/run.sh --configs open-loop-10k,idle-100k   # about half a minute
#
# Database change tracking is not in the default run; name it (PostgreSQL's configuration starts a
# private server for the run, which needs the `postgresql` package):
#
#   yoctopus-bench/run.sh --configs tracker-sqlite,tracker-sqlite-5ms,tracker-postgres   # about 7 minutes
#
# Before and after: with `BENCH_REFERENCE=<git rev>`, the benchmark server as it was at that commit
# is built too (in a temporary git worktree, into its own target directory, target/bench-reference)
# and copied beside the others as `bench-yoctopus-reference`, with the commit in
# `bench-yoctopus-reference.rev`; the driver then measures it as `yoctopus @ <rev>` in every
# configuration but the fan-outs, notify-10k and multicast-10k (which an old build cannot serve),
# in the same rounds, and compares `yoctopus` with it. About two minutes more over five rounds,
# plus the reference's build.
#
#   BENCH_REFERENCE=3f404bb yoctopus-bench/run.sh
#
# A reference is measured only when this run asked for it: a reference binary left by an earlier
# run is removed first, so a stale one is never measured by accident (and a failed build leaves
# none). `run.sh --build-only` (as the only argument) builds, reference included, and runs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

build_only=false
if [[ "${1:-}" == "--build-only" ]]; then
    build_only=true
    shift
    if (($# > 0)); then
        echo "run.sh: --build-only takes no other arguments" >&2
        exit 2
    fi
fi

# Absolute, because the reference is built from another directory.
target=$(realpath -m "${CARGO_TARGET_DIR:-target}")
reference="$target/release/bench-yoctopus-reference"
rm -f "$reference" "$reference.rev"

cargo build --release -p yoctopus-bench

# Builds bench-yoctopus at commit $1 into $reference. A subshell, so that its clean-up runs when it
# ends, whether the build succeeded or not.
build_reference() (
    local rev short worktree
    if ! rev=$(git rev-parse --verify --quiet "$1^{commit}"); then
        echo "run.sh: BENCH_REFERENCE=$1 is not a commit of this repository" >&2
        exit 2
    fi
    short=$(git rev-parse --short "$rev")
    worktree=$(mktemp -d "${TMPDIR:-/tmp}/yoctopus-bench-reference.XXXXXX")
    trap 'git worktree remove --force "$worktree" 2>/dev/null || rm -rf "$worktree"; git worktree prune' EXIT
    git worktree add --quiet --detach "$worktree" "$rev"
    echo "run.sh: building bench-yoctopus at $short as the reference, into $target/bench-reference" >&2
    (cd "$worktree" && CARGO_TARGET_DIR="$target/bench-reference" \
        cargo build --release -p yoctopus-bench --bin bench-yoctopus)
    cp "$target/bench-reference/release/bench-yoctopus" "$reference.partial"
    printf '%s\n' "$short" >"$reference.rev"
    # Last and in one step: the driver looks for this name.
    mv "$reference.partial" "$reference"
)

if [[ -n "${BENCH_REFERENCE:-}" ]]; then
    build_reference "$BENCH_REFERENCE"
fi

if $build_only; then
    exit 0
fi

# 10,000 idle connections (and the fan-outs' controller beside them) need as many descriptors in
# the server and in the load generator, which inherit this shell's limit; the driver checks it.
# Raising the hard limit needs root; the soft limit can go up to it.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

exec "$target/release/bench-driver" "$@"
