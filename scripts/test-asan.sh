#!/usr/bin/env bash
# Builds both addons with AddressSanitizer + UBSan (CMake, -DSANITIZE=ON) and runs the tests against them.
#   npm run test:asan                 all tests
#   npm run test:asan -- test/fuzz    some of them
# The sanitizer runtimes are preloaded into node (node itself is not instrumented). ASan's own handlers for
# SIGSEGV/SIGBUS/SIGFPE/SIGABRT are off: the tests send those signals on purpose and expect them to kill.
set -euo pipefail
cd "$(dirname "$0")/.."
npx cmake-js compile -O build-asan --CDSANITIZE=ON
# Programs the tests run that are not node must not get the sanitizer runtimes: procps' ps hangs in a futex at
# start-up with libasan preloaded. A directory of wrappers early in PATH runs them without LD_PRELOAD.
shims="$(mktemp -d)"
trap 'rm -rf "$shims"' EXIT
for prog in ps mount umount; do
  real="$(command -v "$prog" || true)"
  [ -n "$real" ] || continue
  printf '#!/bin/sh\nunset LD_PRELOAD\nexec %s "$@"\n' "$real" > "$shims/$prog"
  chmod +x "$shims/$prog"
done
export PATH="$shims:$PATH"
export LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
export ASAN_OPTIONS=detect_leaks=0:handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_abort=0:allow_user_segv_handler=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export MULTIPROC_ADDON_DIR=build-asan/Release
npx vitest run "$@"
