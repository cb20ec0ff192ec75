//! Building a graph costs the same per block at any size: the bytes lowering allocates
//! (counted by this binary's allocator, so the check is exact and untimed) grow
//! linearly with the number of source blocks. Copying one array's block list once per
//! block made them grow with its square (a 10⁷-chunk Zarr sum never finished building).
//!
//! The 10⁷-block build itself needs about 12 GB here, more than CI can give one test:
//! `cargo test --test graph_scale -- --ignored --nocapture` runs it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

struct Counting;

/// Bytes ever allocated, and live now / at most since the last reset.
static TOTAL: AtomicU64 = AtomicU64::new(0);
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        TOTAL.fetch_add(l.size() as u64, Ordering::Relaxed);
        let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        TOTAL.fetch_add(new as u64, Ordering::Relaxed);
        let now = LIVE.fetch_add(new, Ordering::Relaxed) + new;
        PEAK.fetch_max(now, Ordering::Relaxed);
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        System.realloc(p, l, new)
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// The tests of this binary measure one at a time.
static ONE: Mutex<()> = Mutex::new(());

/// Bytes allocated in all, and the peak held, per block while building the graph of
/// `x.sum()` for `x` in `n` one-element blocks (a stored source, or generated).
fn build_cost(n: usize, stored: bool) -> (f64, f64, usize) {
    let x = if stored {
        let v = ndarray::ArrayD::<f64>::zeros(ndarray::IxDyn(&[n]));
        tessera::from_ndarray(v, &[1usize][..]).unwrap()
    } else {
        tessera::random::uniform(&[n], &[1usize][..], 1).unwrap()
    };
    let y = x.sum();
    let (total0, live0) = (TOTAL.load(Ordering::Relaxed), LIVE.load(Ordering::Relaxed));
    PEAK.store(live0, Ordering::Relaxed);
    let g = tessera::graph::TaskGraph::build(&[&y]).unwrap();
    let total = (TOTAL.load(Ordering::Relaxed) - total0) as f64 / n as f64;
    let peak = (PEAK.load(Ordering::Relaxed) - live0) as f64 / n as f64;
    (total, peak, g.tasks.len())
}

#[test]
fn lowering_allocates_the_same_per_block_at_ten_times_the_blocks() {
    let _one = ONE.lock().unwrap_or_else(|p| p.into_inner());
    for stored in [true, false] {
        let (small, _, _) = build_cost(20_000, stored);
        let (large, peak, tasks) = build_cost(200_000, stored);
        println!(
            "stored {stored}: {small:.0} B/block allocated at 2e4 blocks, {large:.0} at 2e5 ({tasks} tasks, peak {peak:.0} B/block)"
        );
        assert!(
            large < small * 1.5,
            "stored {stored}: {large:.0} B/block at 2e5 blocks against {small:.0} at 2e4: lowering grows faster than the block count"
        );
    }
}

#[test]
#[ignore]
fn a_ten_million_block_graph_builds() {
    let _one = ONE.lock().unwrap_or_else(|p| p.into_inner());
    let t = std::time::Instant::now();
    let (total, peak, tasks) = build_cost(10_000_000, false);
    let s = t.elapsed().as_secs_f64();
    println!(
        "1e7 blocks: {tasks} tasks in {s:.1} s ({:.2} us/block), {total:.0} B/block allocated, peak {peak:.0} B/block",
        s * 1e6 / 1e7
    );
    assert!(tasks > 10_000_000, "{tasks} tasks");
}
