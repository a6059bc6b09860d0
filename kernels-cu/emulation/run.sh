#!/usr/bin/env bash
# Builds the kernel checks (kernel_checks.cpp: every kernel of kernels-cu, unchanged, against plain
# loops in double, on the fiber runtime of cuda_emu.h) and runs them. One flavour per call:
#   plain  -O1, the arithmetic
#   asan   AddressSanitizer + UndefinedBehaviorSanitizer: a read or write outside a kernel's
#          buffers, signed overflow, misaligned access
#   tsan   ThreadSanitizer: each CUDA thread is a thread to it, ordered only by __syncthreads, warp
#          shuffles and the launch, so a shared-memory access a missing barrier leaves unordered
#          is a data race
# Extra arguments select one group of checks (pw, bf16, dw, bn, conv, ew, loss, pool, shuffle).
# Ends with "N checks, 0 failures"; exits non-zero on a failed check or a sanitizer report.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
flavour=${1:-plain}
shift || true
case "$flavour" in
  plain) flags=(-O1) ;;
  asan) flags=(-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer) ;;
  tsan) flags=(-O1 -g -fsanitize=thread) ;;
  *) echo "run.sh: flavour '$flavour' is not plain, asan or tsan" >&2; exit 2 ;;
esac
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
g++ -std=c++20 -pthread "${flags[@]}" -I"$here/.." -I"$here" "$here/kernel_checks.cpp" -o "$out/kernel_checks"
# halt_on_error: the first report fails the run (exit 66) instead of scrolling past.
ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 TSAN_OPTIONS=halt_on_error=1:exitcode=66 "$out/kernel_checks" "$@"
