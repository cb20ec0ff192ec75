//! What is about wgpu itself, on a real adapter (lavapipe in CI): adapter naming and
//! `Device::Auto`'s choice, tiled transposes, storage-binding limits, f64 by adapter
//! feature, pinned-adapter errors. What every accelerator must compute like the CPU is
//! in `devices.rs`. Without an adapter these tests print that they skipped and why —
//! unless TESSERA_REQUIRE_WGPU=1, when they fail.

mod common;

use tessera::backend::TransposeKernel;
use tessera::{ComputeOptions, DType, Device};

/// The wgpu device to test, or `None` (skipped, with the reason printed).
fn wgpu() -> Option<Device> {
    if let Some(i) = common::test_adapter() {
        let a = &tessera::backend::wgpu_adapters()[i];
        eprintln!(
            "wgpu tests on adapter {i}: {} ({}, {}, software: {})",
            a.name, a.backend, a.device_type, a.software
        );
        return Some(Device::Wgpu(i));
    }
    let why = "no Vulkan adapter found (install mesa-vulkan-drivers for lavapipe, or a GPU driver)";
    if std::env::var("TESSERA_REQUIRE_WGPU").as_deref() == Ok("1") {
        panic!("TESSERA_REQUIRE_WGPU=1 but {why}");
    }
    eprintln!("SKIPPED wgpu test: {why}");
    None
}

/// The opened backend of the adapter under test.
fn backend() -> std::sync::Arc<tessera::backend::WgpuBackend> {
    tessera::backend::WgpuBackend::open(common::test_adapter().unwrap()).unwrap()
}

#[test]
fn f64_maps_run_where_the_adapter_has_f64() {
    let Some(dev) = wgpu() else { return };
    let a = common::data(&[40, 30], 3);
    let x = tessera::from_ndarray(a.clone(), &[16, 16][..]).unwrap();
    let y = (&x * 2.0 - &x.t().t()).abs() + 0.5;
    let g = y.compute_with::<f64>(&common::opts(dev)).unwrap();
    let expect = a.mapv(|v| (2.0 * v - v).abs() + 0.5);
    assert_eq!(g, expect, "f64 add/mul/abs are exact IEEE operations");
}

#[test]
fn auto_never_picks_a_software_adapter() {
    let Some(_) = wgpu() else { return };
    let software_only = tessera::backend::wgpu_adapters().iter().all(|a| a.software);
    let x = tessera::random::uniform_range(&[64, 64], 32, 1, 0.0, 1.0, DType::F32).unwrap();
    let y = &x * 2.0;
    let (on_dev, _) = common::device_share(&y, Device::Auto);
    if software_only {
        assert_eq!(
            on_dev, 0,
            "Auto must stay on the CPU when only software adapters exist"
        );
    } else {
        assert!(on_dev > 0, "Auto must use the real adapter");
    }
    assert_eq!(
        y.compute_with::<f32>(&common::opts(Device::Auto)).unwrap(),
        y.compute_with::<f32>(&common::opts(Device::Cpu)).unwrap()
    );
}

#[test]
fn a_pinned_device_reports_what_it_cannot_run() {
    let Some(dev) = wgpu() else { return };
    // bf16 has no wgpu kernels: with fallback off that is a clear UnsupportedDType error.
    // (The data comes from the host: sources are host chunks even on a pinned device.)
    let host = ndarray::Array::from_iter((0..10).map(|v| v as f32)).into_dyn();
    let x = tessera::from_ndarray(host, 5).unwrap().astype(DType::BF16) * 2;
    let pinned = ComputeOptions {
        cpu_fallback: false,
        ..common::opts(dev)
    };
    let e = x.compute_with::<half::bf16>(&pinned).unwrap_err();
    assert!(
        matches!(
            e,
            tessera::Error::UnsupportedDType {
                dtype: DType::BF16,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("cpu_fallback"), "{e}");
    // Ops without a kernel (a QR) name the op instead.
    let a =
        tessera::random::uniform_range(&[20, 4], &[10, 4][..], 1, 0.0, 1.0, DType::F32).unwrap();
    let e = tessera::linalg::qr(&a)
        .1
        .compute_with::<f32>(&pinned)
        .unwrap_err();
    assert!(
        e.to_string().contains("no kernel") || e.to_string().contains("qr"),
        "{e}"
    );
    // A capability the op needs, not the dtype: f64 data lives on the device, but
    // normal f64 draws need an f64 log and cos, which Vulkan lacks. Declines are typed,
    // so this is not mistaken for an unsupported dtype because its text says "float64".
    if common::test_caps().shader_f64 {
        let z = tessera::random::normal(&[8], 4, 1).unwrap() * 2.0;
        let e = z.compute_with::<f64>(&pinned).unwrap_err();
        assert!(matches!(e, tessera::Error::InvalidArgument { .. }), "{e:?}");
        assert!(e.to_string().contains("log/cos"), "{e}");
    }
    // With fallback (the default) both compute.
    assert_eq!(
        x.compute_with::<half::bf16>(&common::opts(dev)).unwrap()[[3]].to_f32(),
        6.0
    );
}

#[test]
fn transposed_inputs_are_tiled_and_match_the_cpu() {
    let Some(dev) = wgpu() else { return };
    // Stored (uploaded) inputs, so the kernels read buffers through transposed views;
    // odd sizes leave partial 16×16 tiles on both axes.
    let data = ndarray::Array::from_shape_fn((70, 45), |(i, j)| (i * 45 + j) as f32 * 0.5 - 9.0);
    let x = tessera::from_ndarray(data.clone().into_dyn(), &[40, 30][..]).unwrap();
    let y = tessera::from_ndarray(data.t().to_owned().into_dyn(), &[30, 40][..]).unwrap();
    let cube =
        ndarray::Array::from_shape_fn((9, 20, 33), |(a, b, c)| (a * 1000 + b * 40 + c) as f32);
    let z = tessera::from_ndarray(cube.into_dyn(), &[5, 20, 33][..]).unwrap();
    let cases = [
        x.t(),
        &x.t() * 2.0 + &y,       // one tiled leaf beside a contiguous one
        (&x.t() + &x.t()).abs(), // the same transposed input twice
        z.permute_axes(&[2, 0, 1]),
        z.swapaxes(1, 2) - 1.0, // a batch of transposes
        z.permute_axes(&[1, 2, 0]),
    ];
    // Integers and bools (stored as u32) through the tile too.
    let xi = tessera::from_ndarray(data.mapv(|v| v as i32).into_dyn(), &[40, 30][..]).unwrap();
    let xb = tessera::from_ndarray(data.mapv(|v| v > 0.0).into_dyn(), &[40, 30][..]).unwrap();
    let ints = [xi.t() * 3, xi.t() + xb.t().astype(DType::I32)];
    let bools = xb.t().not();
    // Both kernels on this adapter, whatever `Auto` would pick here; the choice is
    // process-wide, but every kernel computes the same values, so tests beside this one
    // are unaffected.
    let gpu = backend();
    for kernel in [TransposeKernel::Tiled, TransposeKernel::Direct] {
        gpu.set_transpose_kernel(kernel);
        for a in &cases {
            let (on_dev, _) = common::device_share(a, dev);
            assert!(on_dev > 0, "{a}: the maps ran on the device");
            assert_eq!(
                a.compute_with::<f32>(&common::opts(dev)).unwrap(),
                a.compute_with::<f32>(&common::opts(Device::Cpu)).unwrap(),
                "{a} with {kernel:?}"
            );
        }
        for a in &ints {
            assert_eq!(
                a.compute_with::<i32>(&common::opts(dev)).unwrap(),
                a.compute_with::<i32>(&common::opts(Device::Cpu)).unwrap(),
                "{a} with {kernel:?}"
            );
        }
        assert_eq!(
            bools.compute_with::<bool>(&common::opts(dev)).unwrap(),
            bools
                .compute_with::<bool>(&common::opts(Device::Cpu))
                .unwrap()
        );
    }
    gpu.set_transpose_kernel(TransposeKernel::Auto);
}

#[test]
fn chunks_beyond_the_storage_binding_run_on_the_cpu_or_fail_clearly_when_pinned() {
    let Some(dev) = wgpu() else { return };
    let limit = common::test_caps().max_storage_binding as usize;
    if limit > 1 << 30 {
        eprintln!("SKIPPED the binding-limit test: the adapter binds {limit} bytes (too much memory to exceed here)");
        return;
    }
    // One f32 chunk a little larger than the binding allows.
    let n = limit / 4 + 4096;
    let x = tessera::random::uniform_range(&[n], n, 3, 0.0, 1.0, DType::F32).unwrap();
    let y = (&x * 2.0).sum();
    let (on_dev, all) = common::device_share(&y, dev);
    assert!(
        on_dev < all,
        "the oversized chunk ran on the CPU ({on_dev} of {all} on the device)"
    );
    let expect = y
        .compute_host_with(&common::opts(Device::Cpu))
        .unwrap()
        .to_f64()[[]];
    let got = y.compute_host_with(&common::opts(dev)).unwrap().to_f64()[[]];
    assert!(
        (got - expect).abs() <= 1e-6 * expect.abs(),
        "{got} vs {expect}"
    );
    let pinned = ComputeOptions {
        cpu_fallback: false,
        ..common::opts(dev)
    };
    let e = y.compute_with::<f32>(&pinned).unwrap_err().to_string();
    assert!(
        e.contains("storage binding") && e.contains("smaller chunks"),
        "{e}"
    );
}

#[test]
fn adapters_can_be_named() {
    let Some(Device::Wgpu(i)) = wgpu() else {
        return;
    };
    let name = common::test_caps().name;
    let part: String = name.chars().take(4).collect::<String>().to_uppercase();
    let Device::Wgpu(j) = format!("wgpu:{part}").parse::<Device>().unwrap() else {
        panic!("a wgpu spec parses to a wgpu device")
    };
    let found = &tessera::backend::wgpu_adapters()[j].name;
    assert!(
        found.to_uppercase().contains(&part),
        "{found} for {part} (test adapter {i})"
    );
    let e = "wgpu:no-such-gpu"
        .parse::<Device>()
        .unwrap_err()
        .to_string();
    assert!(e.contains("no-such-gpu") && e.contains(&name), "{e}");
}

/// The 5-point Laplacian by [`tessera::array::map_overlap_kernel`]: the user's WGSL on the
/// adapter, its CPU form on the CPU, both against np.roll-style periodic arithmetic.
#[test]
fn a_user_wgsl_stencil_kernel_runs_on_the_adapter_and_matches_its_cpu_form() {
    use tessera::array::{map_overlap_kernel, Boundary, OutSpec, Overlap};
    use tessera::userfn::UserKernel;
    let Some(dev) = wgpu() else { return };
    let (n, m) = (70usize, 45usize);
    let x =
        tessera::random::uniform_range(&[n, m], &[32, 20][..], 5, -1.0, 1.0, DType::F32).unwrap();
    let a = x.compute::<f32>().unwrap();
    let cpu = common::laplacian_cpu_form();
    let kernel = UserKernel::wgsl(include_str!("kernels/laplacian.wgsl"), "laplacian");
    let lap = map_overlap_kernel(
        &[&x],
        kernel,
        Some(cpu),
        Overlap::new(&[1, 1], Boundary::Periodic),
        OutSpec::new(DType::F32).name("laplacian"),
    );
    let g = tessera::graph::TaskGraph::build(&[&lap]).unwrap();
    let on_gpu = tessera::scheduler::execute(&g, &common::opts(dev)).unwrap();
    assert!(
        on_gpu.stats.device_tasks >= 12,
        "the user kernels ran on the adapter: {} tasks there",
        on_gpu.stats.device_tasks
    );
    let on_cpu = lap.compute_with::<f32>(&common::opts(Device::Cpu)).unwrap();
    let gpu = lap.compute_with::<f32>(&common::opts(dev)).unwrap();
    for i in 0..n {
        for j in 0..m {
            let want = a[[(i + n - 1) % n, j]]
                + a[[(i + 1) % n, j]]
                + a[[i, (j + m - 1) % m]]
                + a[[i, (j + 1) % m]]
                - 4.0 * a[[i, j]];
            assert_eq!(on_cpu[[i, j]], want, "CPU form at ({i}, {j})");
            // The shader may fuse the last multiply-add: within an ulp of the sum's size.
            assert!(
                (gpu[[i, j]] - want).abs() <= 4.0 * f32::EPSILON * 8.0,
                "kernel at ({i}, {j}): {} vs {want}",
                gpu[[i, j]]
            );
        }
    }
    // Without a CPU form, the CPU says how to run it.
    let bare = map_overlap_kernel(
        &[&x],
        UserKernel::wgsl(include_str!("kernels/laplacian.wgsl"), "laplacian"),
        None,
        Overlap::new(&[1, 1], Boundary::Periodic),
        OutSpec::new(DType::F32),
    );
    let e = bare
        .compute_with::<f32>(&common::opts(Device::Cpu))
        .unwrap_err();
    assert!(e.to_string().contains("no CPU form"), "{e}");
    assert_eq!(bare.compute_with::<f32>(&common::opts(dev)).unwrap(), gpu);
    // An input the binding contract cannot describe (int8: stored packed on wgpu, four
    // to a word) makes the adapter decline the task by dtype, so its CPU form runs.
    let small = x.astype(DType::I8);
    let widen = tessera::userfn::BlockFn::new("widen", |b, _| {
        let tessera::HostArray::I8(v) = b[0] else {
            return Err(tessera::Error::arg("widen", "int8 blocks only"));
        };
        Ok(tessera::HostArray::F32(v.mapv(f32::from)))
    });
    let widened = tessera::array::map_blocks_kernel(
        &[&small],
        UserKernel::wgsl(include_str!("kernels/laplacian.wgsl"), "laplacian"),
        Some(widen),
        OutSpec::new(DType::F32),
    );
    let (on_dev, _) = common::device_share(&widened, dev);
    let want = small.astype(DType::F32).compute::<f32>().unwrap();
    assert_eq!(
        widened.compute_with::<f32>(&common::opts(dev)).unwrap(),
        want
    );
    assert!(
        on_dev < widened.num_tasks().unwrap(),
        "the int8 task ran on the CPU"
    );
    // A WGSL error is an error of the compute, not a panic.
    let broken = tessera::array::map_blocks_kernel(
        &[&x],
        UserKernel::wgsl("this is not WGSL", "main"),
        None,
        OutSpec::new(DType::F32),
    );
    assert!(broken.compute_with::<f32>(&common::opts(dev)).is_err());
}
