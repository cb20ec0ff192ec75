#!/usr/bin/env bash
# Builds the GPU kit here, for a lent GPU machine that has no Rust toolchain and no
# network: the CLI and the test binaries that exercise devices, in release without
# debug info, stripped, linked to load CUDA 13 libraries (feature cuda-13: cudarc looks
# for libnvrtc.so.13, libcublas.so.13, ... there), packed with a manifest into
# .gpu-kit/ (git ignores it), compressed, under 48 MiB so the working tree and the
# Vulkan loader .debs still fit the 64 MiB a call carries.
#   bash scripts/gpu-kit.sh            # builds and packs; prints the size
#   bash scripts/gpu-kit.sh --check    # fails if the packed kit is over the limit
# (The build itself fails over the limit too: CI runs it, with GPU_KIT_NO_GL=1.)
# Then, on the lent machine: bash scripts/gpu-run.sh (see README, Devices).
set -euo pipefail
cd "$(dirname "$0")/.."
limit=$((48 << 20))
kit=.gpu-kit
if [ "${1:-}" = "--check" ]; then
  size=$(stat -c %s "$kit/kit.tar.xz")
  echo "gpu kit: $size bytes ($((size >> 20)) MiB) of $((limit >> 20)) MiB"
  [ "$size" -le "$limit" ]
  exit
fi

# The test binaries that run on devices (the others need no GPU): the device suite,
# conformance, linear algebra, memory tiers, several devices, the wgpu backend and its
# pool, and storage (a store from a device); the lib's own tests hold the NVRTC compile
# checks.
tests=(devices conformance linalg memory multidevice wgpu wgpu_pool storage)
features=wgpu,zarr,cuda-13
# CI points this at target/mpi: the release profile as it is (the binaries are stripped
# below, not by profile overrides), so the dependencies built here are the ones the MPI
# and Python builds of the test command reuse instead of building again.
export CARGO_TARGET_DIR="${GPU_KIT_TARGET_DIR:-target/gpu-kit}"
args=(--release --no-default-features --features "$features")

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/tests"
# One build: the integration tests' build makes the CLI too (with the same features).
cargo test "${args[@]}" --no-run --lib $(printf -- '--test %s ' "${tests[@]}") \
  --message-format=json > "$stage/build.json"
cp "$CARGO_TARGET_DIR/release/tessera" "$stage/tessera"
strip --strip-all "$stage/tessera"
# Each test target's executable, named after its target (the lib's tests as "lib").
python3 - "$stage/tests" "$stage/build.json" <<'PY'
import json, shutil, sys
for line in open(sys.argv[2]):
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
        name = "lib" if "lib" in m["target"]["kind"] else m["target"]["name"]
        shutil.copy(m["executable"], f"{sys.argv[1]}/{name}")
PY
rm "$stage/build.json"
strip --strip-all "$stage"/tests/*
for t in lib "${tests[@]}"; do
  [ -x "$stage/tests/$t" ] || { echo "gpu-kit: test binary $t was not built" >&2; exit 1; }
done
{
  echo "tessera GPU kit"
  echo "commit: $(git rev-parse HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "built: $(date -u +%FT%TZ) on $(uname -m), $(rustc --version)"
  echo "features: $features (CUDA 13 libraries: libnvrtc.so.13, libcublas.so.13, libcusolver.so.12, driver libcuda.so.1)"
  echo "files:"
  (cd "$stage" && find . -type f -printf '  %P %s\n' | sort)
} > "$stage.manifest"
mv "$stage.manifest" "$stage/manifest.txt"
mkdir -p "$kit"
rm -f "$kit/kit.tar.xz"
tar -C "$stage" -cf - . | xz -T0 -6 > "$kit/kit.tar.xz"
cp "$stage/manifest.txt" "$kit/manifest.txt"
# The Vulkan loader, for a lent machine that has none (its NVIDIA driver brings the ICD):
# gpu-run.sh unpacks it there. Debian's amd64 package, whatever this machine is.
if [ -z "${GPU_KIT_NO_GL:-}" ] && ! ls .gl/libvulkan1_*.deb >/dev/null 2>&1 && command -v apt-get >/dev/null; then
  mkdir -p .gl /tmp/tessera-apt-amd64/partial
  o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/tessera-apt-amd64)
  { apt-get "${o[@]}" update -qq && (cd .gl && apt-get "${o[@]}" download libvulkan1); } >/dev/null 2>&1 ||
    echo "gpu-kit: could not download libvulkan1 into .gl/ (gpu-run.sh then needs a loader there)" >&2
fi
size=$(stat -c %s "$kit/kit.tar.xz")
echo "gpu kit: $kit/kit.tar.xz, $size bytes ($((size >> 20)) MiB of $((limit >> 20)) MiB); unpacked $(du -sb "$stage" | cut -f1) bytes"
[ "$size" -le "$limit" ] || { echo "gpu-kit: over the limit" >&2; exit 1; }
