//! Shared helpers for the conformance suite: the devices under test and an independent
//! dense reference computed with ndarray on the whole array.
#![allow(dead_code)]

use ndarray::{ArrayD, IxDyn};
use tessera::{Array, ComputeOptions, Device, Scheduler};

/// The wgpu adapter under test: `TESSERA_TEST_ADAPTER` (an index) when set, else the
/// first hardware adapter, else adapter 0 (lavapipe in CI); `None` when there is none.
pub fn test_adapter() -> Option<usize> {
    let adapters = tessera::backend::wgpu_adapters();
    if let Ok(i) = std::env::var("TESSERA_TEST_ADAPTER") {
        let i: usize = i.parse().expect("TESSERA_TEST_ADAPTER is an adapter index");
        assert!(
            i < adapters.len(),
            "TESSERA_TEST_ADAPTER={i}: only {} adapters",
            adapters.len()
        );
        return Some(i);
    }
    adapters
        .iter()
        .find(|a| !a.software)
        .or(adapters.first())
        .map(|a| a.index)
}

/// What the adapter under test supports.
pub fn test_caps() -> tessera::backend::AdapterSummary {
    let i = test_adapter().expect("an adapter under test");
    tessera::backend::wgpu_adapters()[i].clone()
}

/// Devices the suite runs on: the CPU, the wgpu adapter under test when one exists
/// (required when TESSERA_REQUIRE_WGPU=1, as in CI), and CUDA device 0 when there is one
/// (required when TESSERA_REQUIRE_CUDA=1). Ops a device has no kernel for run on the CPU
/// (logged), so every test still checks the device's kernels, its transfers and the
/// routing between them.
pub fn devices() -> Vec<Device> {
    let mut d = vec![Device::Cpu];
    if let Some(i) = test_adapter() {
        d.push(Device::Wgpu(i));
    } else if std::env::var("TESSERA_REQUIRE_WGPU").as_deref() == Ok("1") {
        panic!(
            "TESSERA_REQUIRE_WGPU=1 but no wgpu adapter was found (install mesa-vulkan-drivers)"
        );
    } else {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| eprintln!("SKIPPED the wgpu half of the suite: no Vulkan adapter (install mesa-vulkan-drivers)"));
    }
    // CUDA device 0 where one exists (TESSERA_REQUIRE_CUDA=1 makes its absence a failure,
    // as scripts/gpu-check.sh sets on a GPU machine).
    match tessera::backend::cuda_missing() {
        None if !tessera::backend::cuda_devices().is_empty() => d.push(Device::Cuda(0)),
        why => {
            let why = why.unwrap_or_else(|| "no CUDA device".into());
            assert!(
                std::env::var("TESSERA_REQUIRE_CUDA").as_deref() != Ok("1"),
                "TESSERA_REQUIRE_CUDA=1 but CUDA is unavailable: {why}"
            );
            static CUDA: std::sync::Once = std::sync::Once::new();
            CUDA.call_once(|| eprintln!("SKIPPED the CUDA part of the suite: {why}"));
        }
    }
    d
}

/// The devices under test other than the CPU (see [`devices`]); says so when none.
pub fn accelerators() -> Vec<Device> {
    let d: Vec<Device> = devices()
        .into_iter()
        .filter(|d| *d != Device::Cpu)
        .collect();
    if d.is_empty() {
        eprintln!("SKIPPED: no accelerator to compare with the CPU");
    }
    d
}

/// What a device under test computes itself (the rest it leaves to the CPU).
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    /// f64 data and arithmetic.
    pub f64: bool,
    /// f16 data and arithmetic.
    pub f16: bool,
    /// i64 data (integer reductions accumulate in it).
    pub i64: bool,
}

/// The capabilities of device `d` (wgpu: the adapter's features; CUDA: all).
pub fn caps(d: Device) -> Caps {
    match d {
        Device::Wgpu(i) => {
            let a = &tessera::backend::wgpu_adapters()[i];
            Caps {
                f64: a.shader_f64,
                f16: a.shader_f16,
                i64: a.shader_i64,
            }
        }
        _ => Caps {
            f64: true,
            f16: true,
            i64: true,
        },
    }
}

pub fn opts(device: Device) -> ComputeOptions {
    ComputeOptions {
        device,
        scheduler: Scheduler::Threads(2),
        ..Default::default()
    }
}

/// (tasks that ran on the device, all tasks) for computing `a` on `d`.
pub fn device_share(a: &Array, d: Device) -> (usize, usize) {
    let g = tessera::graph::TaskGraph::build(&[a]).unwrap();
    let r = tessera::scheduler::execute(&g, &opts(d)).unwrap();
    (r.stats.device_tasks, r.stats.tasks)
}

/// Computes on every device and returns the f64 view of each result.
pub fn run(a: &Array) -> Vec<(Device, ArrayD<f64>)> {
    devices()
        .into_iter()
        .map(|d| {
            let h = a
                .compute_host_with(&opts(d))
                .unwrap_or_else(|e| panic!("compute on {d}: {e}"));
            (d, h.to_f64())
        })
        .collect()
}

/// Computes on every device, asserts each device agrees with the CPU (NaN equals NaN;
/// the devices sum in different orders, and the CPU computes linear algebra in f64:
/// f64 to 1e-9 relative, f32 to 1e-5, f16 to 1e-2), and returns the CPU's result: tests
/// that check algebraic identities on it thereby check every device too.
pub fn agreed(a: &Array) -> ArrayD<f64> {
    let rel = match a.dtype() {
        tessera::DType::F32 => 1e-5,
        tessera::DType::F16 | tessera::DType::BF16 => 1e-2,
        _ => 1e-9,
    };
    let mut results = run(a).into_iter();
    let (_, cpu) = results.next().expect("the CPU is always tested");
    for (d, got) in results {
        assert_eq!(got.shape(), cpu.shape(), "{a}: shape on {d}");
        for (g, c) in got.iter().zip(cpu.iter()) {
            let ok =
                (g.is_nan() && c.is_nan()) || g == c || (g - c).abs() <= rel * c.abs().max(1.0);
            assert!(ok, "{a}: {d} gives {g}, the CPU {c}");
        }
    }
    cpu
}

/// [`agreed`] of a 0-d array, as a number.
pub fn agreed_scalar(a: &Array) -> f64 {
    agreed(a)[[]]
}

/// Asserts every device's result is close to `expected` (NaN equals NaN).
pub fn assert_close(a: &Array, expected: &ArrayD<f64>, rel: f64) {
    for (d, got) in run(a) {
        assert_eq!(got.shape(), expected.shape(), "shape on {d}");
        for (i, (g, e)) in got.iter().zip(expected.iter()).enumerate() {
            let ok =
                (g.is_nan() && e.is_nan()) || g == e || (g - e).abs() <= rel * e.abs().max(1.0);
            assert!(
                ok,
                "element {i} on {d}: got {g}, expected {e} (rel tol {rel})"
            );
        }
    }
}

/// A deterministic test matrix with distinct values (not all positive).
pub fn data(shape: &[usize], seed: u64) -> ArrayD<f64> {
    let n: usize = shape.iter().product();
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let v: Vec<f64> = (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 10.0 - 3.0
        })
        .collect();
    ArrayD::from_shape_vec(IxDyn(shape), v).unwrap()
}

/// Values of `a` grouped per output element when reducing `axes` (C order within a group).
pub fn groups(a: &ArrayD<f64>, axes: &[usize], keepdims: bool) -> (Vec<usize>, Vec<Vec<f64>>) {
    let d = a.ndim();
    let kept: Vec<usize> = (0..d).filter(|k| !axes.contains(k)).collect();
    let out_shape: Vec<usize> = kept.iter().map(|&k| a.shape()[k]).collect();
    let nout: usize = out_shape.iter().product();
    let mut groups = vec![Vec::new(); nout.max(if kept.is_empty() { 1 } else { 0 })];
    for (idx, &v) in a.indexed_iter() {
        let mut o = 0;
        for &k in &kept {
            o = o * a.shape()[k] + idx[k];
        }
        groups[o].push(v);
    }
    let shape = if keepdims {
        (0..d)
            .map(|k| if axes.contains(&k) { 1 } else { a.shape()[k] })
            .collect()
    } else {
        out_shape
    };
    (shape, groups)
}

/// Reference reduction over `axes` with a fold over each group.
pub fn reduce_ref(
    a: &ArrayD<f64>,
    axes: &[usize],
    keepdims: bool,
    f: impl Fn(&[f64]) -> f64,
) -> ArrayD<f64> {
    let (shape, g) = groups(a, axes, keepdims);
    ArrayD::from_shape_vec(IxDyn(&shape), g.iter().map(|v| f(v)).collect()).unwrap()
}

pub fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Two-pass variance (the textbook stable reference), with NumPy's divisor
/// `max(n - ddof, 0)`: past the count, inf (NaN when the squares sum to 0).
pub fn var(v: &[f64], ddof: usize) -> f64 {
    let m = mean(v);
    let m2 = if v.is_empty() {
        0.0
    } else {
        v.iter().map(|x| (x - m) * (x - m)).sum::<f64>()
    };
    m2 / v.len().saturating_sub(ddof) as f64
}

/// NumPy-semantics slice of one axis: the selected positions.
pub fn slice_positions(
    n: usize,
    start: Option<isize>,
    stop: Option<isize>,
    step: isize,
) -> Vec<usize> {
    let n = n as isize;
    let norm = |v: isize| if v < 0 { v + n } else { v };
    let mut out = vec![];
    if step > 0 {
        let s = start.map(norm).unwrap_or(0).clamp(0, n);
        let e = stop.map(norm).unwrap_or(n).clamp(0, n);
        let mut i = s;
        while i < e {
            out.push(i as usize);
            i += step;
        }
    } else {
        let s = start.map(norm).unwrap_or(n - 1).clamp(-1, n - 1);
        let e = stop.map(norm).unwrap_or(-1).clamp(-1, n - 1);
        let mut i = s;
        while i > e {
            out.push(i as usize);
            i += step;
        }
    }
    out
}

/// Distinct values of every dtype: i*7 - 40 (floats halved; bools whether odd; unsigned
/// ones shifted by 40; narrow integers wrapped to their width; complex numbers with an
/// imaginary part of their own).
pub fn values(d: tessera::DType, shape: &[usize]) -> tessera::HostArray {
    let n: usize = shape.iter().product();
    let f: Vec<f64> = (0..n).map(|i| i as f64 * 7.0 - 40.0).collect();
    let a = |v: Vec<f64>| ArrayD::from_shape_vec(IxDyn(shape), v).unwrap();
    match d {
        tessera::DType::F64 => tessera::HostArray::F64(a(f).mapv(|v| v / 2.0)),
        tessera::DType::F32 => tessera::HostArray::F32(a(f).mapv(|v| (v / 2.0) as f32)),
        tessera::DType::F16 => tessera::HostArray::F16(a(f).mapv(|v| half::f16::from_f64(v / 2.0))),
        tessera::DType::BF16 => {
            tessera::HostArray::BF16(a(f).mapv(|v| half::bf16::from_f64(v / 2.0)))
        }
        tessera::DType::I64 => tessera::HostArray::I64(a(f).mapv(|v| v as i64 * 1_000_003)),
        tessera::DType::I32 => tessera::HostArray::I32(a(f).mapv(|v| v as i32)),
        tessera::DType::U32 => tessera::HostArray::U32(a(f).mapv(|v| (v + 40.0) as u32)),
        tessera::DType::U64 => {
            tessera::HostArray::U64(a(f).mapv(|v| (v + 40.0) as u64 * 0x1_0000_0001))
        }
        tessera::DType::I8 => tessera::HostArray::I8(a(f).mapv(|v| v as i64 as i8)),
        tessera::DType::U8 => tessera::HostArray::U8(a(f).mapv(|v| (v + 40.0) as i64 as u8)),
        tessera::DType::I16 => tessera::HostArray::I16(a(f).mapv(|v| v as i64 as i16)),
        tessera::DType::U16 => tessera::HostArray::U16(a(f).mapv(|v| (v + 40.0) as i64 as u16)),
        tessera::DType::Bool => tessera::HostArray::Bool(a(f).mapv(|v| (v as i64) % 2 != 0)),
        tessera::DType::C64 => tessera::HostArray::C64(
            a(f).mapv(|v| tessera::Complex32::new((v / 2.0) as f32, (-v / 4.0) as f32)),
        ),
        tessera::DType::C128 => {
            tessera::HostArray::C128(a(f).mapv(|v| tessera::Complex64::new(v / 2.0, 1.0 - v)))
        }
    }
}

/// Python with `modules` importable (`TESSERA_PYTHON`, else `python3`), or why not:
/// `None` after saying the interop test skipped, and a failure instead under
/// `TESSERA_REQUIRE_INTEROP=1`.
pub fn python(modules: &[&str]) -> Option<String> {
    let py = std::env::var("TESSERA_PYTHON").unwrap_or_else(|_| "python3".into());
    let import = format!("import {}", modules.join(", "));
    let ok = std::process::Command::new(&py)
        .args(["-c", &import])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        return Some(py);
    }
    let why = format!(
        "{py} with {} was not found (set TESSERA_PYTHON)",
        modules.join(" and ")
    );
    assert!(
        std::env::var("TESSERA_REQUIRE_INTEROP").as_deref() != Ok("1"),
        "TESSERA_REQUIRE_INTEROP=1 but {why}"
    );
    eprintln!("SKIPPED an interop test: {why}");
    None
}

/// Runs a Python `script` with `args`; panics with its stderr if it fails.
pub fn run_python(py: &str, script: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(py)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Python's side of [`values`] for a 6x5 array of every dtype but bf16, as the dict
/// `arrs`; `d` is the script's first argument (a directory).
pub const PY_VALUES: &str = r#"
import numpy as np, sys, os
d = sys.argv[1]
f = (np.arange(30, dtype=np.float64) * 7 - 40).reshape(6, 5)
arrs = {
  'float64': f / 2, 'float32': (f / 2).astype(np.float32), 'float16': (f / 2).astype(np.float16),
  'int64': f.astype(np.int64) * 1000003, 'int32': f.astype(np.int32),
  'uint32': (f + 40).astype(np.uint32), 'bool': (f.astype(np.int64) % 2 != 0),
  'int8': f.astype(np.int64).astype(np.int8), 'uint8': (f + 40).astype(np.int64).astype(np.uint8),
  'int16': f.astype(np.int64).astype(np.int16),
  'uint16': (f + 40).astype(np.int64).astype(np.uint16),
  'uint64': (f + 40).astype(np.uint64) * np.uint64(0x100000001),
  'complex64': ((f / 2) + 1j * (-f / 4)).astype(np.complex64),
  'complex128': (f / 2) + 1j * (1 - f),
}
"#;

/// Shapes with uneven chunkings for round trips: 1-, 2- and 3-d with partial edge
/// chunks, a 0-d array and an empty one.
pub fn uneven_chunkings() -> Vec<(Vec<usize>, Vec<usize>)> {
    vec![
        (vec![17], vec![5]),
        (vec![13, 11], vec![4, 3]),
        (vec![5, 6, 7], vec![2, 6, 3]),
        (vec![], vec![]),
        (vec![0, 4], vec![1, 2]),
    ]
}

/// The CPU form of `tests/kernels/laplacian.{wgsl,cu}`: a 5-point Laplacian of a 2-d f32
/// block with a halo of 1 (the block's border is the halo and is trimmed off).
pub fn laplacian_cpu_form() -> tessera::userfn::BlockFn {
    tessera::userfn::BlockFn::new("laplacian-cpu", |b, _| {
        let tessera::HostArray::F32(v) = b[0] else {
            return Err(tessera::Error::arg("laplacian", "f32 blocks only"));
        };
        let mut o = v.clone();
        for i in 1..v.shape()[0] - 1 {
            for j in 1..v.shape()[1] - 1 {
                o[[i, j]] =
                    v[[i - 1, j]] + v[[i + 1, j]] + v[[i, j - 1]] + v[[i, j + 1]] - 4.0 * v[[i, j]];
            }
        }
        Ok(tessera::HostArray::F32(o))
    })
}
