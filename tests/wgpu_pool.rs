//! The wgpu buffer pool, alone in its own test process: pool counters are per device and
//! process-wide, so other tests running beside it would change them.

mod common;

use tessera::{ComputeOptions, DType, Device, Scheduler};

#[test]
fn device_buffers_are_reused_from_the_pool() {
    let Some(&dev) = common::devices().iter().find(|d| **d != Device::Cpu) else {
        return;
    };
    let Device::Wgpu(i) = dev else { unreachable!() };
    let gpu = tessera::backend::WgpuBackend::open(i).unwrap();
    // A shape no other test uses, so its size classes are this test's own.
    let x = tessera::random::uniform_range(&[333, 77], &[111, 77][..], 5, 0.0, 1.0, DType::F32)
        .unwrap();
    let y = (&x * 3.0 + 1.0).sum_axis(1);
    let opts = ComputeOptions {
        scheduler: Scheduler::Sync,
        ..common::opts(dev)
    };
    let first = y.compute_with::<f32>(&opts).unwrap();
    assert!(gpu.pooled_bytes() > 0, "freed buffers return to the pool");
    let created = gpu.buffers_created();
    // The same graph again takes every buffer from the pool: nothing new is created,
    // and the results are unchanged.
    for _ in 0..3 {
        assert_eq!(y.compute_with::<f32>(&opts).unwrap(), first);
    }
    assert_eq!(
        gpu.buffers_created(),
        created,
        "buffers were reused, not created"
    );
    let cpu = y.compute_with::<f32>(&common::opts(Device::Cpu)).unwrap();
    for (a, b) in first.iter().zip(cpu.iter()) {
        assert!((a - b).abs() <= 1e-4 * b.abs(), "{a} vs {b}");
    }
}
