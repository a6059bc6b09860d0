# On the GPU host, from the repository root, at the start of every call:
#   source Igcv3.Bench/on-device.sh
# Unpacks what this call carried (see prepare-device.sh) into /tmp/igcv3, which stays while the
# machine is warm, and sets: IGCV3_APP (the published folder: Igcv3.Tests.dll, Igcv3.Train.dll,
# Igcv3.Bench.dll), IGCV3_CIFAR10 (the CIFAR-10 folder, complete once all six files arrived),
# IGCV3_COMMIT, and the .NET runtime on PATH.
if [ -f .device/dotnet-runtime.tar.xz ] && [ ! -x /tmp/dotnet/dotnet ]; then
  mkdir -p /tmp/dotnet && tar -xJf .device/dotnet-runtime.tar.xz -C /tmp/dotnet
fi
export DOTNET_ROOT=/tmp/dotnet PATH=/tmp/dotnet:$PATH
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# Every run's log names the CUDA, NVRTC and cuBLAS files it loaded.
export IGCV3_VERBOSE=1
mkdir -p /tmp/igcv3/cifar10/cifar-10-batches-bin
if [ -f .device/app.tar.xz ]; then
  rm -rf /tmp/igcv3/app && tar -xJf .device/app.tar.xz -C /tmp/igcv3
  cp .device/commit /tmp/igcv3/commit
fi
for f in .device-data/*/*; do
  [ -f "$f" ] || continue
  case "$f" in
    *.xz) xz -dc "$f" > "/tmp/igcv3/cifar10/cifar-10-batches-bin/$(basename "$f" .xz)" ;;
    *) cp "$f" /tmp/igcv3/cifar10/cifar-10-batches-bin/ ;;
  esac
done
export IGCV3_APP=/tmp/igcv3/app IGCV3_CIFAR10=/tmp/igcv3/cifar10/cifar-10-batches-bin
export IGCV3_COMMIT=$(cat /tmp/igcv3/commit 2>/dev/null || echo unknown)
[ -x /tmp/dotnet/dotnet ] || echo "on-device: no .NET runtime: carry .device in this call (the machine was not warm)"
[ -f "$IGCV3_APP/Igcv3.Tests.dll" ] || echo "on-device: no app: carry .device in this call (the machine was not warm)"
echo "on-device: commit ${IGCV3_COMMIT:0:12}; CIFAR-10 files: $(ls "$IGCV3_CIFAR10" | tr '\n' ' ')"
