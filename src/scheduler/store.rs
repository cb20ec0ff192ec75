//! The store: owns where every chunk of one compute lives, and the byte count and limit of
//! every tier (device 0..N, host, disk). Workers ask it for room and for copies; tasks and
//! backends never see spilling (the idea of dask's `SpillBuffer`).
//!
//! Why one place: a limit only holds if every byte that lands in a tier — a task's
//! output, an upload, a download, a chunk read back from disk — is reserved here first,
//! in the same step that checks it. Each copy of a chunk counts once in its tier; a
//! reservation counts from the moment it is granted until its copy exists or it is
//! returned.
//!
//! Why furthest next use: the scheduler's order is known before anything runs, so the
//! victim is the chunk whose next consumer comes last in it (Belady's choice), not the
//! least recently used one. A chunk a running task reads (pinned) or one being moved
//! (busy) is never a victim, so spilling always frees what it claims (dask#3756).
//!
//! Why drop instead of spill: a chunk whose task has no inputs (a read from a file, a
//! block of a source array, a generated block) is made again for one read or less,
//! while spilling it costs a write now and a read later. Such a chunk is dropped from
//! the host when it is the victim, and its task runs again for the next consumer (or
//! ahead of it, by the I/O thread). A two-pass workload over a source larger than
//! memory (`x - x.mean()`) then reads the source twice instead of spilling all of it.
//!
//! The store does no I/O and takes no locks: it lives inside the scheduler's mutex, and
//! the workers do the copying it asks for with the lock released.

use crate::backend::Buffer;
use crate::error::Tier;
use crate::spill::{SpillDir, SpillFile};
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

/// Chunk ids hash by one multiply: the resident sets change on every task, and SipHash
/// showed in the profile of tiny tasks.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type IdSet = HashSet<usize, BuildHasherDefault<IdHasher>>;
use std::sync::Arc;

/// Spill above this fraction of a tier's limit.
pub(super) const SPILL_AT: f64 = 0.6;
/// Start no new task above this fraction of a tier's limit.
pub(super) const START_BELOW: f64 = 0.8;

/// One chunk's copies and its life in this compute.
#[derive(Default)]
pub(super) struct Slot {
    /// A copy per device (`0..ndev`) and on the host (`ndev`).
    pub copies: Vec<Option<Arc<Buffer>>>,
    /// The copy on disk.
    pub disk: Option<Arc<SpillFile>>,
    /// Running (or starting) tasks that read it.
    pub pins: u32,
    /// A worker is copying it somewhere; nobody else moves it meanwhile.
    pub busy: bool,
    /// Consumers still to read it (output reads included).
    pub left: usize,
    /// Kept after its consumers ran: an output of `persist` or a persisted input.
    pub keep: bool,
    /// Where it spills when not to the compute's scratch directory.
    pub home: Option<Arc<SpillDir>>,
    /// It was moved off a device to make room (an upload of it is a read-back).
    pub evicted_from_device: bool,
    /// Its task has no inputs and ran on the CPU, so dropping the chunk and running the
    /// task again costs less than a spill and read back: the bytes that rerun holds
    /// (output and scratch). `None` for every other chunk, and for kept ones.
    pub remake: Option<u64>,
}

/// Bytes and limit of one tier, with what moved out of and back into it.
#[derive(Debug, Clone, Default)]
pub(super) struct TierState {
    pub held: u64,
    pub peak: u64,
    pub limit: Option<u64>,
    pub spilled_bytes: u64,
    pub spilled_chunks: usize,
    pub read_back_bytes: u64,
    pub read_back_chunks: usize,
    pub dropped_bytes: u64,
    pub dropped_chunks: usize,
    pub remade_chunks: usize,
}

impl TierState {
    /// `fraction` of the limit (everything when unlimited).
    pub fn cap(&self, fraction: f64) -> u64 {
        self.limit
            .map_or(u64::MAX, |l| (l as f64 * fraction) as u64)
    }
}

/// A copy just made, for [`Store::settle`].
pub(super) enum NewCopy {
    /// In host or device memory.
    Memory(Arc<Buffer>),
    /// A spill file.
    Disk(Arc<SpillFile>),
}

/// What a request for room got.
#[derive(Debug, PartialEq)]
pub(super) enum Room {
    /// Reserved.
    Granted,
    /// These chunks must first be moved down one tier (they are marked busy).
    Evict(Vec<Victim>),
    /// Nothing that can be moved now would make room: wait for running tasks.
    Full,
}

/// A chunk to move from `from` to the tier below.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Victim {
    pub chunk: usize,
    pub from: Tier,
}

pub(super) struct Store {
    pub slots: Vec<Slot>,
    pub tiers: Vec<TierState>,
    pub ndev: usize,
    /// Consumers of each chunk, and each task's rank in the scheduler's order.
    consumers: Vec<Vec<usize>>,
    rank: Vec<usize>,
    finished: Vec<bool>,
    /// Chunks with a copy in each tier (the candidates for eviction there).
    resident: Vec<IdSet>,
    /// Chunks dropped with no copy left, to be made again by their tasks.
    dropped: IdSet,
}

impl Store {
    /// A store for `n` chunks over `ndev` devices; limits per tier as given.
    pub fn new(
        consumers: Vec<Vec<usize>>,
        rank: Vec<usize>,
        device_limits: Vec<Option<u64>>,
        host_limit: u64,
        disk_limit: Option<u64>,
    ) -> Store {
        let n = consumers.len();
        let ndev = device_limits.len();
        let mut tiers: Vec<TierState> = device_limits
            .into_iter()
            .map(|limit| TierState {
                limit,
                ..Default::default()
            })
            .collect();
        tiers.push(TierState {
            limit: Some(host_limit),
            ..Default::default()
        });
        tiers.push(TierState {
            limit: disk_limit,
            ..Default::default()
        });
        let slots = (0..n)
            .map(|_| Slot {
                copies: vec![None; ndev + 1],
                ..Default::default()
            })
            .collect();
        Store {
            slots,
            tiers,
            ndev,
            consumers,
            rank,
            finished: vec![false; n],
            resident: vec![IdSet::default(); ndev + 2],
            dropped: IdSet::default(),
        }
    }

    /// The index of `tier` in `tiers`.
    pub fn ti(&self, tier: Tier) -> usize {
        match tier {
            Tier::Device(i) => i,
            Tier::Host => self.ndev,
            Tier::Disk => self.ndev + 1,
        }
    }

    /// The tier a copy index (`0..=ndev`) stands for.
    pub fn tier_of(&self, copy: usize) -> Tier {
        if copy == self.ndev {
            Tier::Host
        } else {
            Tier::Device(copy)
        }
    }

    pub fn tier(&self, tier: Tier) -> &TierState {
        &self.tiers[self.ti(tier)]
    }

    pub fn add(&mut self, tier: Tier, bytes: u64) {
        let i = self.ti(tier);
        let t = &mut self.tiers[i];
        t.held += bytes;
        t.peak = t.peak.max(t.held);
    }

    pub fn sub(&mut self, tier: Tier, bytes: u64) {
        let t = self.ti(tier);
        self.tiers[t].held = self.tiers[t].held.saturating_sub(bytes);
    }

    /// The copy of `chunk` in `tier` (host or a device).
    pub fn copy(&self, chunk: usize, tier: Tier) -> Option<&Arc<Buffer>> {
        let i = self.ti(tier);
        match tier {
            Tier::Disk => None,
            _ => self.slots[chunk].copies[i].as_ref(),
        }
    }

    /// Records a copy whose bytes were already reserved in its tier.
    /// A copy of the chunk in memory, the host's first (moving it anywhere costs least
    /// from there), else any device's.
    pub fn memory_copy(&self, chunk: usize) -> Option<Arc<Buffer>> {
        std::iter::once(Tier::Host)
            .chain((0..self.ndev).map(Tier::Device))
            .find_map(|tr| self.copy(chunk, tr).cloned())
    }

    pub fn install(&mut self, chunk: usize, tier: Tier, buf: Arc<Buffer>) {
        let i = self.ti(tier);
        self.slots[chunk].copies[i] = Some(buf);
        self.resident[i].insert(chunk);
        self.dropped.remove(&chunk);
    }

    /// Records a disk copy whose bytes were already reserved.
    pub fn install_disk(&mut self, chunk: usize, file: Arc<SpillFile>) {
        let i = self.ti(Tier::Disk);
        self.slots[chunk].disk = Some(file);
        self.resident[i].insert(chunk);
    }

    /// Drops the copy in `tier` and its bytes.
    pub fn drop_copy(&mut self, chunk: usize, tier: Tier) {
        let i = self.ti(tier);
        let bytes = match tier {
            Tier::Disk => self.slots[chunk].disk.take().map(|f| f.bytes()),
            _ => self.slots[chunk].copies[i]
                .take()
                .map(|b| b.nbytes() as u64),
        };
        if let Some(b) = bytes {
            self.sub(tier, b);
        }
        self.resident[i].remove(&chunk);
    }

    /// Every copy of a chunk dropped (its last consumer ran).
    pub fn release(&mut self, chunk: usize) {
        for c in 0..=self.ndev {
            let t = self.tier_of(c);
            self.drop_copy(chunk, t);
        }
        self.drop_copy(chunk, Tier::Disk);
        self.dropped.remove(&chunk);
    }

    /// Whether the chunk's only copy would be dropped rather than spilled from `tier`.
    fn droppable(&self, chunk: usize, tier: Tier) -> bool {
        let s = &self.slots[chunk];
        tier == Tier::Host && s.remake.is_some() && !s.keep && s.disk.is_none()
    }

    /// Drops the host copy of a chunk its task will make again (when no device holds
    /// a copy either).
    fn drop_for_remake(&mut self, chunk: usize) {
        let bytes = self.bytes_in(chunk, Tier::Host);
        self.drop_copy(chunk, Tier::Host);
        if self.slots[chunk].copies.iter().all(Option::is_none) {
            self.dropped.insert(chunk);
        }
        let t = self.ti(Tier::Host);
        self.tiers[t].dropped_bytes += bytes;
        self.tiers[t].dropped_chunks += 1;
    }

    /// Whether the chunk was dropped and has no copy yet (its task runs again).
    pub fn is_dropped(&self, chunk: usize) -> bool {
        self.dropped.contains(&chunk)
    }

    /// Counts a chunk made again by its task into the host.
    pub fn note_remade(&mut self) {
        let t = self.ti(Tier::Host);
        self.tiers[t].remade_chunks += 1;
    }

    /// Counts a chunk of `bytes` moved from `tier` to the one below.
    pub fn note_spill(&mut self, tier: Tier, bytes: u64) {
        let i = self.ti(tier);
        let t = &mut self.tiers[i];
        t.spilled_bytes += bytes;
        t.spilled_chunks += 1;
    }

    /// Counts a chunk of `bytes` brought back into `tier` from the one below.
    pub fn note_read_back(&mut self, tier: Tier, bytes: u64) {
        let i = self.ti(tier);
        let t = &mut self.tiers[i];
        t.read_back_bytes += bytes;
        t.read_back_chunks += 1;
    }

    /// True once the chunk's last consumer ran and it is not kept (a copy made for it
    /// meanwhile is not wanted).
    pub fn is_released(&self, chunk: usize) -> bool {
        let s = &self.slots[chunk];
        s.left == 0 && !s.keep
    }

    /// The tasks that read chunk `c` (once per input slot).
    pub fn consumers(&self, c: usize) -> &[usize] {
        &self.consumers[c]
    }

    /// Bytes of the chunk's copies, wherever one is (all copies hold the same bytes).
    pub fn chunk_bytes(&self, c: usize) -> Option<u64> {
        let slot = &self.slots[c];
        slot.copies
            .iter()
            .flatten()
            .map(|b| b.nbytes() as u64)
            .next()
            .or_else(|| slot.disk.as_ref().map(|f| f.bytes()))
    }

    /// Settles a reservation of `reserved` bytes in `tier` with the copy made for it:
    /// the copy's own bytes replace the reservation. The reservation is just returned
    /// when the copy could not be made (`None`) or is no longer wanted (the chunk's last
    /// consumer ran meanwhile). Returns whether the copy was kept.
    pub fn settle(
        &mut self,
        chunk: usize,
        tier: Tier,
        reserved: u64,
        copy: Option<NewCopy>,
    ) -> bool {
        self.sub(tier, reserved);
        let Some(copy) = copy.filter(|_| !self.is_released(chunk)) else {
            return false;
        };
        match copy {
            NewCopy::Memory(b) => {
                self.add(tier, b.nbytes() as u64);
                self.install(chunk, tier, b);
            }
            NewCopy::Disk(f) => {
                self.add(tier, f.bytes());
                self.install_disk(chunk, f);
            }
        }
        true
    }

    /// Marks a task finished: it no longer counts as a future use of its inputs.
    pub fn finish(&mut self, task: usize) {
        self.finished[task] = true;
    }

    /// The rank of the chunk's next consumer (`usize::MAX` when none is left).
    pub fn next_use(&self, chunk: usize) -> usize {
        self.consumers[chunk]
            .iter()
            .filter(|&&c| !self.finished[c])
            .map(|&c| self.rank[c])
            .min()
            .unwrap_or(usize::MAX)
    }

    /// The tier a chunk's copy moves to when evicted from `tier` (`None` for disk).
    fn below(&self, tier: Tier) -> Option<Tier> {
        match tier {
            Tier::Device(_) => Some(Tier::Host),
            Tier::Host => Some(Tier::Disk),
            Tier::Disk => None,
        }
    }

    fn has_below(&self, chunk: usize, tier: Tier) -> bool {
        match self.below(tier) {
            Some(Tier::Disk) => self.slots[chunk].disk.is_some(),
            Some(t) => self.copy(chunk, t).is_some(),
            None => false,
        }
    }

    fn bytes_in(&self, chunk: usize, tier: Tier) -> u64 {
        match tier {
            Tier::Disk => self.slots[chunk].disk.as_ref().map_or(0, |f| f.bytes()),
            _ => self.copy(chunk, tier).map_or(0, |b| b.nbytes() as u64),
        }
    }

    /// Reserves `bytes` in `tier` if the tier stays at or under `cap`; otherwise frees
    /// what it can at once (copies that also exist in the tier below are simply
    /// dropped) and names the chunks to move down, furthest next use first. `keep_out`
    /// are chunks not to evict (the inputs of the task asking).
    pub fn reserve(&mut self, tier: Tier, bytes: u64, cap: u64, keep_out: &[usize]) -> Room {
        let ti = self.ti(tier);
        if self.tiers[ti].held + bytes <= cap {
            self.add(tier, bytes);
            return Room::Granted;
        }
        if tier == Tier::Disk {
            return Room::Full;
        }
        let mut candidates: Vec<(usize, usize)> = self.resident[ti]
            .iter()
            .copied()
            .filter(|&c| {
                let s = &self.slots[c];
                s.pins == 0 && !s.busy && !keep_out.contains(&c)
            })
            .map(|c| (self.next_use(c), c))
            .collect();
        candidates.sort_unstable_by(|a, b| b.cmp(a));
        let mut victims = vec![];
        let mut projected = self.tiers[ti].held;
        for (_, c) in candidates {
            if projected + bytes <= cap {
                break;
            }
            let b = self.bytes_in(c, tier);
            if self.has_below(c, tier) {
                self.drop_copy(c, tier);
            } else if self.droppable(c, tier) {
                self.drop_for_remake(c);
            } else {
                self.slots[c].busy = true;
                victims.push(Victim {
                    chunk: c,
                    from: tier,
                });
            }
            projected = projected.saturating_sub(b);
        }
        if !victims.is_empty() {
            Room::Evict(victims)
        } else if self.tiers[ti].held + bytes <= cap {
            self.add(tier, bytes);
            Room::Granted
        } else {
            Room::Full
        }
    }

    /// Chunks to move down so that every limited tier is back under [`SPILL_AT`] of its
    /// limit (marked busy), furthest next use first.
    pub fn pressure(&mut self) -> Vec<Victim> {
        let mut out = vec![];
        for c in 0..=self.ndev {
            let tier = self.tier_of(c);
            let ts = &self.tiers[c];
            let cap = ts.cap(SPILL_AT);
            if ts.held <= cap {
                continue;
            }
            // Asking for zero bytes at the spill threshold picks exactly the victims.
            if let Room::Evict(v) = self.reserve(tier, 0, cap, &[]) {
                out.extend(v);
            }
        }
        out
    }

    /// Whether the I/O thread has work: a limited tier above [`SPILL_AT`], or spilled or
    /// dropped chunks while the host is under it.
    pub fn wants_io(&self) -> bool {
        let host = self.ti(Tier::Host);
        let over = self.tiers[..=self.ndev]
            .iter()
            .any(|t| t.held > t.cap(SPILL_AT));
        over || ((!self.resident[host + 1].is_empty() || !self.dropped.is_empty())
            && self.tiers[host].held < self.tiers[host].cap(SPILL_AT))
    }

    /// The chunk needed soonest of those on disk or dropped for remaking, if bringing it
    /// back keeps the host under [`SPILL_AT`] (then its bytes are reserved and it is
    /// marked busy): the read-ahead of inputs of upcoming tasks. Returns the chunk and
    /// the bytes reserved.
    pub fn prefetch(&mut self) -> Option<(usize, u64)> {
        let host = self.ti(Tier::Host);
        let disk = self.ti(Tier::Disk);
        let cap = self.tiers[host].cap(SPILL_AT);
        let best = self.resident[disk]
            .iter()
            .chain(self.dropped.iter())
            .copied()
            .filter(|&c| {
                let s = &self.slots[c];
                !s.busy && s.copies[host].is_none() && s.left > 0
            })
            .map(|c| (self.next_use(c), c))
            .filter(|&(u, _)| u != usize::MAX)
            .min()?;
        // Brought back, it must not be the next victim (its next use the furthest of the
        // host's): the I/O thread would evict it again at once, and for a small chunk
        // forever (seen: one 8-byte source block remade 2183 times in one compute).
        let furthest = self.resident[host]
            .iter()
            .filter(|&&r| {
                let s = &self.slots[r];
                s.pins == 0 && !s.busy
            })
            .map(|&r| self.next_use(r))
            .max();
        if furthest.is_some_and(|f| best.0 >= f) {
            return None;
        }
        let c = best.1;
        let bytes = match self.slots[c].disk.as_ref() {
            Some(f) => f.bytes(),
            None => self.slots[c].remake?,
        };
        if self.tiers[host].held + bytes > cap {
            return None;
        }
        self.add(Tier::Host, bytes);
        self.slots[c].busy = true;
        Some((c, bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::Chunk;

    fn host(bytes: usize) -> Arc<Buffer> {
        Arc::new(Buffer::Host(Chunk::dense(crate::HostArray::zeros(
            crate::DType::U32,
            &[bytes / 4],
        ))))
    }

    #[test]
    fn the_victim_is_the_chunk_used_last_and_never_a_pinned_one() {
        // Chunks 0, 1, 2 are read by tasks 3, 4, 5, which run in the order 5, 3, 4.
        let consumers = vec![vec![3], vec![4], vec![5], vec![], vec![], vec![]];
        let rank = vec![0, 1, 2, 4, 5, 3];
        let mut s = Store::new(consumers, rank, vec![], 300, None);
        for c in 0..3 {
            assert_eq!(s.reserve(Tier::Host, 100, 300, &[]), Room::Granted);
            s.install(c, Tier::Host, host(100));
            s.slots[c].left = 1;
        }
        s.slots[1].pins = 1;
        // Chunk 1 is used last but pinned; of the others, chunk 0 (task 3) is used after
        // chunk 2 (task 5).
        let room = s.reserve(Tier::Host, 100, 300, &[]);
        assert_eq!(
            room,
            Room::Evict(vec![Victim {
                chunk: 0,
                from: Tier::Host
            }])
        );
        assert!(s.slots[0].busy);
        // Everything else pinned or busy: nothing can be freed now.
        s.slots[2].pins = 1;
        assert_eq!(s.reserve(Tier::Host, 100, 300, &[]), Room::Full);
        assert_eq!(s.tier(Tier::Host).held, 300);
    }

    #[test]
    fn a_source_chunk_is_dropped_not_spilled_and_offered_back_for_remaking() {
        // Chunks 0 (a source, remade with 50 bytes of scratch) and 1 (kept) are read by
        // tasks 2 and 3, in that order.
        let consumers = vec![vec![2], vec![3], vec![], vec![]];
        let rank = vec![0, 1, 2, 3];
        let mut s = Store::new(consumers, rank, vec![], 300, None);
        for c in 0..2 {
            assert_eq!(s.reserve(Tier::Host, 100, 300, &[]), Room::Granted);
            s.install(c, Tier::Host, host(100));
            s.slots[c].left = 1;
        }
        s.slots[0].remake = Some(150);
        s.slots[1].remake = Some(150);
        s.slots[1].keep = true;
        // Both must go to make room for 250: the source is dropped at once, the kept
        // chunk is moved to disk.
        let room = s.reserve(Tier::Host, 250, 300, &[]);
        let spill = Victim {
            chunk: 1,
            from: Tier::Host,
        };
        assert_eq!(room, Room::Evict(vec![spill]));
        assert!(s.is_dropped(0) && !s.is_dropped(1));
        assert_eq!(s.tier(Tier::Host).dropped_bytes, 100);
        assert_eq!(s.tier(Tier::Host).held, 100);
        // With room again, the dropped chunk comes back first (its use is sooner),
        // reserving its task's output and scratch.
        s.slots[1].busy = false;
        s.drop_copy(1, Tier::Host);
        assert_eq!(s.prefetch(), Some((0, 150)));
        assert!(s.slots[0].busy);
        s.install(0, Tier::Host, host(100));
        assert!(!s.is_dropped(0));
    }
}
