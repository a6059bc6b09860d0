#!/usr/bin/env bash
# Here (no GPU), before a GPU session: packs what the GPU host needs into folders git ignores, each
# small enough for the device tool's 64 MiB per call.
#   .device/                  the .NET runtime (../shared/device/pack-dotnet-runtime.sh, ~26 MiB),
#                             app.tar.xz (~8 MiB: ONE linux-x64 publish of Igcv3.Tests, which holds
#                             Igcv3.Train.dll and Igcv3.Bench.dll with their configs too), commit
#   .device-data/cifar10-N/   with ../shared/data/cifar10 present: one xz'd CIFAR-10 file each (~23 MiB)
# Separate builds of tests, trainer and bench would be ~170 MiB: the 48 MiB of other platforms'
# natives that BenchmarkDotNet brings (runtimes/, amd64/, x86/, arm64/) are what a linux-x64 publish
# leaves out and this script deletes.
#
# On the GPU host every call begins `source Igcv3.Bench/on-device.sh`, which unpacks whatever the
# call carried into /tmp/igcv3 (kept while the machine stays warm, ~30 s between calls):
#   run 1: carry [".device", ".device-data/cifar10-1"]           parity suite
#   run 2: carry [".device-data/cifar10-2", ".device-data/cifar10-3"]   (right after run 1)
#   run 3: carry [".device-data/cifar10-4", ".device-data/cifar10-5"]
#   run 4: carry [".device-data/cifar10-6"]                       training, then the bench report
# With 15 minutes of device time in all (the machine's start included), size the calls so:
#   run 1: source Igcv3.Bench/on-device.sh && nvidia-smi -L && dotnet $IGCV3_APP/Igcv3.Tests.dll -noColor > $OUT/tests.log 2>&1; tail -5 $OUT/tests.log
#          (IGCV3_SYNC_LAUNCHES=1 in front names the kernel of an illegal-address fault)
#   run 4: source Igcv3.Bench/on-device.sh && dotnet $IGCV3_APP/Igcv3.Train.dll train --config igcv3-d-1.0x-cifar10 \
#            --data-dir $IGCV3_CIFAR10 --epochs 400 --time-limit-minutes 4 --output $OUT/run > $OUT/train.log 2>&1; \
#          SKIP_TESTS=1 QUICK=1 bash Igcv3.Bench/run-gpu-report.sh $OUT
#   (the trainer stops after the last epoch that fits in 4 minutes; QUICK=1 times CIFAR only and
#   leaves out the per-op torch.compile, which compiles every op anew)
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
# pack-dotnet-runtime.sh adds /.device/ to .git/info/exclude; a fresh clone may lack info/.
mkdir -p "$(git rev-parse --git-path info)"
bash ../shared/device/pack-dotnet-runtime.sh

publish=$(mktemp -d)
trap 'rm -rf "$publish"' EXIT
dotnet publish Igcv3.Tests -c Release -r linux-x64 --self-contained false -o "$publish/app" -v quiet -nologo
rm -rf "$publish/app/amd64" "$publish/app/x86" "$publish/app/arm64" "$publish/app/runtimes"
tar -C "$publish" -cf - app | xz -T0 -6 > .device/app.tar.xz
git rev-parse HEAD > .device/commit
echo ".device: $(du -sh .device | cut -f1) ($(du -h .device/app.tar.xz | cut -f1) app, commit $(cut -c1-12 .device/commit))"

data=../shared/data/cifar10/cifar-10-batches-bin
exclude=$(git rev-parse --git-path info/exclude)
grep -qxF '/.device-data/' "$exclude" 2>/dev/null || echo '/.device-data/' >> "$exclude"
if [ -d "$data" ]; then
  n=0
  for f in data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin data_batch_5.bin test_batch.bin; do
    n=$((n + 1))
    part=.device-data/cifar10-$n
    mkdir -p "$part"
    [ -s "$part/$f.xz" ] || xz -T0 -6 -c "$data/$f" > "$part/$f.xz"
    [ $n -eq 1 ] && cp "$data/batches.meta.txt" "$data/SHA256SUMS" "$part/"
  done
  du -sh .device-data/* | sed 's/^/  /'
else
  echo "no $data: .device-data not made (the GPU host can then train on --dataset synthetic only)"
fi
