#!/usr/bin/env bash
# Runs the GPU kit (scripts/gpu-kit.sh) on a machine with a GPU and no Rust toolchain:
# unpacks it, sets up the Vulkan loader (from carried .debs in .gl/, if the machine has
# none) with the NVIDIA ICD, finds the CUDA libraries, then in one pass under a time
# budget: `tessera info`; every test binary with CUDA and wgpu required where present
# (the conformance and device suites then run on cuda:0 and on the Vulkan adapter
# against the CPU); `tessera bench --device all`; the demo on cuda:0 and on wgpu, and
# with a device memory limit (device -> host -> disk spill). A failing step does not
# stop the rest. Logs go to $OUT (at most 8 files); a one-screen summary is printed last.
#   bash scripts/gpu-run.sh [kit-dir]      (default .gpu-kit; budget: GPU_RUN_BUDGET_S)
set -uo pipefail
cd "$(dirname "$0")/.."
kit="${1:-.gpu-kit}"
out="${OUT:-gpu-run-out}"
budget="${GPU_RUN_BUDGET_S:-450}"
mkdir -p "$out"
t0=$(date +%s)
summary="$out/summary.txt"
: > "$summary"
left() { echo $((budget - ($(date +%s) - t0))); }
note() { echo "$*" | tee -a "$summary"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! tar -C "$work" -xJf "$kit/kit.tar.xz"; then
  note "FAIL unpack: $kit/kit.tar.xz could not be unpacked (run scripts/gpu-kit.sh here first and carry .gpu-kit)"
  exit 1
fi
bin="$work/tessera"

# Vulkan: the loader from the carried .debs when the machine has none; NVIDIA's ICD when
# present (lavapipe, elsewhere, is found by the loader on its own).
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1 ' && ls .gl/*.deb >/dev/null 2>&1; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json \
  /etc/vulkan/icd.d/nvidia_icd.json; do
  if [ -f "$icd" ]; then
    export VK_DRIVER_FILES="$icd"
    [ -f /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json ] &&
      export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
    break
  fi
done
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
chmod 700 "$XDG_RUNTIME_DIR"

# CUDA: every directory holding NVRTC, cuBLAS or cuSOLVER (a toolkit, the driver's,
# Python wheels), and ptxas for the compile checks.
dirs=$( (ls -d /usr/local/cuda*/lib64 /usr/local/cuda*/targets/x86_64-linux/lib 2>/dev/null
  python3 -c 'import nvidia, os
for r in nvidia.__path__:
    for p, _, fs in os.walk(r):
        if any(f.startswith(("libnvrtc", "libcublas", "libcusolver")) for f in fs): print(p)' 2>/dev/null
  ldconfig -p 2>/dev/null | grep -E 'libnvrtc|libcublas|libcusolver' | sed 's|.*=> ||; s|/[^/]*$||') | sort -u)
for d in $dirs; do export LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; done
ptxas=$(command -v ptxas || ls /usr/local/cuda*/bin/ptxas 2>/dev/null | head -1)
[ -n "$ptxas" ] && export TESSERA_PTXAS="$ptxas"
gpu=no
if nvidia-smi >/dev/null 2>&1; then
  gpu=yes
  export TESSERA_REQUIRE_CUDA=1 TESSERA_REQUIRE_NVRTC=1
fi
# wgpu is required wherever a Vulkan driver is (an NVIDIA ICD, or lavapipe in a dry run).
if [ -n "${VK_DRIVER_FILES:-}" ] || ls /usr/share/vulkan/icd.d/*.json >/dev/null 2>&1; then
  export TESSERA_REQUIRE_WGPU=1
fi
{
  echo "date: $(date -u +%FT%TZ)"
  cat "$work/manifest.txt"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>/dev/null || echo "nvidia-smi: not available (no NVIDIA driver)"
  echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
  echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-<loader default>} TESSERA_PTXAS=${TESSERA_PTXAS:-<none>}"
  echo "TESSERA_REQUIRE_CUDA=${TESSERA_REQUIRE_CUDA:-0} TESSERA_REQUIRE_WGPU=${TESSERA_REQUIRE_WGPU:-0}"
} > "$out/machine.txt"
note "gpu-run: GPU driver: $gpu; budget ${budget} s"

# One step: a name, a log, a timeout cap, the command. Records PASS/FAIL/TIMEOUT/SKIP.
step() {
  local name=$1 log=$2 cap=$3
  shift 3
  local t=$(left)
  if [ "$t" -le 5 ]; then
    note "SKIP $name: the time budget is spent"
    return
  fi
  [ "$cap" -lt "$t" ] && t=$cap
  local s=$(date +%s)
  echo "=== $name ($*)" >> "$log"
  timeout "$t" "$@" >> "$log" 2>&1
  local rc=$?
  local took=$(($(date +%s) - s))
  case $rc in
    0) note "PASS $name (${took} s)" ;;
    124) note "TIMEOUT $name after ${took} s" ;;
    *) note "FAIL $name (exit $rc, ${took} s): see $(basename "$log")" ;;
  esac
}

step "tessera info" "$out/info.txt" 60 "$bin" info
for t in "$work"/tests/*; do
  step "test $(basename "$t")" "$out/tests.log" 150 "$t" --test-threads=4 --nocapture
done
# What the tests said: totals, and every distinct skip or failure (a skipped device says
# why), for the summary.
awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "tests: %d passed, %d failed, %d ignored\n", p, f, i }' \
  "$out/tests.log" | tee -a "$summary"
grep -hE "SKIPPED|panicked at|^test .* FAILED" "$out/tests.log" 2>/dev/null | cut -c1-160 |
  sort | uniq -c | sort -rn | head -10 | tee -a "$summary"
step "bench --device all" "$out/bench.txt" 150 "$bin" bench --device all --repeats 3
if [ "$gpu" = yes ]; then
  step "demo cuda:0" "$out/demo.txt" 90 "$bin" demo --quiet --device cuda:0
  step "demo cuda:0, 1 GiB device limit (spill device->host->disk)" "$out/demo.txt" 120 \
    "$bin" demo --quiet --persist --device cuda:0 --device-memory-limit 1GiB --host-memory-limit 2GiB
else
  note "SKIP demo cuda:0: no NVIDIA driver found (nvidia-smi did not run); nothing about CUDA ran"
fi
adapter=$("$bin" info 2>/dev/null | sed -n 's/^  wgpu:\([0-9]*\) .*/\1/p' | head -1)
if [ -n "$adapter" ]; then
  # A software adapter (lavapipe, in a dry run) gets a smaller array.
  size=()
  [ "$gpu" = yes ] || size=(--size 4000 --chunk 1000)
  step "demo wgpu:$adapter" "$out/demo.txt" 90 "$bin" demo --quiet "${size[@]}" --device "wgpu:$adapter"
else
  note "SKIP demo wgpu: no Vulkan adapter found"
fi
fails=$(grep -cE '^(FAIL|TIMEOUT)' "$summary")
note "gpu-run: $fails failed or timed out, $(($(date +%s) - t0)) s in all; logs in $out"
echo
echo "---- summary ----"
cat "$summary"
[ "$fails" -eq 0 ]
