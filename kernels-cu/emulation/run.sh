#!/usr/bin/env bash
# Builds the CUDA kernels as plain C++ with a host emulation of the CUDA subset they use, and checks
# every kernel against plain loops in double. For working on kernels without a GPU; the GPU parity
# tests (Igcv3.Tests/Kernels/Parity) remain the real check. About a minute on 2 cores.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
g++ -O1 -std=c++20 -pthread -I"$here/.." -I"$here" "$here/kernel_checks.cpp" -o "$out/kernel_checks"
"$out/kernel_checks"
