//! Criterion benchmarks of the hot paths: random generation, a fused map, a fused
//! map + reduction partial, and scheduler overhead on tiny tasks. Throughput is in
//! elements so results compare across machines as ratios (see `tessera bench` for the
//! whole-workload table against this machine's memory bandwidth).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

fn philox(c: &mut Criterion) {
    let mut g = c.benchmark_group("philox");
    let mut out = vec![0f64; 1 << 20];
    g.throughput(Throughput::Elements(out.len() as u64));
    g.bench_function("uniform_f64_1M", |b| {
        b.iter(|| tessera::philox::fill_uniform_f64(42, 0, 0, black_box(&mut out), 0.0, 1.0))
    });
    let mut out32 = vec![0f32; 1 << 20];
    g.bench_function("uniform_f32_1M", |b| {
        b.iter(|| tessera::philox::fill_uniform_f32(42, 1, 0, black_box(&mut out32), 0.0, 1.0))
    });
    g.bench_function("normal_f64_1M", |b| {
        b.iter(|| tessera::philox::fill_normal_f64(42, 2, 0, black_box(&mut out), 0.0, 1.0))
    });
    // The portable Box–Muller (bit-identical on every device) against the same draws
    // through the standard library's ln and cos, which it replaced.
    g.bench_function("normal_f32_1M", |b| {
        b.iter(|| tessera::philox::fill_normal_f32(42, 3, 0, black_box(&mut out32), 0.0, 1.0))
    });
    g.bench_function("normal_f32_libm_1M", |b| {
        b.iter(|| {
            for (i, pair) in black_box(&mut out32).chunks_mut(2).enumerate() {
                let r = tessera::philox::philox4x32([i as u32, 0, 3, 0], [42, 0]);
                for (k, o) in pair.iter_mut().enumerate() {
                    let u1 = 1.0 - tessera::philox::u01_f32(r[2 * k]);
                    let u2 = tessera::philox::u01_f32(r[2 * k + 1]);
                    *o = (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos();
                }
            }
        })
    });
    g.finish();
}

fn fused_chunks(c: &mut Criterion) {
    let mut g = c.benchmark_group("chunk");
    let opts = tessera::ComputeOptions {
        scheduler: tessera::Scheduler::Sync,
        ..Default::default()
    };
    let n = 1000;
    g.throughput(Throughput::Elements((n * n) as u64));
    let x = tessera::random::uniform(&[n, n], n, 1).unwrap();
    let data = x.compute::<f64>().unwrap();
    let src = tessera::from_ndarray(data, n).unwrap();
    let map = &src * 2.0 + 1.0;
    g.bench_function("map_x*2+1_1000x1000", |b| {
        b.iter(|| black_box(map.compute_with::<f64>(&opts).unwrap()))
    });
    let seed = (&x + &x.t()).sum_axis(0);
    g.bench_function("random_x+xT_sum0_1000x1000", |b| {
        b.iter(|| black_box(seed.compute_with::<f64>(&opts).unwrap()))
    });
    let stdv = src.std_axis(1, 0);
    g.bench_function("std_axis1_1000x1000", |b| {
        b.iter(|| black_box(stdv.compute_with::<f64>(&opts).unwrap()))
    });
    g.finish();
}

fn scheduler_overhead(c: &mut Criterion) {
    let mut g = c.benchmark_group("scheduler");
    let x = tessera::random::uniform(&[10_000 * 100], 100, 1)
        .unwrap()
        .sum();
    let tasks = x.num_tasks().unwrap();
    g.throughput(Throughput::Elements(tasks as u64));
    g.sample_size(10);
    g.bench_function("tiny_tasks_10k_chunks", |b| {
        b.iter(|| black_box(x.compute_scalar::<f64>().unwrap()))
    });
    g.finish();
}

criterion_group!(benches, philox, fused_chunks, scheduler_overhead);
criterion_main!(benches);
