#!/usr/bin/env bash
# The first GPU session as ONE call of the device tool, prepared here by prepare-device.sh:
#   command: bash Igcv3.Bench/gpu-session.sh      carry: [".device"]      timeout_s: 600
# Rehearsed here first, by the same script, on the CPU:  bash Igcv3.Bench/gpu-session.sh --rehearsal
# (GPU stages run their CPU or emulated-device stand-in, or say "skipped: no GPU").
#   --plan                              prints the stages and their limits, then exits
#   IGCV3_STAGES="gpu-tests sync-rerun" runs only those (and setup), for the one rerun
#   IGCV3_TESTS="-class *Pointwise*"    the tests instead of -trait device=gpu (rehearsal: device=emulated)
#   IGCV3_SPILLS_FATAL=1                register spills fail the nvrtc stage (once they have been seen)
#
# Each stage runs under its own timeout; the limits sum to 515 s, so with the packing the call
# ends inside 9 minutes. Whatever a stage left when it ran over is kept. After every stage $OUT is
# rewritten with exactly three files: summary.txt (per stage: result, seconds, limit, note),
# log-tail.txt (the end of every stage that did not pass, then of this script's log) and
# session.tar.gz (every log and report; never a checkpoint).
set -uo pipefail
cd "$(dirname "$0")/.."

# Stage:limit (seconds), in the order they run, and what each runs (the stage_ functions below).
# sbs-compile then gets whatever time is left.
plan=(setup:20 nvrtc:35 gpu-tests:110 sync-rerun:35 memcheck:45 racecheck:45 report:70 sbs:70 train:85)
budget=530   # seconds from start to the last file written: 10 s inside the call's 9 minutes
reserve=15   # of which kept back for packing
declare -A body=([setup]=stage_setup [nvrtc]=stage_nvrtc [gpu-tests]=stage_gpu_tests [sync-rerun]=stage_sync_rerun
  [memcheck]="stage_sanitizer memcheck" [racecheck]="stage_sanitizer racecheck" [report]=stage_report
  [sbs]="stage_sbs eager,channels_last report" [train]=stage_train [sbs-compile]="stage_sbs compile sbs-compile")
for p in "${plan[@]}" sbs-compile; do
  [ -n "${body[${p%%:*}]:-}" ] || { echo "stage ${p%%:*} has no body" >&2; exit 2; }
done

if [ "${1:-}" = --plan ]; then
  printf '%s\n' "${plan[@]}" sbs-compile:rest "budget:$budget" "reserve:$reserve"
  exit 0
fi
rehearsal=0
[ "${1:-}" = --rehearsal ] && rehearsal=1

# ---- the only differences between the GPU host and the rehearsal ------------------------------
if [ $rehearsal = 1 ]; then
  # The CUDA kernels on the emulated device (CPU), less the whole-network steps and the trainer,
  # which alone take the stage's 110 s here (CI runs them all).
  tests=${IGCV3_TESTS:--trait device=emulated -class- *NetworkStepParityTests* -class- *EmulatedDeviceTrainingTests*}
  train_device=emulated                          # the trainer on the CUDA backend, kernels on the CPU
  train_sizes="--width-multiplier 0.25 --synthetic-train 64 --synthetic-test 16 --batch-size 16 --eval-batch-size 16"
  arch="--arch 90"                               # the H200's sm_90, compiled without a GPU
else
  tests=${IGCV3_TESTS:--trait device=gpu}
  train_device=cuda
  train_sizes="--synthetic-train 5000 --synthetic-test 1000"
  arch=""                                        # device 0's own
fi
# Short parity subset for compute-sanitizer: the shared-memory reductions and the tiled GEMMs.
sanitize="-class *BatchNormParity* -class *DepthwiseParity* -class *PoolingParity* -class *PointwiseParity* -class *LinearLossSgdParity*"

dev=${IGCV3_DEVICE_DIR:-.device}
out=${OUT:-}
[ -n "$out" ] || { [ $rehearsal = 1 ] && out=$(mktemp -d /tmp/igcv3-out.XXXXXX); }
[ -n "$out" ] || { echo "OUT is not set (the device tool sets it; here use --rehearsal)" >&2; exit 2; }
root=$(mktemp -d /tmp/igcv3-session.XXXXXX)
work=$root/session
mkdir -p "$work" "$out"
[ $rehearsal = 1 ] && trap 'rm -rf "$root"' EXIT
# PyTorch's venv first: its python3 runs the side by side, and its CUDA wheels hold NVRTC and cuBLAS.
[ -x /opt/torch/.venv/bin/python3 ] && PATH=/opt/torch/.venv/bin:$PATH
py=python3
sanitizer=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | tail -1)
app=$root/app
gpu=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -n 1 | grep . || echo none)
export DOTNET_ROOT=$root/dotnet PATH=$root/dotnet:$PATH DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 \
  DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 PYTHONUNBUFFERED=1 \
  IGCV3_VERBOSE=1 IGCV3_KERNEL_CACHE=$root/kernels IGCV3_COMMIT=$(cat "$dev/commit" 2>/dev/null || echo unknown)
export rehearsal tests train_device train_sizes arch sanitize dev work app py sanitizer

# ---- stages: each runs in its own bash under timeout, its output in $work/NAME.log -------------
# Exit 0 passed, 77 skipped (the reason as the last line), anything else failed.
skipped=77
stage_setup() {
  [ -f "$dev/dotnet-runtime.tar.xz" ] && [ -f "$dev/app.tar.xz" ] ||
    { echo "not packed: run Igcv3.Bench/prepare-device.sh and carry .device (no $dev/app.tar.xz or dotnet-runtime.tar.xz)"; return 1; }
  mkdir -p "$DOTNET_ROOT" && tar -xJf "$dev/dotnet-runtime.tar.xz" -C "$DOTNET_ROOT" && tar -xJf "$dev/app.tar.xz" -C "$(dirname "$app")" || return 1
  echo "app commit $IGCV3_COMMIT; scripts from $(git rev-parse HEAD 2>/dev/null || echo 'a copy without git')"
  uname -a; nproc; dotnet --list-runtimes
  nvidia-smi || echo "nvidia-smi: none"
  [ -n "$sanitizer" ] && "$sanitizer" --version | tail -1
  "$py" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" 2>&1 | tail -1
  echo "app $IGCV3_COMMIT unpacked"
}
stage_nvrtc() {
  dotnet "$app/Igcv3.Bench.dll" compile-log --out "$work/nvrtc" $arch ${IGCV3_SPILLS_FATAL:+--fail-on-spills}
  local rc=$?
  [ $rc = 2 ] && [ $rehearsal = 1 ] && { echo "no NVRTC here (.ci/install-nvrtc.sh installs it)"; return $skipped; }
  return $rc
}
run_tests() {  # LOG_STEM FILTER...: the test app, then a check of what ran (from its XML report)
  local stem=$1; shift
  dotnet "$app/Igcv3.Tests.dll" -noColor -longRunning 30 "$@" -xml "$work/$stem.xml"
  local rc=$? x=$work/$stem.xml
  [ -f "$x" ] || { echo "no test report (exit $rc)"; return 1; }
  count() { grep -o " $1=\"[0-9]*\"" "$x" | head -n 1 | grep -o '[0-9]*'; }   # the <assembly> totals come first
  local total failed skipped parity
  total=$(count total) failed=$(count failed) skipped=$(count skipped)
  parity=$(grep -o 'type="Igcv3\.Tests\.Kernels\.Parity\.[^"]*"' "$x" | wc -l)
  echo "Total: $total, failed $failed, skipped $skipped, parity tests $parity ($*)"
  [ "$total" -gt 0 ] || { echo "no test selected by $*"; return 1; }
  [ "$parity" -gt 0 ] || { echo "no parity test selected by $*: tag the parity classes with that trait"; return 1; }
  [ $rehearsal = 1 ] || [ "$skipped" = 0 ] || { echo "$skipped tests skipped on a GPU host"; return 1; }
  return $rc
}
stage_gpu_tests() { set -f; run_tests gpu-tests $tests; }
stage_sync_rerun() {
  # The classes of the [FAIL] lines; after a sticky CUDA fault every later test fails too, and
  # with IGCV3_SYNC_LAUNCHES=1 the first failure names the kernel that faulted.
  local classes
  classes=$(sed -nE 's/^ +(Igcv3\.Tests\.[^ (]+)(\(.*\))? \[FAIL\]$/\1/p' "$work/gpu-tests.log" | sed -E 's/\.[^.]+$//' | sort -u)
  set -f
  local filter=$tests   # a run that crashed or ran over left no report: all of it again
  [ -n "$classes" ] && filter=$(printf -- '-class %s ' $classes)
  [ -z "$classes" ] && [ -f "$work/gpu-tests.xml" ] && { echo "no failing test to rerun"; return $skipped; }
  IGCV3_SYNC_LAUNCHES=1 dotnet "$app/Igcv3.Tests.dll" -noColor -longRunning 20 $filter
  local rc=$?
  grep -m1 -oE 'kernel [A-Za-z0-9_]+ \(grid [^)]*\) failed: .{0,80}' "$work/sync-rerun.log" || echo "sync rerun of: ${classes:-$tests}"
  return $rc
}
stage_sanitizer() {  # memcheck | racecheck
  [ -n "$sanitizer" ] || { echo "no compute-sanitizer$([ $rehearsal = 1 ] && echo ': no GPU')"; return $skipped; }
  set -f
  "$sanitizer" --tool "$1" --print-limit 20 --error-exitcode 86 dotnet "$app/Igcv3.Tests.dll" -noColor $tests $sanitize
  local rc=$?
  grep -m1 -E '(ERROR|RACECHECK) SUMMARY' "$work/$1.log"
  return $rc
}
stage_report() {
  mkdir -p "$work/report"
  dotnet "$app/Igcv3.Bench.dll" export-shapes --out "$work/report/shapes.json" || return 1
  if [ $rehearsal = 1 ]; then  # stand-in: the report's measuring, every way, on a recording queue
    dotnet "$app/Igcv3.Tests.dll" -noColor -class Igcv3.Tests.Bench.GpuReportOfflineTests || return 1
    echo "stand-in (no GPU): export-shapes, and gpu-report's measuring offline (GpuReportOfflineTests)"
    return 0
  fi
  dotnet "$app/Igcv3.Bench.dll" gpu-report --out "$work/report" --quick &&
    "$py" Igcv3.Bench/pytorch/dated_copies.py "$work/report" "$work/report/results"
}
stage_sbs() {  # MODES OUT_FOLDER
  [ -f "$work/report/shapes.json" ] || { echo "no shapes.json: the report stage did not run"; return 1; }
  if [ $rehearsal = 1 ]; then  # stand-in: every op callable and a step once on the CPU, else the pure parts
    [ "$1" = compile ] && { echo "no GPU"; return $skipped; }
    if "$py" -c "import torch" 2>/dev/null; then
      "$py" Igcv3.Bench/pytorch/dry_run_cpu.py --shapes "$work/report/shapes.json" && echo "stand-in (no GPU): dry_run_cpu.py"
    else
      (cd Igcv3.Bench/pytorch && "$py" -m unittest -q test_sbs_core) && echo "stand-in (no GPU, no torch): test_sbs_core"
    fi
    return
  fi
  "$py" Igcv3.Bench/pytorch/side_by_side.py --shapes "$work/report/shapes.json" --ours "$work/report/igcv3.json" \
    --out "$work/$2" --quick --modes "$1" || return
  [ "$2" = report ] && "$py" Igcv3.Bench/pytorch/dated_copies.py "$work/report" "$work/report/results"
  tail -n 3 "$work/$2/side_by_side.txt"
}
stage_train() {
  dotnet "$app/Igcv3.Train.dll" train --network igcv3-d --dataset synthetic $train_sizes --epochs 1000 \
    --time-limit-minutes 1 --device "$train_device" --output "$work/train"
  local rc=$?
  grep -E '^epoch [0-9]+/[0-9]+:' "$work/train.log" | tail -n 1
  return $rc
}
export -f stage_setup stage_nvrtc run_tests stage_gpu_tests stage_sync_rerun stage_sanitizer stage_report stage_sbs stage_train
export skipped

# ---- running, recording, packing ----------------------------------------------------------------
t0=$SECONDS
declare -A result seconds limit note
for p in "${plan[@]}" sbs-compile:0; do result[${p%%:*}]="not run"; seconds[${p%%:*}]=0; limit[${p%%:*}]=${p##*:}; note[${p%%:*}]=""; done
say() { echo "$*" | tee -a "$work/session.log"; }
wanted() { [ "$1" = setup ] || [ -z "${IGCV3_STAGES:-}" ] || [[ " ${IGCV3_STAGES//,/ } " == *" $1 "* ]]; }
skip() { result[$1]=skipped note[$1]=$2; say "-- $1: skipped: $2"; pack; }

summary() {
  echo "igcv3 GPU session ($([ $rehearsal = 1 ] && echo rehearsal || echo gpu)), app commit $IGCV3_COMMIT, $(date -u +%FT%TZ)"
  echo "gpu: $gpu"
  printf '%-12s %-18s %7s %6s  %s\n' stage result seconds limit note
  for p in "${plan[@]}" sbs-compile:0; do
    local s=${p%%:*}
    printf '%-12s %-18s %7s %6s  %s\n' "$s" "${result[$s]}" "${seconds[$s]}" "${limit[$s]}" "${note[$s]}"
  done
  echo "elapsed $((SECONDS - t0)) s of a $budget s budget; logs and reports in session.tar.gz, failures' tails in log-tail.txt"
}
pack() {
  summary > "$out/summary.txt.part" && mv -f "$out/summary.txt.part" "$out/summary.txt"
  cp "$out/summary.txt" "$work/summary.txt"
  {
    for p in "${plan[@]}" sbs-compile:0; do
      local s=${p%%:*}
      case ${result[$s]} in passed|skipped|"not run") continue ;; esac
      echo "==== $s: ${result[$s]}"
      # Each failing test or sanitizer error with the line after it, then the end of the log.
      grep -m 20 -A 1 -E '\[FAIL\]$|^========= [A-Z]' "$work/$s.log" 2>/dev/null | grep -v '^--$' | cut -c1-300
      echo "---- end of $s.log"
      tail -n 25 "$work/$s.log" 2>/dev/null | cut -c1-300
    done
    echo "==== session log"
    tail -n 40 "$work/session.log" | cut -c1-300
  } > "$out/log-tail.txt.part" && mv -f "$out/log-tail.txt.part" "$out/log-tail.txt"
  # A runaway log keeps its first and last 4 MiB, so the archive stays under the 16 MiB a file.
  find "$work" -type f -size +20M ! -name '*.cut' | while read -r f; do
    { head -c 4M "$f"; printf '\n[... cut ...]\n'; tail -c 4M "$f"; } > "$f.cut" && rm -f "$f"
  done
  tar -C "$root" --exclude='*.safetensors' -czf "$root/session.tar.gz" session &&
    cp "$root/session.tar.gz" "$out/session.tar.gz.part" && mv -f "$out/session.tar.gz.part" "$out/session.tar.gz"
}
run() {  # NAME CAP FUNCTION [ARGS]: runs a stage within its cap and the time left, records it, packs
  local name=$1 cap=$2; shift 2
  wanted "$name" || { skip "$name" "not in IGCV3_STAGES"; return 0; }
  local left=$((budget - reserve - (SECONDS - t0)))
  local lim=$((cap < left ? cap : left))
  [ "$lim" -ge 5 ] || { skip "$name" "no time left"; return 0; }
  limit[$name]=$lim
  say "== $name (up to ${lim}s)"
  local start=$SECONDS rc
  timeout -k 5 "$lim" bash -c '"$@"' _ "$@" > "$work/$name.log" 2>&1
  rc=$?
  seconds[$name]=$((SECONDS - start))
  case $rc in
    0) result[$name]=passed ;;
    "$skipped") result[$name]=skipped ;;
    124|137) result[$name]="timed out" ;;
    *) result[$name]="failed (exit $rc)" ;;
  esac
  note[$name]=$(grep -v '^[[:space:]]*$' "$work/$name.log" | tail -n 1 | cut -c1-110)
  say "-- $name: ${result[$name]} in ${seconds[$name]}s: ${note[$name]}"
  pack
  return 0
}

say "igcv3 GPU session$([ $rehearsal = 1 ] && echo ' (rehearsal)'): $out"
for p in "${plan[@]}" "sbs-compile:$budget"; do
  name=${p%%:*}
  [ "$name" = setup ] || [ "${result[setup]}" = passed ] || { say "setup failed: nothing else can run"; break; }
  if [ "$name" = sync-rerun ] && [[ ${result[gpu-tests]} =~ ^(passed|skipped)$ ]]; then skip sync-rerun "nothing failed"; continue; fi
  run "$name" "${p##*:}" ${body[$name]}
done
pack
tail -n 80 "$out/log-tail.txt"
cat "$out/summary.txt"
ls -l "$out"
grep -qE '^[a-z-]+ +(failed|timed out)' "$out/summary.txt" && exit 1
exit 0
