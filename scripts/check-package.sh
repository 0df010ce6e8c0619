#!/usr/bin/env bash
# publint on the package, then attw on a tarball packed into a temporary directory. (`attw --pack`
# packs into the package directory and deletes the tarball after, so a tarball packed there by
# hand with `npm pack` was lost.)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
publint
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
npm pack --silent --pack-destination "$dir" >/dev/null
attw "$dir"/*.tgz
