#!/usr/bin/env bash
# Installs Debian's libturbojpeg0, the system libjpeg-turbo's TurboJPEG library (with its SIMD code)
# that the image loader decodes JPEGs with where it is there (Igcv3.Train/Data/Images/TurboJpeg.cs;
# without it Skia's slower build decodes them). Idempotent: does nothing when it is already there.
set -euo pipefail
if ldconfig -p | grep -q 'libturbojpeg.so.0 '; then
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq libturbojpeg0 >/dev/null
ldconfig -p | grep 'libturbojpeg.so.0 '
