#!/usr/bin/env bash
# Installs the host C++ compiler the emulated CUDA device and the kernel checks are built with
# (Debian's g++ 12, with the AddressSanitizer, UndefinedBehaviorSanitizer and ThreadSanitizer
# runtimes it ships). Idempotent: does nothing when g++ and those runtimes are already there.
set -euo pipefail
if command -v g++ >/dev/null && echo 'int main(){}' | g++ -x c++ -fsanitize=thread - -o /dev/null 2>/dev/null \
   && echo 'int main(){}' | g++ -x c++ -fsanitize=address,undefined - -o /dev/null 2>/dev/null; then
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq g++ libasan8 libtsan2 libubsan1 >/dev/null
g++ --version | head -1
