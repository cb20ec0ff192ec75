//! The end of a run: output blocks not yet in their result or written to their sink
//! (those on a device, on disk, or persisted inputs returned as they are) are brought to
//! the host — device blocks in batches of up to 256 MiB with one wait each — or, when
//! persisting, each block's host and disk copies become the new [`Persisted`] array.
//!
//! Every byte brought to the host here is reserved in the store first, like anything a
//! task makes, so the host limit holds to the end.

use super::store::Room;
use super::workers::{Run, Target};
use super::{Made, Mode};
use crate::backend::Buffer;
use crate::error::{Error, Result, Tier};
use crate::kernel::Chunk;
use crate::spill::SpillDir;
use crate::spill::{Persisted, StoredChunk};
use std::sync::Arc;

/// What the run hands back.
pub(super) fn collect(run: &Run, mode: Mode, dirs: &[Arc<SpillDir>]) -> Result<Made> {
    match mode {
        Mode::Assemble | Mode::Store => assemble(run).map(Made::Arrays),
        Mode::Persist => persist(run, dirs).map(Made::Persisted),
    }
}

/// Reserves `bytes` of host memory, spilling others as needed.
fn reserve_host(run: &Run, bytes: u64, what: &str) -> Result<()> {
    loop {
        let mut st = run.lock();
        let cap = st.store.tier(Tier::Host).cap(1.0);
        match st.store.reserve(Tier::Host, bytes, cap, &[]) {
            Room::Granted => return Ok(()),
            Room::Evict(v) => {
                drop(st);
                let freed = run.evict(v, Some(0));
                if let Some(e) = run.lock().error.take() {
                    return Err(e);
                }
                // No task runs now: what could not move will not move on a retry.
                if !freed {
                    return Err(oom(run, bytes, what));
                }
            }
            Room::Full => {
                drop(st);
                return Err(oom(run, bytes, what));
            }
        }
    }
}

fn oom(run: &Run, bytes: u64, what: &str) -> Error {
    let st = run.lock();
    let h = st.store.tier(Tier::Host);
    Error::OutOfMemory {
        tier: Tier::Host,
        what: what.to_string(),
        needed: h.held + bytes,
        limit: h.limit.unwrap_or(u64::MAX),
        fix: "raise host_memory_limit or persist() the result".into(),
    }
}

fn assemble(run: &Run) -> Result<Vec<crate::HostArray>> {
    let sink = run.sink.as_ref().expect("assembling runs have a sink");
    let placed = sink
        .placed
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let mut pending: Vec<usize> = (0..sink.positions.len())
        .filter(|&t| !sink.positions[t].is_empty() && !placed[t])
        .collect();
    pending.sort_unstable();
    let mut batch: Vec<(usize, Arc<Buffer>)> = vec![];
    let mut batch_bytes = 0u64;
    let flush = |batch: &mut Vec<(usize, Arc<Buffer>)>, bytes: &mut u64| -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let dev = match &*batch[0].1 {
            Buffer::Device(d) => d.device,
            Buffer::Host(_) => unreachable!("only device blocks are batched"),
        };
        let backend = run
            .targets
            .devices
            .iter()
            .find(|b| b.device() == dev)
            .ok_or_else(|| Error::arg("compute", format!("no backend is open for {dev}")))?;
        let bufs: Vec<&Buffer> = batch.iter().map(|(_, b)| b.as_ref()).collect();
        let chunks = backend.download_many(&bufs)?;
        for ((t, _), c) in batch.iter().zip(&chunks) {
            sink.place(*t, c)?;
        }
        drop(chunks);
        run.lock().store.sub(Tier::Host, *bytes);
        batch.clear();
        *bytes = 0;
        Ok(())
    };
    for t in pending {
        let (host, device, file) = {
            let st = run.lock();
            let s = &st.store;
            let host = s.copy(t, Tier::Host).cloned();
            let device = (0..s.ndev).find_map(|d| s.copy(t, Tier::Device(d)).cloned());
            (host, device, s.slots[t].disk.clone())
        };
        match (host, device, file) {
            (Some(h), _, _) => {
                if let Buffer::Host(c) = &*h {
                    sink.place(t, c)?;
                }
            }
            (None, Some(d), _) => {
                let bytes = d.nbytes() as u64;
                // A batch is downloaded by one backend: it holds one device's blocks.
                let other_device = batch.first().is_some_and(|(_, b)| b.device() != d.device());
                if batch_bytes + bytes > 256 << 20 || other_device {
                    flush(&mut batch, &mut batch_bytes)?;
                }
                reserve_host(
                    run,
                    bytes,
                    &format!("downloading output {}", run.chunk_name(t)),
                )?;
                batch_bytes += bytes;
                batch.push((t, d));
            }
            (None, None, Some(f)) => {
                reserve_host(
                    run,
                    f.bytes(),
                    &format!("reading output {}", run.chunk_name(t)),
                )?;
                let c = f.read();
                run.lock().store.sub(Tier::Host, f.bytes());
                sink.place(t, &c?)?;
            }
            (None, None, None) => {
                return Err(Error::Backend {
                    device: "store".into(),
                    op: "outputs".into(),
                    reason: format!("output block {} has no copy", run.chunk_name(t)),
                })
            }
        }
    }
    flush(&mut batch, &mut batch_bytes)?;
    Ok(match &sink.target {
        Target::Arrays(a) => std::mem::take(&mut *a.lock().unwrap_or_else(|p| p.into_inner())),
        Target::Sinks(_) => vec![],
    })
}

fn persist(run: &Run, dirs: &[Arc<SpillDir>]) -> Result<Vec<Arc<Persisted>>> {
    let mut out = vec![];
    for (k, o) in run.g.outputs.iter().enumerate() {
        let mut chunks = vec![];
        let mut shares: Vec<Arc<SpillDir>> = vec![];
        for &t in &o.blocks {
            // Over ranks, another rank's block is that rank's to keep.
            if run.ranked.as_ref().is_some_and(|r| r.remote[t]) {
                chunks.push(StoredChunk::default());
                continue;
            }
            // A block only on a device comes to the host (spilling others as needed).
            let device_only = {
                let st = run.lock();
                let s = &st.store;
                if s.copy(t, Tier::Host).is_none() && s.slots[t].disk.is_none() {
                    (0..s.ndev).find_map(|d| s.copy(t, Tier::Device(d)).cloned())
                } else {
                    None
                }
            };
            if let Some(d) = device_only {
                let bytes = d.nbytes() as u64;
                reserve_host(run, bytes, &format!("persisting {}", run.chunk_name(t)))?;
                let backend = run
                    .targets
                    .devices
                    .iter()
                    .find(|b| Some(b.device()) == Some(d.device()))
                    .ok_or_else(|| {
                        Error::arg("persist", "no backend is open for a device block")
                    })?;
                let c: Result<Chunk> = backend.download(&d);
                let mut st = run.lock();
                match c {
                    Ok(c) => st.store.install(t, Tier::Host, Arc::new(Buffer::Host(c))),
                    Err(e) => {
                        st.store.sub(Tier::Host, bytes);
                        return Err(e);
                    }
                }
            }
            let mut st = run.lock();
            let host = st.store.ti(Tier::Host);
            let slot = &mut st.store.slots[t];
            // A block that is also another persisted array's (an unchanged persisted
            // input) is shared, not moved: that array keeps its own copies.
            let shared = slot
                .home
                .as_ref()
                .filter(|h| !Arc::ptr_eq(h, &dirs[k]))
                .cloned();
            let chunk = if let Some(home) = shared {
                // Its files live in that array's directory: keep it alive with this one.
                if !shares.iter().any(|d| Arc::ptr_eq(d, &home)) {
                    shares.push(home);
                }
                StoredChunk {
                    host: slot.copies[host].clone(),
                    disk: slot.disk.clone(),
                }
            } else {
                StoredChunk {
                    host: slot.copies[host].take(),
                    disk: slot.disk.take(),
                }
            };
            chunks.push(chunk);
        }
        let p = Persisted::new(chunks, dirs[k].clone(), shares);
        out.push(Arc::new(match &run.ranked {
            Some(r) => p.held_by(o.blocks.iter().map(|&t| r.owner[t]).collect(), r.size),
            None => p,
        }));
    }
    Ok(out)
}
