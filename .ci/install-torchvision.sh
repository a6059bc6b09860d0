#!/usr/bin/env bash
# Installs Debian bookworm's python3-torchvision (0.14, with PIL) beside install-torch-cpu.sh's
# torch, into the system python3, for the byte-for-byte parity tests of our image transforms
# against torchvision's (Igcv3.Tests/Train/Images/TorchvisionParityTests.cs), for the strict load
# of `export --format pytorch-safetensors` into torchvision's MobileNetV2
# (Igcv3.Tests/Bench/TorchvisionExportTests.cs) and for the loader benchmark's torchvision side. Idempotent: does nothing when /usr/bin/python3 already imports it.
set -euo pipefail
if /usr/bin/python3 -c "import torchvision, PIL, numpy" 2>/dev/null; then
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq python3-torchvision python3-pil python3-numpy >/dev/null
/usr/bin/python3 -c "import torchvision; print('torchvision', torchvision.__version__)"
