#!/usr/bin/env bash
# Installs, from Debian's packages, the programs the tests start privately (see the harnesses in
# tests/src/): each `need` line below installs its package only when its probe finds nothing, so
# running this again changes nothing. `apt-get update` runs at most once, and only when something
# is missing.
#
# Runs as root (as in CI), or as another user through sudo.
#
#   bash scripts/install-test-deps.sh

set -euo pipefail

# as_root COMMAND...: runs COMMAND as root: directly when root already, else through sudo.
as_root() {
    if [[ $(id -u) -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "install-test-deps: installing packages needs root: run this script as root," \
            "or install sudo" >&2
        exit 1
    fi
}

apt_updated=false

# found PROBE: whether PROBE finds its program. PROBE is the name of a shell function (run: its
# status answers), a path (it must exist; a glob pattern, quoted, such as
# '/usr/lib/postgresql/*/bin/initdb', must match something), or a command name (it must be on
# PATH).
found() {
    local probe=$1
    if declare -F "$probe" >/dev/null; then
        "$probe"
    elif [[ $probe == */* ]]; then
        compgen -G "$probe" >/dev/null
    else
        command -v "$probe" >/dev/null 2>&1
    fi
}

# need PROBE PACKAGE: installs the Debian package PACKAGE unless PROBE (see `found`) finds it
# installed already, and checks that PROBE finds it afterwards.
need() {
    if [[ $# -ne 2 ]]; then
        echo "install-test-deps: need takes a probe and a package, not: $*" \
            "(quote a glob pattern)" >&2
        exit 2
    fi
    local probe=$1 package=$2
    if found "$probe"; then
        echo "install-test-deps: $package: already installed"
        return
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "install-test-deps: $package is missing ($probe finds nothing), and there is no" \
            "apt-get to install it with: install it with this system's package manager" >&2
        exit 1
    fi
    if [[ $apt_updated == false ]]; then
        as_root apt-get update
        apt_updated=true
    fi
    echo "install-test-deps: installing $package"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$package"
    if ! found "$probe"; then
        echo "install-test-deps: $package is installed, but $probe still finds nothing" >&2
        exit 1
    fi
}

# PostgreSQL's server programs, found as tests/src/postgres.rs finds them: in
# `pg_config --bindir`, in /usr/lib/postgresql/*/bin, or as initdb on PATH.
postgres_installed() {
    local bindir
    if bindir=$(pg_config --bindir 2>/dev/null) && [[ -x $bindir/initdb && -x $bindir/postgres ]]; then
        return 0
    fi
    for bindir in /usr/lib/postgresql/*/bin; do
        if [[ -x $bindir/initdb && -x $bindir/postgres ]]; then
            return 0
        fi
    done
    command -v initdb >/dev/null 2>&1
}

need postgres_installed postgresql

# nats-server, found as tests/src/nats.rs finds it: on PATH, or in /usr/bin or /usr/sbin (where
# Debian puts it, which is not on an ordinary user's PATH).
nats_installed() {
    command -v nats-server >/dev/null 2>&1 ||
        [[ -x /usr/bin/nats-server || -x /usr/sbin/nats-server ]]
}

need nats_installed nats-server
# Node.js and npm for the TypeScript client (clients/typescript), and the browser its end-to-end
# test drives (at /usr/bin/chromium, where e2e/chat.browser.test.mjs looks by default).
need node nodejs
need npm npm
need /usr/bin/chromium chromium
