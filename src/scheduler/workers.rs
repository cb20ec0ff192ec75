//! The workers and the I/O thread of one compute.
//!
//! A worker takes the ready task that comes first in the scheduler's order, decides
//! where it runs, and asks the store for all the room it needs there at once (its
//! output, and a copy of every input not yet on that tier). Room comes from spilling
//! other chunks down a tier, furthest next use first; a task whose room cannot be made
//! while others run goes back to the queue and the worker waits, so no worker ever holds
//! part of a reservation while it waits (the deadlock of dask#6110 cannot form). Then it
//! brings its inputs over (one mover per chunk; others wait for that copy), runs, and
//! hands the result to the store, which drops every chunk whose last consumer ran.
//!
//! The I/O thread keeps each limited tier under 0.6 of its limit by spilling ahead of
//! need, and reads back, while the host is under that mark, the spilled chunks that the
//! next tasks in the order will read — so workers mostly find their inputs in memory.

use super::options::ComputeOptions;
use super::placement::{self, Placed, Targets};
use super::store::{NewCopy, Room, Store, Victim, START_BELOW};
use super::trace::{Kind, Trace, IO_ROW};
use crate::backend::{Backend, Buffer, Device};
use crate::dtype::HostArray;
use crate::error::{Error, Result, Tier};
use crate::graph::TaskGraph;
use crate::kernel::Chunk;
use crate::spill::SpillDir;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Everything the workers share, behind one lock.
pub(super) struct State {
    pub store: Store,
    /// Ready tasks, lowest priority first, as [`ready_key`]s.
    pub ready: BinaryHeap<Reverse<u64>>,
    pub waiting: Vec<usize>,
    /// Tasks admitted and not yet finished.
    pub running: usize,
    /// Threads waiting on `Run::cv` now: a notify costs a system call even with nobody
    /// waiting, so the hot path (a task finished) notifies only when someone waits.
    pub sleepers: usize,
    /// Copies being made outside the lock (moves, spills, read-backs).
    pub io: usize,
    pub done: usize,
    /// Tasks running now on each target (device `i` at `i`, the CPU last).
    pub busy: Vec<usize>,
    pub error: Option<Error>,
    /// Finished tasks whose chunks other ranks wait for (pinned until sent).
    pub outbox: Vec<usize>,
    /// What the run did, for its `Stats`.
    pub counters: Counters,
}

/// What a run counts as it goes (read once, by `conclude`).
#[derive(Default)]
pub(super) struct Counters {
    /// Tasks run on each device.
    pub on_device: Vec<usize>,
    /// Bytes copied onto each device, and of those, bytes that came from another device.
    pub moved_in: Vec<(u64, u64)>,
    /// Moves between host and devices.
    pub transfers: usize,
    /// Time spent writing and reading spill files.
    pub spill_time: Duration,
    /// Chunks and bytes sent to and received from other ranks.
    pub sent: (usize, u64),
    pub received: (usize, u64),
}

/// What output blocks are placed into.
pub(super) enum Target {
    /// Whole host arrays (a compute).
    Arrays(Mutex<Vec<HostArray>>),
    /// Writers, one per output (a store).
    Sinks(Vec<Arc<dyn crate::storage::ChunkSink>>),
}

/// Where finished output blocks go in a compute that assembles or stores its results.
pub(super) struct Sink {
    pub target: Target,
    /// Per task: the output positions (array, block start) it fills.
    pub positions: Vec<Vec<(usize, Vec<usize>)>>,
    /// Per task: placed already.
    pub placed: Mutex<Vec<bool>>,
}

/// One compute in progress.
pub(super) struct Run<'a> {
    pub g: &'a TaskGraph,
    pub opts: &'a ComputeOptions,
    /// The devices, the CPU and their limits.
    pub targets: Targets,
    /// Worker threads.
    pub workers: usize,
    pub state: Mutex<State>,
    pub cv: Condvar,
    /// Wakes the I/O thread, only when a tier passed its spill mark or a spilled chunk
    /// could be read ahead (waking it on every finished task cost tiny tasks dearly).
    pub io_cv: Condvar,
    pub scratch: Arc<SpillDir>,
    pub trace: Trace,
    pub declined: Mutex<HashSet<String>>,
    pub bar: Option<indicatif::ProgressBar>,
    /// Counters for a display drawn outside (Python's ProgressBar).
    pub watch: Option<super::Progress>,
    /// Bytes each task holds while it runs (output and distinct inputs).
    pub footprint: Vec<u64>,
    pub sink: Option<Sink>,
    /// Set when the I/O thread runs (else workers relieve pressure themselves).
    pub io_thread: bool,
    /// This rank's part in a run over several ranks.
    pub ranked: Option<super::ranks::Ranked>,
    pub transport: Option<&'a dyn super::ranks::Transport>,
}

/// What admission got for a task.
enum Admit {
    /// Room reserved: `(chunk or usize::MAX for the output, tier, bytes)`.
    Granted(Vec<(usize, Tier, u64)>),
    /// Not now: others must finish first.
    Later,
    /// Stop (an error was recorded).
    Stop,
}

const OUTPUT: usize = usize::MAX;
/// The reservation of a dropped input's task's scratch while it runs again.
const REMAKE_SCRATCH: usize = usize::MAX - 1;

/// Task `t` with priority `prio` as one ordered word (priority high, task low): a heap of
/// words is half the size of one of pairs and compares in one instruction (the
/// 100,000-chunk tiny-task probe ran 4-6% faster). Both fit in 32 bits: the graph
/// builder refuses graphs of more than 2³² tasks.
pub(super) fn ready_key(prio: usize, t: usize) -> Reverse<u64> {
    debug_assert!(prio <= u32::MAX as usize && t <= u32::MAX as usize);
    Reverse(((prio as u64) << 32) | t as u64)
}

/// A copy `bring` made: the copy, the host copy made on the way (read from disk, or
/// passing from another device), and the moves between host and devices it took.
struct Copied {
    buf: Arc<Buffer>,
    host_copy: Option<(Arc<Buffer>, Via)>,
    moves: usize,
}

/// How a host copy made on the way came about.
enum Via {
    Disk,
    Peer,
    /// Made again by its task (a dropped chunk).
    Remake,
}

impl<'a> Run<'a> {
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wait<'g>(&self, mut g: MutexGuard<'g, State>) -> MutexGuard<'g, State> {
        g.sleepers += 1;
        // A timeout, so that a missed wake-up costs milliseconds, never a hang.
        let mut g = self
            .cv
            .wait_timeout(g, Duration::from_millis(50))
            .unwrap_or_else(|p| p.into_inner())
            .0;
        g.sleepers -= 1;
        g
    }

    /// Wakes the threads waiting on `cv`, if any (`st` is the locked state, so a thread
    /// about to wait has either counted itself already or will see the change).
    fn wake(&self, st: &State) {
        if st.sleepers > 0 {
            self.cv.notify_all();
        }
    }

    fn io_wait<'g>(&self, g: MutexGuard<'g, State>) -> MutexGuard<'g, State> {
        self.io_cv
            .wait_timeout(g, Duration::from_millis(50))
            .unwrap_or_else(|p| p.into_inner())
            .0
    }

    pub(super) fn fail(&self, st: &mut State, e: Error) {
        st.error.get_or_insert(e);
        self.cv.notify_all();
        self.io_cv.notify_all();
    }

    /// The chunk's name in messages.
    pub fn chunk_name(&self, c: usize) -> String {
        let t = &self.g.tasks[c];
        format!("{} {:?}", t.name, t.block)
    }

    /// Where task `t`'s inputs are and how busy each target is, for placement.
    fn residency(&self, st: &State, t: usize) -> placement::Residency {
        let s = &st.store;
        let tier = |target: Option<usize>| target.map_or(Tier::Host, Tier::Device);
        let inputs = &self.g.tasks[t].inputs;
        let mut held = vec![0; self.targets.owners.len()];
        let mut all_on = vec![true; self.targets.owners.len()];
        for (k, &target) in self.targets.owners.iter().enumerate() {
            for &j in inputs {
                match s.copy(j, tier(target)) {
                    // Data read from the caller's memory or a file is on the host
                    // but nobody's: where it is consumed is the block owner's choice.
                    Some(_) if target.is_none() && self.g.tasks[j].op.is_source() => {}
                    Some(b) => held[k] += b.nbytes() as u64,
                    None => all_on[k] = false,
                }
            }
        }
        placement::Residency {
            busy: self
                .targets
                .owners
                .iter()
                .map(|&x| st.busy[x.unwrap_or(self.targets.devices.len())])
                .collect(),
            targets: self.targets.owners.clone(),
            held,
            all_on,
            share: self.workers.div_ceil(self.targets.owners.len()).max(1),
        }
    }

    /// The drive: persisted inputs held beyond this run's limits spill first (the peaks
    /// count from there), then the workers, the I/O thread and, over ranks, the exchange
    /// run until every task is done or one failed.
    pub fn drive(&self) {
        let first = self.lock().store.pressure();
        if !first.is_empty() {
            self.evict(first, Some(0));
            let mut st = self.lock();
            for t in st.store.tiers.iter_mut() {
                t.peak = t.held;
            }
        }
        if self.io_thread {
            std::thread::scope(|s| {
                s.spawn(|| self.io_loop());
                if self.ranked.is_some() {
                    s.spawn(|| self.exchange_loop());
                }
                pool(self.workers).scope(|ps| {
                    for w in 0..self.workers {
                        ps.spawn(move |_| self.worker(w));
                    }
                });
                self.cv.notify_all();
                self.io_cv.notify_all();
            });
        } else if self.ranked.is_some() {
            std::thread::scope(|s| {
                s.spawn(|| self.exchange_loop());
                self.worker(0);
            });
        } else {
            self.worker(0);
        }
    }

    fn finished(&self, st: &State) -> bool {
        st.error.is_some() || st.done == self.g.tasks.len()
    }

    /// One worker's loop; `row` is its row in the trace. A panic outside a task's kernel
    /// (kernels are caught on their own) ends the compute with an error instead of
    /// leaving the other workers and the I/O thread waiting for this one forever.
    pub fn worker(&self, row: usize) {
        self.guarded("a worker", "worker", || self.work(row));
    }

    /// Runs `f`; a panic in it becomes the compute's error (`who` panicked) and wakes
    /// every thread, which then see the error and stop.
    pub(super) fn guarded(&self, who: &str, op: &str, f: impl FnOnce()) {
        if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
            self.lock().error.get_or_insert(Error::Backend {
                device: "scheduler".into(),
                op: op.into(),
                reason: format!(
                    "{who} panicked: {}; this is a bug in Tessera, please report it",
                    panic_text(&p)
                ),
            });
            self.cv.notify_all();
            self.io_cv.notify_all();
        }
    }

    fn work(&self, row: usize) {
        let mut st = self.lock();
        loop {
            if st.error.is_none() && self.opts.cancel.as_ref().is_some_and(|c| c.is_cancelled()) {
                let reason = "its CancelToken was cancelled".to_string();
                self.fail(&mut st, Error::Cancelled { reason });
            }
            if self.finished(&st) {
                self.cv.notify_all();
                self.io_cv.notify_all();
                return;
            }
            let Some(Reverse(key)) = st.ready.pop() else {
                st = self.wait(st);
                continue;
            };
            let t = (key & u64::from(u32::MAX)) as usize;
            let task = &self.g.tasks[t];
            let has_devices = !self.targets.devices.is_empty();
            // Only a device needs a choice (the CPU takes every task).
            let order = if has_devices {
                placement::preference(task, &self.residency(&st, t))
            } else {
                vec![]
            };
            let fits = |i: usize| self.targets.limits[i].is_none_or(|l| self.footprint[t] <= l);
            let place = || {
                placement::place(
                    &self.targets.devices,
                    &self.targets.cpu,
                    task,
                    &order,
                    &fits,
                    &self.declined,
                    self.opts.cpu_fallback,
                )
            };
            // A device's planner may generate and compile a kernel: not under the lock.
            // The CPU's answers at once, so without devices the lock is kept.
            let placed = if !has_devices {
                place()
            } else {
                drop(st);
                let p = place();
                st = self.lock();
                p
            };
            let placed = match placed {
                Ok(p) => p,
                Err(e) => {
                    self.fail(&mut st, e);
                    continue;
                }
            };
            let tier = placed.device.map_or(Tier::Host, Tier::Device);
            let (g, admit) = self.admit(st, t, tier);
            st = g;
            let reserved = match admit {
                Admit::Granted(r) => r,
                Admit::Later => {
                    st.ready.push(Reverse(key));
                    st = self.wait(st);
                    continue;
                }
                Admit::Stop => continue,
            };
            st.running += 1;
            let slot = placed.device.unwrap_or(self.targets.devices.len());
            st.busy[slot] += 1;
            // Inputs already where the task runs are taken now, under the lock already
            // held: only the missing ones cost `bring` another round trip.
            let mut here: Vec<(usize, Arc<Buffer>)> = Vec::with_capacity(task.inputs.len());
            for &j in &task.inputs {
                st.store.slots[j].pins += 1;
                if let Some(b) = st.store.copy(j, tier) {
                    if !here.iter().any(|(k, _)| *k == j) {
                        here.push((j, b.clone()));
                    }
                }
            }
            drop(st);
            let on = placed.device;
            let out = self.run_task(t, placed, tier, reserved, here, row);
            st = self.lock();
            st.busy[slot] -= 1;
            st = self.finish(st, t, tier, out, on);
        }
    }

    /// Reserves, in one step, everything task `t` needs on `tier`: its output, and a copy
    /// there of each input that has none (plus a host copy for an input only on disk,
    /// read through the host on its way to a device).
    fn admit<'g>(
        &'g self,
        mut st: MutexGuard<'g, State>,
        t: usize,
        tier: Tier,
    ) -> (MutexGuard<'g, State>, Admit) {
        let task = &self.g.tasks[t];
        let mut inputs = task.inputs.clone();
        inputs.sort_unstable();
        inputs.dedup();
        loop {
            if st.error.is_some() {
                return (st, Admit::Stop);
            }
            let s = &st.store;
            let mut need: Vec<(usize, Tier, u64)> =
                vec![(OUTPUT, tier, task.nbytes + task.scratch)];
            for &j in &inputs {
                if s.copy(j, tier).is_some() {
                    continue;
                }
                let bytes = s.chunk_bytes(j).unwrap_or(self.g.tasks[j].nbytes);
                need.push((j, tier, bytes));
                // A dropped input is made again on the host, with its task's scratch.
                if s.is_dropped(j) && self.g.tasks[j].scratch > 0 {
                    need.push((REMAKE_SCRATCH, Tier::Host, self.g.tasks[j].scratch));
                }
                // Read from disk, or from another device, through the host; that
                // host copy stays in the store.
                if tier != Tier::Host && s.copy(j, Tier::Host).is_none() {
                    need.push((j, Tier::Host, bytes));
                }
            }
            let alone = st.running == 0 && st.io == 0;
            let mut totals: Vec<(Tier, u64)> = vec![];
            for &(_, tr, b) in &need {
                match totals.iter_mut().find(|(x, _)| *x == tr) {
                    Some(e) => e.1 += b,
                    None => totals.push((tr, b)),
                }
            }
            let mut granted = vec![];
            let mut victims = vec![];
            let mut full = None;
            for &(tr, b) in &totals {
                let ts = st.store.tier(tr);
                // Nothing else running: the task may use the whole limit, so a task that
                // fits at all always runs.
                let cap = ts.cap(if alone { 1.0 } else { START_BELOW });
                match st.store.reserve(tr, b, cap, &inputs) {
                    Room::Granted => granted.push((tr, b)),
                    Room::Evict(v) => victims.extend(v),
                    Room::Full => full = Some((tr, b)),
                }
            }
            if victims.is_empty() && full.is_none() {
                return (st, Admit::Granted(need));
            }
            for (tr, b) in granted {
                st.store.sub(tr, b);
            }
            if !victims.is_empty() {
                st.io += 1;
                drop(st);
                let moved = self.evict(victims, None);
                st = self.lock();
                st.io -= 1;
                self.cv.notify_all();
                if moved {
                    continue;
                }
            }
            if let Some((tr, b)) = full.filter(|_| alone) {
                let ts = st.store.tier(tr);
                let e = Error::OutOfMemory {
                    tier: tr,
                    what: format!("task {} with its inputs", self.chunk_name(t)),
                    needed: b + ts.held,
                    limit: ts.limit.unwrap_or(u64::MAX),
                    fix: "everything else is spilled already; use smaller chunks (rechunk) or raise the limit".into(),
                };
                self.fail(&mut st, e);
                return (st, Admit::Stop);
            }
            return (st, Admit::Later);
        }
    }

    /// Brings the inputs over and runs the task.
    fn run_task(
        &self,
        t: usize,
        placed: Placed,
        tier: Tier,
        mut reserved: Vec<(usize, Tier, u64)>,
        mut bufs: Vec<(usize, Arc<Buffer>)>,
        row: usize,
    ) -> Result<(Buffer, u64)> {
        let task = &self.g.tasks[t];
        let mut result = Ok(());
        for &j in &task.inputs {
            if bufs.iter().any(|(k, _)| *k == j) {
                continue;
            }
            match self.bring(j, tier, &mut reserved, row) {
                Ok(b) => bufs.push((j, b)),
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        // Reservations no copy used (another worker made the copy first) go back.
        let out_bytes = reserved.iter().filter(|r| r.0 == OUTPUT).map(|r| r.2).sum();
        if reserved.iter().any(|r| r.0 != OUTPUT) {
            let mut st = self.lock();
            for &(c, tr, b) in &reserved {
                if c != OUTPUT {
                    st.store.sub(tr, b);
                }
            }
        }
        result?;
        let refs: Vec<&Buffer> = task
            .inputs
            .iter()
            .map(|j| {
                bufs.iter()
                    .find(|(k, _)| k == j)
                    .map(|(_, b)| b.as_ref())
                    .expect("every input was brought")
            })
            .collect();
        let Placed { backend, plan, .. } = placed;
        let backend = &backend;
        let out = self.trace.span(
            Kind::Compute,
            row,
            task.nbytes,
            || task.op.name(),
            || caught(backend, &task.op, || backend.run(&task.op, plan, &refs)),
        )?;
        Ok((out, out_bytes))
    }

    /// A copy of chunk `j` on `tier`, made now if there is none (with the bytes reserved
    /// in `reserved`, which this consumes), or the copy another worker is making.
    fn bring(
        &self,
        j: usize,
        tier: Tier,
        reserved: &mut Vec<(usize, Tier, u64)>,
        row: usize,
    ) -> Result<Arc<Buffer>> {
        let mut st = self.lock();
        loop {
            if let Some(b) = st.store.copy(j, tier) {
                return Ok(b.clone());
            }
            if st.store.slots[j].busy {
                st = self.wait(st);
                continue;
            }
            st.store.slots[j].busy = true;
            st.io += 1;
            // Where the copy comes from: the host, another device, disk, or its task.
            let mem_source = st.store.memory_copy(j);
            let file = st.store.slots[j].disk.clone();
            let remake = st.store.is_dropped(j);
            drop(st);
            let t0 = Instant::now();
            let made = self.copy_into(j, tier, mem_source, file, remake, row);
            st = self.lock();
            st.io -= 1;
            st.store.slots[j].busy = false;
            self.cv.notify_all();
            let Copied {
                buf,
                host_copy,
                moves,
            } = made?;
            if let Some((h, via)) = host_copy {
                take_reservation(reserved, j, Tier::Host);
                let bytes = h.nbytes() as u64;
                st.store.install(j, Tier::Host, h);
                match via {
                    Via::Disk => {
                        st.store.note_read_back(Tier::Host, bytes);
                        st.counters.spill_time += t0.elapsed();
                    }
                    Via::Peer => {
                        if let Tier::Device(d) = tier {
                            st.counters.moved_in[d].1 += bytes;
                        }
                    }
                    Via::Remake => st.store.note_remade(),
                }
            }
            st.counters.transfers += moves;
            if let (Tier::Device(d), true) = (tier, moves > 0) {
                st.counters.moved_in[d].0 += buf.nbytes() as u64;
            }
            if let (Tier::Device(_), true) = (tier, st.store.slots[j].evicted_from_device) {
                st.store.note_read_back(tier, buf.nbytes() as u64);
            }
            if st.store.copy(j, tier).is_none() {
                take_reservation(reserved, j, tier);
                st.store.install(j, tier, buf.clone());
            }
            return Ok(buf);
        }
    }

    /// Makes a copy of `j` on `tier` from a copy in memory, its spill file, or by running
    /// its task again when it was dropped (`remake`); a copy on another device, from disk
    /// or remade comes through the host, which keeps that copy.
    fn copy_into(
        &self,
        j: usize,
        tier: Tier,
        mem: Option<Arc<Buffer>>,
        file: Option<Arc<crate::spill::SpillFile>>,
        remake: bool,
        row: usize,
    ) -> Result<Copied> {
        let to = match tier {
            Tier::Device(d) => Some(&self.targets.devices[d]),
            _ => None,
        };
        let (mut src, mut host_copy) = match mem {
            Some(m) => (m, None),
            None if file.is_none() && remake => {
                let h = Arc::new(self.remake(j, row)?);
                (h.clone(), Some((h, Via::Remake)))
            }
            None => {
                let f = file.ok_or_else(|| Error::Backend {
                    device: "store".into(),
                    op: "read".into(),
                    reason: format!("chunk {} has no copy anywhere", self.chunk_name(j)),
                })?;
                let c = self.trace.span(
                    Kind::ReadBack,
                    row,
                    f.bytes(),
                    || format!("read {}", self.chunk_name(j)),
                    || f.read(),
                )?;
                let h = Arc::new(Buffer::Host(c));
                (h.clone(), Some((h, Via::Disk)))
            }
        };
        if tier == Tier::Host && matches!(&*src, Buffer::Host(_)) {
            return Ok(Copied {
                buf: src,
                host_copy,
                moves: 0,
            });
        }
        let mut moves = 1;
        if to.is_some() && matches!(&*src, Buffer::Device(_)) {
            let h = self.trace.span(
                Kind::Transfer,
                row,
                src.nbytes() as u64,
                || format!("move {} to the host", self.chunk_name(j)),
                || caught_any(|| placement::move_to(&src, None, &self.targets.devices)),
            )?;
            src = Arc::new(h);
            host_copy = Some((src.clone(), Via::Peer));
            moves += 1;
        }
        let moved = self.trace.span(
            Kind::Transfer,
            row,
            src.nbytes() as u64,
            || format!("move {}", self.chunk_name(j)),
            || caught_any(|| placement::move_to(&src, to, &self.targets.devices)),
        )?;
        Ok(Copied {
            buf: Arc::new(moved),
            host_copy,
            moves,
        })
    }

    /// Runs chunk `j`'s task again on the CPU (it has no inputs): the chunk was dropped
    /// instead of spilled. Returns a host buffer.
    fn remake(&self, j: usize, row: usize) -> Result<Buffer> {
        let task = &self.g.tasks[j];
        let cpu = &self.targets.cpu;
        let plan = cpu.plan(&task.op).map_err(|d| Error::Backend {
            device: "cpu".into(),
            op: task.op.name(),
            reason: d.to_string(),
        })?;
        let out = self.trace.span(
            Kind::ReadBack,
            row,
            task.nbytes,
            || format!("remake {}", self.chunk_name(j)),
            || caught(cpu, &task.op, || cpu.run(&task.op, plan, &[])),
        )?;
        match out {
            Buffer::Host(_) => Ok(out),
            Buffer::Device(_) => placement::move_to(&Arc::new(out), None, &self.targets.devices),
        }
    }

    /// Settles a finished task: its result into the store, its inputs unpinned and
    /// released after their last consumer, its dependents made ready.
    fn finish<'g>(
        &'g self,
        mut st: MutexGuard<'g, State>,
        t: usize,
        tier: Tier,
        out: Result<(Buffer, u64)>,
        on_device: Option<usize>,
    ) -> MutexGuard<'g, State> {
        let task = &self.g.tasks[t];
        st.running -= 1;
        for &j in &task.inputs {
            st.store.slots[j].pins -= 1;
        }
        let (buf, reserved) = match out {
            Ok(x) => x,
            Err(e) => {
                st.store.sub(tier, task.nbytes + task.scratch);
                self.fail(&mut st, e);
                return st;
            }
        };
        // The output lands where the buffer lives (a device backend answering with a
        // host buffer moves its reservation to the host).
        let landed = if buf.device() == Device::Cpu {
            Tier::Host
        } else {
            tier
        };
        if landed != tier {
            st.store.sub(tier, reserved);
            st.store.add(landed, reserved);
        }
        let buf = Arc::new(buf);
        st.store
            .settle(t, landed, reserved, Some(NewCopy::Memory(buf.clone())));
        st.store.finish(t);
        st.done += 1;
        if let Some(d) = on_device {
            st.counters.on_device[d] += 1;
            // The CPU's run of it could differ in the last bits: never a second version.
            st.store.slots[t].remake = None;
        }
        for &j in &task.inputs {
            self.consumed(&mut st, j);
        }
        self.release_consumers(&mut st, t);
        if self
            .ranked
            .as_ref()
            .is_some_and(|r| !r.send_to[t].is_empty())
        {
            st.store.slots[t].pins += 1;
            st.outbox.push(t);
        }
        if let Some(w) = &self.watch {
            w.tick();
        }
        if let Some(b) = &self.bar {
            b.inc(1);
            let h = st.store.tier(Tier::Host);
            let spilled = h.spilled_bytes;
            b.set_message(format!(
                "host {} held, {} spilled",
                human(h.held),
                human(spilled)
            ));
        }
        tracing::trace!(task = t, op = %task.op.name(), "done");
        // Output blocks on the host go into the result (or are written) now, and leave
        // the store.
        if let (Some(sink), Buffer::Host(c)) = (&self.sink, &*buf) {
            if !sink.positions[t].is_empty() {
                drop(st);
                let placed = caught_any(|| sink.place(t, c));
                st = self.lock();
                if let Err(e) = placed {
                    st.error.get_or_insert(e);
                }
                for _ in 0..sink.positions[t].len() {
                    self.consumed(&mut st, t);
                }
            }
        }
        // A store writes device-made output blocks now too, when the host has room for
        // the download (else the end of the run writes them, reserving as it can).
        if let (Some(sink), Buffer::Device(_)) = (&self.sink, &*buf) {
            let storing = matches!(sink.target, Target::Sinks(_));
            if storing && !sink.positions[t].is_empty() {
                let bytes = buf.nbytes() as u64;
                let cap = st.store.tier(Tier::Host).cap(1.0);
                if let Room::Granted = st.store.reserve(Tier::Host, bytes, cap, &[]) {
                    drop(st);
                    let written = caught_any(|| {
                        match placement::move_to(&buf, None, &self.targets.devices)? {
                            Buffer::Host(c) => sink.place(t, &c),
                            Buffer::Device(_) => {
                                unreachable!("a move to the host lands on the host")
                            }
                        }
                    });
                    st = self.lock();
                    st.store.sub(Tier::Host, bytes);
                    match written {
                        Ok(()) => {
                            for _ in 0..sink.positions[t].len() {
                                self.consumed(&mut st, t);
                            }
                        }
                        Err(e) => {
                            st.error.get_or_insert(e);
                        }
                    }
                }
            }
        }
        self.wake(&st);
        if self.io_thread && st.store.wants_io() {
            self.io_cv.notify_one();
        }
        if !self.io_thread {
            let v = st.store.pressure();
            if !v.is_empty() {
                st.io += 1;
                drop(st);
                self.evict(v, None);
                st = self.lock();
                st.io -= 1;
            }
        }
        st
    }

    /// One read of chunk `j` is done; drops it after the last.
    /// Task `t`'s chunk exists: consumers waiting only for it become ready (those run
    /// here; other ranks' tasks never run here).
    pub fn release_consumers(&self, st: &mut State, t: usize) {
        for k in 0..st.store.consumers(t).len() {
            let d = st.store.consumers(t)[k];
            st.waiting[d] -= 1;
            let remote = self.ranked.as_ref().is_some_and(|r| r.remote[d]);
            if st.waiting[d] == 0 && !remote {
                st.ready.push(ready_key(self.g.priority[d], d));
            }
        }
    }

    pub fn consumed(&self, st: &mut State, j: usize) {
        let s = &mut st.store.slots[j];
        s.left -= 1;
        if s.left == 0 && !s.keep {
            st.store.release(j);
        }
    }

    /// Moves each victim one tier down (device → host → disk), then drops its copy where
    /// it was unless a task pinned it meanwhile. Returns whether any memory was freed.
    /// `row` defaults to the I/O row in the trace.
    pub fn evict(&self, victims: Vec<Victim>, row: Option<usize>) -> bool {
        let row = row.unwrap_or(IO_ROW);
        let mut freed = false;
        for v in victims {
            let t0 = Instant::now();
            let ok = match v.from {
                Tier::Host => self.spill_to_disk(v.chunk, row),
                Tier::Device(d) => self.download_evicted(v.chunk, d, row),
                Tier::Disk => Ok(false),
            };
            let mut st = self.lock();
            st.store.slots[v.chunk].busy = false;
            st.counters.spill_time += t0.elapsed();
            match ok {
                Ok(true) => {
                    freed = true;
                    if st.store.slots[v.chunk].pins == 0 {
                        st.store.drop_copy(v.chunk, v.from);
                    }
                }
                Ok(false) => {}
                Err(e) => self.fail(&mut st, e),
            }
            self.cv.notify_all();
        }
        freed
    }

    /// Writes a host chunk to disk (its home directory, or the compute's scratch one).
    fn spill_to_disk(&self, c: usize, row: usize) -> Result<bool> {
        let (buf, bytes, home) = {
            let mut st = self.lock();
            let Some(buf) = st.store.copy(c, Tier::Host).cloned() else {
                return Ok(false);
            };
            let bytes = buf.nbytes() as u64;
            let cap = st.store.tier(Tier::Disk).cap(1.0);
            if st.store.reserve(Tier::Disk, bytes, cap, &[]) != Room::Granted {
                let d = st.store.tier(Tier::Disk);
                return Err(Error::OutOfMemory {
                    tier: Tier::Disk,
                    what: format!("spilling chunk {}", self.chunk_name(c)),
                    needed: d.held + bytes,
                    limit: d.limit.unwrap_or(u64::MAX),
                    fix: "raise disk_limit, point spill_dir at a larger disk, or lower the memory needed (smaller chunks)".into(),
                });
            }
            (buf, bytes, st.store.slots[c].home.clone())
        };
        let Buffer::Host(chunk) = &*buf else {
            return Ok(false);
        };
        let dir = home.as_ref().unwrap_or(&self.scratch);
        let written = self.trace.span(
            Kind::Spill,
            row,
            bytes,
            || format!("spill {}", self.chunk_name(c)),
            || dir.write(chunk, &self.chunk_name(c)),
        );
        let mut st = self.lock();
        let (file, failed) = split(written);
        let kept = st.store.settle(
            c,
            Tier::Disk,
            bytes,
            file.map(|f| NewCopy::Disk(Arc::new(f))),
        );
        if kept {
            st.store.note_spill(Tier::Host, bytes);
        }
        failed.map_or(Ok(kept), Err)
    }

    /// Downloads a device chunk to the host to free device memory. Gives up (returns
    /// false) when the host has no room now, rather than wait while holding the chunk.
    fn download_evicted(&self, c: usize, d: usize, row: usize) -> Result<bool> {
        let mut st = self.lock();
        let Some(buf) = st.store.copy(c, Tier::Device(d)).cloned() else {
            return Ok(false);
        };
        let bytes = buf.nbytes() as u64;
        loop {
            let cap = st.store.tier(Tier::Host).cap(1.0);
            match st.store.reserve(Tier::Host, bytes, cap, &[c]) {
                Room::Granted => break,
                Room::Full => return Ok(false),
                Room::Evict(v) => {
                    drop(st);
                    let freed = self.evict(v, Some(row));
                    st = self.lock();
                    if !freed || st.error.is_some() {
                        return Ok(false);
                    }
                }
            }
        }
        drop(st);
        let host = self.trace.span(
            Kind::Spill,
            row,
            bytes,
            || format!("device to host {}", self.chunk_name(c)),
            || caught_any(|| placement::move_to(&buf, None, &self.targets.devices)),
        );
        let mut st = self.lock();
        let (h, failed) = split(host);
        let kept = st.store.settle(
            c,
            Tier::Host,
            bytes,
            h.map(|h| NewCopy::Memory(Arc::new(h))),
        );
        if kept {
            st.store.slots[c].evicted_from_device = true;
            st.store.note_spill(Tier::Device(d), bytes);
        }
        failed.map_or(Ok(kept), Err)
    }

    /// The I/O thread: spills each tier back under 0.6 of its limit ahead of need, and
    /// reads back what the next tasks will read while the host is under that mark.
    pub fn io_loop(&self) {
        self.guarded("the I/O thread", "spill", || self.io_work());
    }

    fn io_work(&self) {
        let mut st = self.lock();
        loop {
            if self.finished(&st) {
                return;
            }
            let victims = st.store.pressure();
            if !victims.is_empty() {
                st.io += 1;
                drop(st);
                let freed = self.evict(victims, None);
                st = self.lock();
                st.io -= 1;
                if !freed {
                    // Nothing could move now (the tier below is full): wait for tasks.
                    st = self.io_wait(st);
                }
                continue;
            }
            if let Some((c, bytes)) = st.store.prefetch() {
                st.io += 1;
                let file = st.store.slots[c].disk.clone();
                drop(st);
                let t0 = Instant::now();
                let remade = file.is_none();
                let read = match file {
                    Some(f) => self
                        .trace
                        .span(
                            Kind::ReadBack,
                            IO_ROW,
                            f.bytes(),
                            || format!("read ahead {}", self.chunk_name(c)),
                            || f.read(),
                        )
                        .map(Buffer::Host),
                    None => self.remake(c, IO_ROW),
                };
                st = self.lock();
                st.io -= 1;
                st.counters.spill_time += t0.elapsed();
                st.store.slots[c].busy = false;
                let (buf, failed) = split(read);
                let copy = buf.map(|b| NewCopy::Memory(Arc::new(b)));
                if st.store.settle(c, Tier::Host, bytes, copy) {
                    if remade {
                        st.store.note_remade();
                    } else {
                        st.store.note_read_back(Tier::Host, bytes);
                    }
                }
                if let Some(e) = failed {
                    self.fail(&mut st, e);
                }
                self.cv.notify_all();
                continue;
            }
            st = self.io_wait(st);
        }
    }
}

impl Sink {
    /// Copies (or writes) block `t` into every output position it fills (once).
    pub fn place(&self, t: usize, c: &Chunk) -> Result<()> {
        {
            let mut placed = self.placed.lock().unwrap_or_else(|p| p.into_inner());
            if placed[t] {
                return Ok(());
            }
            placed[t] = true;
        }
        match &self.target {
            Target::Arrays(arrays) => {
                let mut arrays = arrays.lock().unwrap_or_else(|p| p.into_inner());
                for (k, start) in &self.positions[t] {
                    place_block(&mut arrays[*k], c.array(), start);
                }
            }
            Target::Sinks(sinks) => {
                for (k, start) in &self.positions[t] {
                    sinks[*k].write(start, c.array())?;
                }
            }
        }
        Ok(())
    }
}

/// A result as its value and its error, for settling either way.
fn split<T>(r: Result<T>) -> (Option<T>, Option<Error>) {
    match r {
        Ok(v) => (Some(v), None),
        Err(e) => (None, Some(e)),
    }
}

/// The reservation of `chunk` in `tier`, used now.
fn take_reservation(reserved: &mut Vec<(usize, Tier, u64)>, chunk: usize, tier: Tier) {
    if let Some(i) = reserved
        .iter()
        .position(|&(c, tr, _)| c == chunk && tr == tier)
    {
        reserved.swap_remove(i);
    }
}

fn human(b: u64) -> String {
    let g = b as f64 / (1u64 << 30) as f64;
    if g >= 1.0 {
        format!("{g:.2} GiB")
    } else {
        format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64)
    }
}

/// Runs `f`, turning a panic into an error of `op` on `target` (a panicking kernel must
/// not leave its task "running" forever: the other workers would wait on it).
pub(super) fn caught<T>(
    target: &Arc<dyn Backend>,
    op: &crate::kernel::ChunkOp,
    f: impl FnOnce() -> Result<T>,
) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|p| {
        Err(Error::Backend {
            device: target.device().to_string(),
            op: op.name(),
            reason: format!("panicked: {}", panic_text(&p)),
        })
    })
}

fn caught_any<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|p| {
        Err(Error::Backend {
            device: "store".into(),
            op: "move".into(),
            reason: format!("panicked: {}", panic_text(&p)),
        })
    })
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into())
}

/// Copies a block into the full result at `start`.
pub(super) fn place_block(full: &mut HostArray, block: &HostArray, start: &[usize]) {
    use ndarray::Slice;
    macro_rules! go {
        ($($v:ident),*) => {
            match (full, block) {
                $((HostArray::$v(f), HostArray::$v(b)) => {
                    f.slice_each_axis_mut(|ax| {
                        let k = ax.axis.index();
                        Slice::from(start[k]..start[k] + b.shape()[k])
                    })
                    .assign(b);
                })*
                _ => unreachable!("block dtypes match their array"),
            }
        };
    }
    go!(Bool, I8, U8, I16, U16, U32, I32, I64, U64, F16, BF16, F32, F64, C64, C128);
}

/// A cached rayon pool per worker count, so repeated computes do not respawn threads.
pub(super) fn pool(n: usize) -> Arc<rayon::ThreadPool> {
    static POOLS: Mutex<Vec<(usize, Arc<rayon::ThreadPool>)>> = Mutex::new(Vec::new());
    let mut pools = POOLS.lock().expect("pool cache");
    if let Some((_, p)) = pools.iter().find(|(k, _)| *k == n) {
        return p.clone();
    }
    let p = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .thread_name(|i| format!("tessera-worker-{i}"))
            .build()
            .expect("worker threads can be created"),
    );
    pools.push((n, p.clone()));
    p
}
