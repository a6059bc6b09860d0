#!/usr/bin/env bash
# Installs Debian's python3-scipy into the system python3: its scipy.io.savemat writes the MAT files
# (the ILSVRC2012 devkit's meta.mat shape: structs, char arrays, cells) that our MAT reader is tested
# on (Igcv3.Tests/Train/Images/IlsvrcDevkitTests.cs). Idempotent: does nothing when /usr/bin/python3 imports it.
set -euo pipefail
if /usr/bin/python3 -c "import scipy.io, numpy" 2>/dev/null; then
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq python3-scipy python3-numpy >/dev/null
/usr/bin/python3 -c "import scipy; print('scipy', scipy.__version__)"
