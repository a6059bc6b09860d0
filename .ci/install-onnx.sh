#!/usr/bin/env bash
# Installs Debian bookworm's python3-onnx (1.12: IR 8, opset 17, the versions our export writes)
# into the system python3, for ONNX's own checker on our exports
# (Igcv3.Tests/Export/OnnxCheckerTests.cs, Igcv3.Bench/pytorch/onnx_check.py). Idempotent: does
# nothing when /usr/bin/python3 already imports it.
set -euo pipefail
if /usr/bin/python3 -c "import onnx" 2>/dev/null; then
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq python3-onnx >/dev/null
/usr/bin/python3 -c "import onnx; print('onnx', onnx.__version__)"
