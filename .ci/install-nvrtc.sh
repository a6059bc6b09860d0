#!/usr/bin/env bash
# Installs NVRTC on a GPU-less Debian bookworm machine so that the kernel compile test can run:
# NVRTC compiles CUDA C++ to CUBIN without a GPU or a driver. Debian ships it in `non-free`
# as libnvrtc11.2; this adds that component to the deb822 source and installs the package.
# Idempotent: does nothing when libnvrtc.so.11.2 is already on the loader path.
set -euo pipefail
if ldconfig -p 2>/dev/null | grep -q 'libnvrtc\.so\.11\.2'; then
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
src=/etc/apt/sources.list.d/debian.sources
if [ -f "$src" ] && ! grep -q 'non-free' "$src"; then
  $sudo sed -i 's/^Components: main$/Components: main contrib non-free non-free-firmware/' "$src"
elif [ ! -f "$src" ]; then
  echo "deb http://deb.debian.org/debian bookworm main contrib non-free" | $sudo tee /etc/apt/sources.list.d/igcv3-nonfree.list >/dev/null
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq libnvrtc11.2 >/dev/null
ldconfig -p | grep 'libnvrtc\.so' | head -1
