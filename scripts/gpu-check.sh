#!/usr/bin/env bash
# Runs the whole suite and the device benchmark on a machine with a real GPU, and records
# what passed. Use it on a workstation with a GPU, a Vulkan driver and a Rust toolchain; a lent
# GPU machine has no toolchain: there use scripts/gpu-kit.sh here and scripts/gpu-run.sh there.
#   bash scripts/gpu-check.sh [output-dir]
# It needs a Vulkan driver for the GPU (NVIDIA's ships one); nothing here installs one.
# The tests run on the first hardware adapter (TESSERA_TEST_ADAPTER=i picks another);
# info.txt names it. Things only a real GPU can show, and lavapipe could not:
#  - whether the driver fuses a*b + c into an FMA (SPIR-V allows it; naga emits no
#    NoContraction), or approximates f32 division and sqrt (Vulkan allows ulps): the
#    bit-identity tests of random numbers (every_distribution_and_dtype_..., normal f32
#    through the portable ln/cos) and of ranges would then fail;
#  - whether the tiled transpose kernel beats the direct one (bench rows transpose-*);
#  - everything about the CUDA backend beyond compiling: CI compiles every kernel with
#    NVRTC and ptxas, but no CUDA kernel has run anywhere until this script runs on an
#    NVIDIA machine with the driver and NVRTC (a toolkit or the PyPI wheels) present;
#  - device -> host spill speed under a device memory limit (demo-gpu-device-limit.txt).
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-${OUT:-gpu-check-out}}"
mkdir -p "$out"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
chmod 700 "$XDG_RUNTIME_DIR"

{
  echo "date: $(date -u +%FT%TZ)"
  echo "commit: $(git rev-parse HEAD 2>/dev/null || echo unknown)"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>/dev/null || echo "nvidia-smi: not available"
} > "$out/machine.txt"

# CUDA: the driver comes with the GPU; NVRTC, cuBLAS and cuSOLVER (with what it loads:
# cuBLASLt, cuSPARSE, nvJitLink) come from a CUDA toolkit or NVIDIA's PyPI wheels,
# wherever they are installed.
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib \
  $(python3 -c 'import nvidia, os; r = list(nvidia.__path__)[0]; print(" ".join(os.path.join(r, p, "lib") for p in os.listdir(r)))' 2>/dev/null); do
  if ls "$d"/lib*.so* >/dev/null 2>&1; then
    export LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
done
if nvidia-smi >/dev/null 2>&1; then
  # The conformance suite then runs on cuda:0 too, and CUDA missing is a failure.
  export TESSERA_REQUIRE_CUDA=1
fi
echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-} TESSERA_REQUIRE_CUDA=${TESSERA_REQUIRE_CUDA:-0}" >> "$out/machine.txt"

cargo build --release 2>&1 | tail -3
./target/release/tessera info | tee "$out/info.txt"
echo "TESSERA_TEST_ADAPTER=${TESSERA_TEST_ADAPTER:-<first hardware adapter>}" | tee -a "$out/info.txt"

# The suite, with wgpu required (the conformance suite runs on adapter 0) and, where a
# GPU driver is present, CUDA required (it runs on cuda:0 too).
TESSERA_REQUIRE_WGPU=1 cargo test --release 2>&1 | tee "$out/test.log" | grep -E "^test result|FAILED|panicked"
status=${PIPESTATUS[0]}

# Device comparison: one column per device found.
./target/release/tessera bench --device all --repeats 3 2>&1 | tee "$out/bench-devices.txt"
# The demo on the GPU, and the wgpu kernels' criterion benchmarks (short runs).
demo_device="${TESSERA_TEST_ADAPTER:+wgpu:$TESSERA_TEST_ADAPTER}"
./target/release/tessera demo --quiet --device "${demo_device:-auto}" 2>&1 | tee "$out/demo-gpu.txt"
if [ -n "${TESSERA_REQUIRE_CUDA:-}" ]; then
  ./target/release/tessera demo --quiet --device cuda:0 2>&1 | tee "$out/demo-cuda.txt"
fi
# Spill on a real GPU: x (3.2 GB) persisted through a 1 GiB device and a 2 GiB host
# limit (device -> host -> disk), then the seed expression read back from it.
./target/release/tessera demo --quiet --persist --device "${demo_device:-auto}" \
  --device-memory-limit 1GiB --host-memory-limit 2GiB \
  --trace "$out/trace-device-spill.json" 2>&1 | tee "$out/demo-gpu-device-limit.txt"
cargo bench --bench wgpu_kernels -- --warm-up-time 1 --measurement-time 3 2>&1 \
  | grep -E "^wgpu/|time:|thrpt:|adapter" | tee "$out/bench-wgpu-kernels.txt"

# Ranks on GPUs (needs Open MPI): each rank's result must equal one process's on the same
# device. With two or more GPUs every rank gets its own and chunks cross on NCCL (the
# `nccl` feature; ranks.txt says whether the link was used); with one, the ranks share it
# and chunks cross through the host.
if command -v mpirun >/dev/null 2>&1 && [ -n "${TESSERA_REQUIRE_CUDA:-}" ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  cargo build --release --features mpi,nccl --bin tessera --target-dir target/mpi-nccl 2>&1 | tail -1
  gpus=$(nvidia-smi -L 2>/dev/null | wc -l)
  np=2
  for w in seed matmul tall; do
    one=$(./target/mpi-nccl/release/tessera ranks "$w" --single --device auto 2>&1 | grep -o 'digest [0-9a-f]*')
    many=$(RUST_LOG=info mpirun -np "$np" --oversubscribe ./target/mpi-nccl/release/tessera ranks "$w" --device auto 2>&1 \
      | tee -a "$out/ranks.txt" | grep -o 'digest [0-9a-f]*' | head -1)
    verdict=$([ -n "$one" ] && [ "$one" = "$many" ] && echo same || echo DIFFERENT)
    echo "ranks $w on $np ranks, $gpus GPU(s): one process $one, ranks $many: $verdict" | tee -a "$out/ranks.txt"
    [ "$verdict" = same ] || status=1
  done
else
  echo "ranks on GPUs: not run (needs mpirun and a CUDA device)" | tee "$out/ranks.txt"
fi

echo "suite exit status: $status" | tee -a "$out/machine.txt"
exit "$status"
