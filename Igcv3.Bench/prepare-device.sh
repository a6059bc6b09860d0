#!/usr/bin/env bash
# Here (no GPU), before the GPU session: packs what its one call carries into .device/, which
# .gitignore keeps out of git:
#   dotnet-runtime.tar.xz  this machine's .NET runtime, not the SDK (~26 MiB)
#   app.tar.xz             ONE linux-x64 publish of Igcv3.Tests, which holds Igcv3.Train.dll and
#                          Igcv3.Bench.dll with their configs too (~8 MiB)
#   commit                 the commit published
# About 34 MiB, well under the call's 64 MiB with the tracked files. No data travels: the training
# smoke run uses the trainer's synthetic set. Then rehearse, and make the call (README.md):
#   bash Igcv3.Bench/gpu-session.sh --rehearsal
#   device run: command "bash Igcv3.Bench/gpu-session.sh", carry [".device"], timeout_s 600
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
mkdir -p .device

# The runtime, packed as ../shared/device/pack-dotnet-runtime.sh packs it (that script writes to
# .git/info/exclude, which a git worktree lacks: there .git is a file).
dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
version=$(dotnet --list-runtimes | awk '/^Microsoft.NETCore.App /{v=$2} END{print v}')
[ -n "$version" ] || { echo "no Microsoft.NETCore.App runtime found" >&2; exit 1; }
if [ ! -s .device/dotnet-runtime.tar.xz ] || [ "$(cat .device/runtime-version 2>/dev/null)" != "$version" ]; then
  tar -C "$dotnet_root" -cf - dotnet host "shared/Microsoft.NETCore.App/$version" | xz -T0 -6 > .device/dotnet-runtime.tar.xz
  echo "$version" > .device/runtime-version
fi

# Separate publishes of tests, trainer and bench would be ~170 MiB: the 48 MiB of other platforms'
# natives that BenchmarkDotNet brings (runtimes/, amd64/, x86/, arm64/) are what a linux-x64
# publish leaves out and this deletes.
publish=$(mktemp -d)
trap 'rm -rf "$publish"' EXIT
dotnet publish Igcv3.Tests -c Release -r linux-x64 --self-contained false -o "$publish/app" -v quiet -nologo
rm -rf "$publish/app/amd64" "$publish/app/x86" "$publish/app/arm64" "$publish/app/runtimes"
tar -C "$publish" -cf - app | xz -T0 -6 > .device/app.tar.xz
echo "$(git rev-parse HEAD)$(git diff --quiet HEAD -- . ':!.device' || echo -dirty)" > .device/commit
rm -f .device/prelude.sh   # from the old four-call runbook
echo ".device: $(du -sh .device | cut -f1) (runtime $version, app $(du -h .device/app.tar.xz | cut -f1), commit $(cut -c1-12 .device/commit))"
