"""Every test runs on the CPU and on wgpu (lavapipe in CI), as the Rust conformance
suite does; NumPy is the reference. TESSERA_REQUIRE_WGPU=1 turns a missing adapter into
a failure instead of a skip."""

from __future__ import annotations

import os

import pytest

import tessera

_WGPU = None


def _wgpu_device() -> str | None:
    global _WGPU
    if _WGPU is None:
        text = tessera._native.info()
        line = next((ln.strip() for ln in text.splitlines() if ln.strip().startswith("wgpu:")), None)
        _WGPU = line.split()[0] if line else ""
    return _WGPU or None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cpu_only: runs once (the device does not matter to it)")


@pytest.fixture(autouse=True, params=["cpu", "wgpu"])
def device(request: pytest.FixtureRequest):
    if request.param == "wgpu":
        if request.node.get_closest_marker("cpu_only"):
            pytest.skip("device-independent test: run on the CPU only")
        dev = _wgpu_device()
        if dev is None:
            if os.environ.get("TESSERA_REQUIRE_WGPU") == "1":
                pytest.fail("TESSERA_REQUIRE_WGPU=1 but no wgpu adapter was found (install mesa-vulkan-drivers)")
            pytest.skip("no wgpu adapter (install mesa-vulkan-drivers for lavapipe)")
        # Pinned: a task the adapter declines is an error here, not a silent CPU run.
        with tessera.config.set(device=dev, cpu_fallback=True):
            yield dev
    else:
        with tessera.config.set(device="cpu"):
            yield "cpu"
