//! Criterion benchmarks of the wgpu backend's hot paths, on the first hardware adapter
//! (else adapter 0; `TESSERA_BENCH_ADAPTER=i` picks one): dispatch overhead, a fused map,
//! reductions with each driver, tiled against direct transposes, and the tiled matmul.
//! Inputs are host arrays uploaded per run (as a loaded dataset would be) except where
//! the name says `random` (generated on the device). On a software adapter (lavapipe)
//! these show overhead, not GPU speed. Without an adapter it prints why and does nothing.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use tessera::backend::{TransposeKernel, WgpuBackend};
use tessera::{Array, ComputeOptions, DType, Device, Scheduler};

fn adapter() -> Option<usize> {
    let adapters = tessera::backend::wgpu_adapters();
    if let Ok(i) = std::env::var("TESSERA_BENCH_ADAPTER") {
        return i.parse().ok().filter(|&i| i < adapters.len());
    }
    adapters
        .iter()
        .find(|a| !a.software)
        .or(adapters.first())
        .map(|a| a.index)
}

fn stored(n: usize, chunk: usize) -> Array {
    let data = ndarray::Array::from_shape_fn((n, n), |(i, j)| ((i * 31 + j * 17) % 1000) as f32);
    tessera::from_ndarray(data.into_dyn(), chunk).unwrap()
}

fn wgpu_kernels(c: &mut Criterion) {
    let Some(i) = adapter() else {
        eprintln!("wgpu_kernels: no Vulkan adapter (install a GPU driver or mesa-vulkan-drivers); nothing to measure");
        return;
    };
    let a = &tessera::backend::wgpu_adapters()[i];
    eprintln!(
        "wgpu_kernels on adapter {i}: {} (software: {})",
        a.name, a.software
    );
    let opts = ComputeOptions {
        device: Device::Wgpu(i),
        scheduler: Scheduler::Threads(0),
        ..Default::default()
    };
    let run = |x: &Array| black_box(x.compute_host_with(&opts).unwrap());
    let mut g = c.benchmark_group("wgpu");
    g.sample_size(10);

    // Dispatch overhead: 1000 tiny chunks mapped and summed (partials stay on the device).
    let tiny = (tessera::random::uniform_range(&[1000 * 256], 256, 2, 0.0, 1.0, DType::F32)
        .unwrap()
        * 2.0)
        .sum();
    g.throughput(Throughput::Elements(tiny.num_tasks().unwrap() as u64));
    g.bench_function("tasks_map_sum_1000_chunks_of_256", |b| {
        b.iter(|| run(&tiny))
    });

    let n = 2048;
    g.throughput(Throughput::Bytes((n * n * 4) as u64));
    let x = stored(n, 1024);
    let random = tessera::random::uniform_range(&[n, n], 1024, 1, 0.0, 1.0, DType::F32).unwrap();
    g.bench_function("random_f32_2048_sum", |b| b.iter(|| run(&random.sum())));
    let map = &x * 2.0 + 1.0;
    g.bench_function("map_x*2+1_2048", |b| b.iter(|| run(&map)));
    let cols = x.sum_axis(0);
    g.bench_function("sum_axis0_serial_2048", |b| b.iter(|| run(&cols)));
    let rows = x.sum_axis(1);
    g.bench_function("sum_axis1_tree_2048", |b| b.iter(|| run(&rows)));
    let tr = &x.t() * 2.0;
    let gpu = WgpuBackend::open(i).unwrap();
    for (name, k) in [
        ("transpose_tiled_2048", TransposeKernel::Tiled),
        ("transpose_direct_2048", TransposeKernel::Direct),
    ] {
        gpu.set_transpose_kernel(k);
        g.bench_function(name, |b| b.iter(|| run(&tr)));
    }
    gpu.set_transpose_kernel(TransposeKernel::Auto);

    let m = 512;
    let y = tessera::random::uniform_range(&[m, m], m, 3, 0.0, 1.0, DType::F32).unwrap();
    let prod = y.matmul(&y);
    g.throughput(Throughput::Elements((2 * m * m * m) as u64));
    g.bench_function("matmul_f32_512_random", |b| b.iter(|| run(&prod)));

    // A user kernel: the 5-point periodic Laplacian in WGSL (tests/kernels) on the adapter,
    // against its CPU form (plain Rust loops) on the CPU, the same graph, then summed.
    use tessera::array::{map_overlap_kernel, Boundary, OutSpec, Overlap};
    use tessera::userfn::{BlockFn, UserKernel};
    let cpu = BlockFn::new("laplacian-cpu", |b, _| {
        let tessera::HostArray::F32(v) = b[0] else {
            return Err(tessera::Error::arg("laplacian", "f32 only"));
        };
        let (r, c) = (v.shape()[0], v.shape()[1]);
        let mut o = v.clone();
        for i in 1..r - 1 {
            for j in 1..c - 1 {
                o[[i, j]] =
                    v[[i - 1, j]] + v[[i + 1, j]] + v[[i, j - 1]] + v[[i, j + 1]] - 4.0 * v[[i, j]];
            }
        }
        Ok(tessera::HostArray::F32(o))
    });
    let lap = map_overlap_kernel(
        &[&random],
        UserKernel::wgsl(include_str!("../tests/kernels/laplacian.wgsl"), "laplacian"),
        Some(cpu),
        Overlap::new(&[1, 1], Boundary::Periodic),
        OutSpec::new(DType::F32).name("laplacian"),
    )
    .sum();
    g.throughput(Throughput::Bytes((n * n * 4) as u64));
    g.bench_function("user_wgsl_laplacian_2048", |b| b.iter(|| run(&lap)));
    let cpu_opts = ComputeOptions {
        device: Device::Cpu,
        scheduler: Scheduler::Threads(0),
        ..Default::default()
    };
    g.bench_function("user_cpu_form_laplacian_2048", |b| {
        b.iter(|| black_box(lap.compute_host_with(&cpu_opts).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, wgpu_kernels);
criterion_main!(benches);
