//! Several devices in one compute (`ComputeOptions::devices`): blocks are spread over
//! them (owner computes), chunks move between them through the host, and every result
//! matches the CPU's. On one GPU the same adapter is opened as two logical devices, each
//! with its own memory tier and blocks (lavapipe in CI).

mod common;

use common::*;
use ndarray::ArrayD;
use tessera::scheduler::Stats;
use tessera::{Array, ComputeOptions, Device, Scheduler};

/// The device sets under test: the adapter under test twice, the CPU beside it, and
/// every CUDA device (twice over when there is one) where CUDA exists.
fn sets() -> Vec<Vec<Device>> {
    let mut sets = vec![];
    for d in accelerators() {
        sets.push(vec![d, d]);
        sets.push(vec![Device::Cpu, d]);
    }
    if !tessera::backend::cuda_devices().is_empty() {
        sets.push(tessera::backend::parse_devices("cuda:*").unwrap());
    }
    sets
}

fn opts_on(set: &[Device]) -> ComputeOptions {
    ComputeOptions {
        devices: set.to_vec(),
        scheduler: Scheduler::Threads(2),
        ..Default::default()
    }
}

/// Computes `arrays` on `set`, returning their f64 values and the statistics.
fn on(set: &[Device], arrays: &[&Array], opts: &ComputeOptions) -> (Vec<ArrayD<f64>>, Stats) {
    let lowering = tessera::graph::Lowering::for_devices(set);
    let g = tessera::graph::TaskGraph::build_with(arrays, lowering).unwrap();
    let r = tessera::scheduler::execute(&g, opts).unwrap_or_else(|e| panic!("on {set:?}: {e}"));
    (r.outputs.iter().map(|h| h.to_f64()).collect(), r.stats)
}

fn cpu(arrays: &[&Array]) -> Vec<ArrayD<f64>> {
    let refs = tessera::compute_all_with(arrays, &opts(Device::Cpu)).unwrap();
    refs.iter().map(|h| h.to_f64()).collect()
}

fn assert_near(got: &ArrayD<f64>, want: &ArrayD<f64>, rel: f64, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}");
    for (g, w) in got.iter().zip(want.iter()) {
        assert!(
            (g - w).abs() <= rel * w.abs().max(1.0),
            "{what}: {g} vs the CPU's {w}"
        );
    }
}

/// Every device of the set ran tasks (a CPU named in the set counts as one).
fn assert_spread(set: &[Device], s: &Stats) {
    let devices: Vec<usize> = s.per_device.iter().map(|d| d.tasks).collect();
    assert_eq!(
        s.per_device.len(),
        set.iter().filter(|d| **d != Device::Cpu).count(),
        "{set:?}"
    );
    assert!(
        devices.iter().all(|&t| t > 0),
        "{set:?}: tasks per device {devices:?}"
    );
    if set.contains(&Device::Cpu) {
        assert!(s.tasks > s.device_tasks, "{set:?}: the CPU owns blocks too");
    }
}

#[test]
fn the_seed_workload_is_spread_over_the_devices_and_matches_the_cpu() {
    let x = tessera::random::uniform(&[400, 400], 50, 42).unwrap();
    let z = &x + &x.t();
    let y = z.sum_axis(0).mean();
    let want = cpu(&[&z, &y]);
    for set in sets() {
        let (got, s) = on(&set, &[&z, &y], &opts_on(&set));
        // Elementwise results are the same bits wherever each block ran.
        assert_eq!(got[0], want[0], "{set:?}: x + x.T");
        assert_near(&got[1], &want[1], 1e-12, "y");
        assert_spread(&set, &s);
    }
}

#[test]
fn several_reductions_in_one_compute_match_the_cpu() {
    let x = tessera::random::uniform(&[300, 200], &[60, 50], 7).unwrap() - 0.5;
    let (a, b, c, d) = (x.sum_axis(0), x.mean_axis(1), x.std(0), x.max());
    let all = [&a, &b, &c, &d];
    let want = cpu(&all);
    for set in sets() {
        let (got, s) = on(&set, &all, &opts_on(&set));
        for (k, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_near(g, w, 1e-12, &format!("{set:?}: reduction {k}"));
        }
        assert_spread(&set, &s);
    }
}

/// A product block reads blocks other devices made: they move through the host.
#[test]
fn matmul_moves_operands_between_devices_and_matches_the_cpu() {
    let a = tessera::random::uniform(&[240, 180], 60, 1).unwrap() * 2.0;
    let b = tessera::random::uniform(&[180, 120], 60, 2).unwrap() - 0.5;
    let c = a.matmul(&b);
    let want = cpu(&[&c]);
    for set in sets() {
        let (got, s) = on(&set, &[&c], &opts_on(&set));
        assert_near(&got[0], &want[0], 1e-12, &format!("{set:?}: a @ b"));
        assert_spread(&set, &s);
        if set.iter().all(|d| *d != Device::Cpu) {
            let from: u64 = s.per_device.iter().map(|d| d.bytes_from_devices).sum();
            assert!(from > 0, "{set:?}: no block moved between devices: {s:?}");
            assert!(s.transfers >= 2);
        }
    }
}

#[test]
fn tsqr_over_several_devices_matches_the_cpu() {
    let a = tessera::random::uniform(&[600, 40], &[100, 40], 3).unwrap();
    let (q, r) = tessera::linalg::qr(&a);
    let want = cpu(&[&q, &r]);
    for set in sets() {
        let (got, _) = on(&set, &[&q, &r], &opts_on(&set));
        assert_near(&got[0], &want[0], 1e-9, &format!("{set:?}: Q"));
        assert_near(&got[1], &want[1], 1e-9, &format!("{set:?}: R"));
    }
}

/// Each logical device keeps its own limit: its peak stays under it while blocks spill
/// to the host.
#[test]
fn each_device_stays_under_its_own_memory_limit() {
    let a = tessera::random::uniform(&[360, 240], 60, 5).unwrap() * 3.0;
    let b = tessera::random::uniform(&[240, 360], 60, 6).unwrap();
    let c = a.matmul(&b).sum_axis(1);
    let want = cpu(&[&c]);
    let limit = 5 * 60 * 60 * 8;
    for set in sets().into_iter().filter(|s| !s.contains(&Device::Cpu)) {
        let opts = ComputeOptions {
            device_memory_limit: Some(limit),
            ..opts_on(&set)
        };
        let (got, s) = on(&set, &[&c], &opts);
        assert_near(&got[0], &want[0], 1e-12, &format!("{set:?}"));
        for d in &s.per_device {
            assert_eq!(d.memory.limit, Some(limit));
            assert!(d.memory.peak <= limit, "{set:?}: {d:?}");
        }
        assert!(
            s.device.spilled_bytes > 0,
            "{set:?}: nothing spilled: {s:?}"
        );
    }
}

#[test]
fn device_sets_parse_and_bad_ones_are_clear_errors() {
    use tessera::backend::parse_devices;
    assert_eq!(
        parse_devices("cpu, wgpu:1").unwrap(),
        vec![Device::Cpu, Device::Wgpu(1)]
    );
    for (bad, says) in [
        ("cpu,,wgpu:0", "empty entry"),
        ("cpu,tpu:0", "unknown device"),
        ("cuda:x", "ordinal"),
    ] {
        let e = parse_devices(bad).unwrap_err().to_string();
        assert!(e.contains(says), "{bad}: {e}");
    }
    if tessera::backend::cuda_devices().is_empty() {
        let e = parse_devices("cuda:*").unwrap_err().to_string();
        assert!(e.contains("found no CUDA device"), "{e}");
    }
    // A set with the CPU alone is the CPU, with its own lowering.
    let x = tessera::random::uniform(&[100, 100], 25, 1).unwrap().sum();
    let v = x
        .compute_with::<f64>(&opts_on(&[Device::Cpu, Device::Cpu]))
        .unwrap();
    assert_eq!(v, x.compute_with::<f64>(&opts(Device::Cpu)).unwrap());
}
