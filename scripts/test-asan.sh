#!/usr/bin/env bash
# Builds both addons with AddressSanitizer + UBSan (CMake, -DSANITIZE=ON) and runs the tests against them.
#   npm run test:asan                 all tests
#   npm run test:asan -- test/fuzz    some of them
# The sanitizer runtimes are preloaded into node (node itself is not instrumented). ASan's own handlers for
# SIGSEGV/SIGBUS/SIGFPE/SIGABRT are off: the tests send those signals on purpose and expect them to kill.
set -euo pipefail
cd "$(dirname "$0")/.."
npx cmake-js compile -O build-asan --CDSANITIZE=ON
export LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
export ASAN_OPTIONS=detect_leaks=0:handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_abort=0:allow_user_segv_handler=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export MULTIPROC_ADDON_DIR=build-asan/Release
exec npx vitest run "$@"
