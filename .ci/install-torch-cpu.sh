#!/usr/bin/env bash
# Installs a CPU PyTorch for the cross-check of our CPU engine against PyTorch
# (Igcv3.Tests/Bench/PyTorchCrossCheckTests, Igcv3.Bench/pytorch/crosscheck.py): Debian bookworm's
# python3-torch (1.13, ~190 MB with its dependencies) and python3-numpy, into the system python3.
# Idempotent: does nothing when /usr/bin/python3 already imports both.
set -euo pipefail
if /usr/bin/python3 -c "import torch, numpy" 2>/dev/null; then
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq python3-torch python3-numpy >/dev/null
/usr/bin/python3 -c "import torch; print('torch', torch.__version__)"
