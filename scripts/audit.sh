#!/usr/bin/env bash
# `npm audit --omit=dev`, with one recorded exception: a registry that does not serve the audit
# endpoint (some mirrors answer 405). Then the audit cannot run, so say so loudly and rely on the
# supply-chain test (exactly four runtime dependencies, pinned by the lockfile) instead of failing.
# Any real finding, or any other error, still fails.
set -uo pipefail
output=$(npm audit --omit=dev 2>&1)
status=$?
printf '%s\n' "$output"
if ((status != 0)) && grep -q 'audit endpoint returned an error' <<<"$output" && grep -q '405' <<<"$output"; then
  printf 'audit: the registry does not serve the audit endpoint (405); skipped, see docs/reliability.md\n'
  exit 0
fi
exit "$status"
