//! The last phase of a run: its outcome (the first error, told to the other ranks, or
//! the outputs assembled or persisted), the trace written, and the statistics.

use super::ranks::Transport;
use super::store::TierState;
use super::workers::Run;
use super::{outputs, trace, DeviceStats, Made, Mode, Stats, TierStats};
use crate::error::Result;
use crate::spill::SpillDir;
use std::sync::Arc;
use std::time::Instant;

/// The run's outputs, or its first error (which aborts the job on every rank: the others
/// would wait for this rank's chunks forever).
pub(super) fn outcome(run: &Run, mode: Mode, dirs: &[Arc<SpillDir>]) -> Result<Made> {
    if let Some(b) = &run.bar {
        b.finish_and_clear();
    }
    let failed = run.lock().error.take();
    if let (Some(e), Some(tr)) = (&failed, run.transport) {
        tr.abort(&format!("rank {}: {e}", tr.rank()));
    }
    let root = run.ranked.as_ref().is_none_or(|r| r.rank == 0);
    match failed {
        Some(e) => Err(e),
        None if !root && mode == Mode::Assemble => Ok(Made::Arrays(vec![])),
        None => outputs::collect(run, mode, dirs),
    }
}

/// Writes the task stream, if asked: over ranks every rank's rows go to rank 0, which
/// writes one trace with a process per rank.
pub(super) fn write_trace(run: &Run, transport: Option<&dyn Transport>) -> Result<()> {
    let Some(path) = &run.opts.trace else {
        return Ok(());
    };
    match (transport, &run.ranked) {
        (Some(tr), Some(r)) => {
            let mine = run
                .trace
                .render(r.rank, &format!("rank {}", r.rank), run.workers);
            let all = tr.gather(mine.into_bytes())?;
            if r.rank == 0 {
                let all: Vec<String> = all
                    .into_iter()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .collect();
                trace::Trace::write_all(path, &all)?;
            }
            Ok(())
        }
        _ => run.trace.write(path, run.workers),
    }
}

fn tier_stats(tiers: &[TierState]) -> TierStats {
    let mut s = TierStats::default();
    for t in tiers {
        s.limit = match (s.limit, t.limit) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        s.peak += t.peak;
        s.spilled_bytes += t.spilled_bytes;
        s.spilled_chunks += t.spilled_chunks;
        s.read_back_bytes += t.read_back_bytes;
        s.read_back_chunks += t.read_back_chunks;
        s.dropped_bytes += t.dropped_bytes;
        s.dropped_chunks += t.dropped_chunks;
        s.remade_chunks += t.remade_chunks;
    }
    s
}

/// What the run did, per tier and device.
pub(super) fn stats(run: &Run, t0: Instant) -> Stats {
    let st = run.lock();
    let c = &st.counters;
    let ndev = st.store.ndev;
    let host = tier_stats(&st.store.tiers[ndev..ndev + 1]);
    let device = tier_stats(&st.store.tiers[..ndev]);
    let disk = tier_stats(&st.store.tiers[ndev + 1..]);
    Stats {
        tasks: run.g.tasks.len(),
        peak_bytes: host.peak,
        wall: t0.elapsed(),
        workers: run.workers,
        device_tasks: c.on_device.iter().sum(),
        per_device: (0..ndev)
            .map(|d| DeviceStats {
                device: run.targets.devices[d].device(),
                tasks: c.on_device[d],
                memory: tier_stats(&st.store.tiers[d..d + 1]),
                bytes_in: c.moved_in[d].0,
                bytes_from_devices: c.moved_in[d].1,
            })
            .collect(),
        peak_device_bytes: device.peak,
        transfers: c.transfers,
        host,
        device,
        disk,
        spill_time: c.spill_time,
        rank: run.ranked.as_ref().map_or(0, |r| r.rank),
        ranks: run.ranked.as_ref().map_or(1, |r| r.size),
        remote_tasks: run
            .ranked
            .as_ref()
            .map_or(0, |r| r.remote.iter().filter(|&&x| x).count()),
        sent: c.sent,
        received: c.received,
    }
}
