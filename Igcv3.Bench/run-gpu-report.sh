#!/usr/bin/env bash
# The whole GPU benchmark in one call, on the GPU host (prepare-device.sh describes the calls):
#   source Igcv3.Bench/on-device.sh && bash Igcv3.Bench/run-gpu-report.sh "$OUT"
# runs the published app that on-device.sh unpacked ($IGCV3_APP): the GPU parity suite first
# (SKIP_TESTS=1 leaves it out when an earlier call ran it), then the bench.
# Writes into OUT: tests.log, shapes.json, igcv3.{json,txt} (ours), side_by_side.{json,txt}, and
# results/<date>_<device>_{igcv3,side-by-side}.{json,txt}: the files to commit under Igcv3.Bench/results/.
set -uo pipefail
out=${1:?usage: run-gpu-report.sh OUT_DIR}
cd "$(dirname "$0")/.."
mkdir -p "$out/results"
app=${IGCV3_APP:?source Igcv3.Bench/on-device.sh first}
bench=$app/Igcv3.Bench.dll
export IGCV3_COMMIT=${IGCV3_COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
nvidia-smi > "$out/nvidia-smi.txt" 2>&1 || true

if [ -z "${SKIP_TESTS:-}" ]; then
  echo "== GPU parity suite first"
  dotnet "$app/Igcv3.Tests.dll" -noColor > "$out/tests.log" 2>&1
  echo "tests exit $?: $(grep -E 'Total:' "$out/tests.log" | tail -1)"
fi

echo "== export-shapes"
dotnet "$bench" export-shapes --out "$out/shapes.json" || exit 1
echo "== gpu-report (ours)"
dotnet "$bench" gpu-report --out "$out" ${QUICK:+--quick} > "$out/gpu-report.log" 2>&1
status=$?
tail -n 40 "$out/gpu-report.log"
[ $status -eq 0 ] || { echo "gpu-report failed ($status)"; exit $status; }

echo "== PyTorch side by side"
python3 Igcv3.Bench/pytorch/side_by_side.py --shapes "$out/shapes.json" --ours "$out/igcv3.json" --out "$out" ${QUICK:+--quick} > "$out/side_by_side.log" 2>&1
pstatus=$?

# Dated copies named by date and device, read off the reports themselves.
python3 - "$out" <<'PY'
import json, os, shutil, sys
sys.path.insert(0, "Igcv3.Bench/pytorch")
import sbs_core as core
out = sys.argv[1]
ours = json.load(open(os.path.join(out, "igcv3.json")))
date = ours["created_utc"][:10]
device = core.report_device_name(ours)
for src, kind in (("igcv3", "igcv3"), ("side_by_side", "side-by-side")):
    for ext in ("json", "txt"):
        p = os.path.join(out, f"{src}.{ext}")
        if os.path.exists(p):
            shutil.copy(p, os.path.join(out, "results", f"{core.result_stem(date, device, kind)}.{ext}"))
print("results:", sorted(os.listdir(os.path.join(out, "results"))))
PY
tail -n 60 "$out/side_by_side.log"
exit $pstatus
