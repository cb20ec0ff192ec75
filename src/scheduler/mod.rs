//! The scheduler: runs a [`TaskGraph`] on a backend with a pool of workers, releasing
//! each chunk as soon as its last consumer ran and keeping the bytes held under a limit.
//!
//! Ready tasks run lowest-priority-number first (see `graph::order`), which walks the
//! graph depth first toward the outputs so memory is freed early. A task starts only if
//! the bytes held plus its output stay under 0.8 of the host limit, unless nothing else
//! is running (so the graph always makes progress); a task whose output alone exceeds
//! the limit is an [`Error::OutOfMemory`] before anything runs.

mod memory;

pub use memory::{host_memory_bytes, peak_rss_bytes};

use crate::backend::{Backend, Buffer, CpuBackend, Device, Plan};
use crate::dtype::HostArray;
use crate::error::{Error, Result};
use crate::graph::TaskGraph;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::{Duration, Instant};

/// How tasks are run.
///
/// ```
/// use tessera::{ComputeOptions, Scheduler};
/// let opts = ComputeOptions { scheduler: Scheduler::Sync, ..Default::default() };
/// let v = tessera::ones(&[10], 3).unwrap().sum().compute_with::<f64>(&opts).unwrap();
/// assert_eq!(v[[]], 10.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheduler {
    /// `n` worker threads (0 means one per core).
    Threads(usize),
    /// One thread, the caller's: deterministic order, for debugging.
    Sync,
}

impl Default for Scheduler {
    fn default() -> Self {
        Scheduler::Threads(0)
    }
}

/// Options for one `compute` call.
#[derive(Debug, Clone, PartialEq)]
pub struct ComputeOptions {
    /// How tasks are run (threads or the calling thread).
    pub scheduler: Scheduler,
    /// Where chunks run.
    pub device: Device,
    /// Show an indicatif progress bar on stderr.
    pub progress: bool,
    /// Bytes of task outputs the host may hold at once (default: 80% of RAM).
    pub host_memory_limit: Option<u64>,
    /// Run tasks the device declines on the CPU (default). When false the device is
    /// pinned: a declined task is an error naming the reason (`UnsupportedDType` when
    /// the dtype is what the device lacks).
    pub cpu_fallback: bool,
    /// Bytes of chunks the device may hold at once (default: no limit — wgpu does not
    /// report a device's memory; about 80% of it is a good value for arrays larger than
    /// the device). Above 0.8 of it, tasks that would add to the device run on the CPU
    /// (logged), or, on a pinned device, wait for device memory to free up.
    pub device_memory_limit: Option<u64>,
}

impl Default for ComputeOptions {
    fn default() -> Self {
        DEFAULTS
            .read()
            .map(|d| d.clone())
            .unwrap_or(ComputeOptions {
                scheduler: Scheduler::default(),
                device: Device::Auto,
                progress: false,
                host_memory_limit: None,
                cpu_fallback: true,
                device_memory_limit: None,
            })
    }
}

static DEFAULTS: RwLock<ComputeOptions> = RwLock::new(ComputeOptions {
    scheduler: Scheduler::Threads(0),
    device: Device::Auto,
    progress: false,
    host_memory_limit: None,
    cpu_fallback: true,
    device_memory_limit: None,
});

/// Sets the options every later `compute()` uses by default.
///
/// ```
/// use tessera::{ComputeOptions, Scheduler};
/// tessera::set_default_options(ComputeOptions { scheduler: Scheduler::Threads(2), ..Default::default() });
/// ```
pub fn set_default_options(opts: ComputeOptions) {
    if let Ok(mut d) = DEFAULTS.write() {
        *d = opts;
    }
}

/// What a compute did.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Tasks run.
    pub tasks: usize,
    /// Most bytes of task outputs held at once (the scheduler's own accounting).
    pub peak_bytes: u64,
    /// Time from start to the assembled outputs.
    pub wall: Duration,
    /// Worker threads used.
    pub workers: usize,
    /// Tasks that ran on the device backend (the rest ran on the CPU).
    pub device_tasks: usize,
    /// Most bytes of chunks held on the device at once.
    pub peak_device_bytes: u64,
    /// Chunks moved between host and device while running (uploads and downloads
    /// for consumers; the final download of the outputs is not counted).
    pub transfers: usize,
}

/// Results and statistics of one run.
#[derive(Debug, Clone)]
pub struct Executed {
    /// The requested arrays, in order.
    pub outputs: Vec<HostArray>,
    /// What the run did.
    pub stats: Stats,
}

struct State {
    ready: BinaryHeap<Reverse<(usize, usize)>>,
    waiting_inputs: Vec<usize>,
    consumers_left: Vec<usize>,
    results: Vec<Option<Arc<Buffer>>>,
    /// A copy of a result on the other side (host or device), kept after a transfer so
    /// that later consumers there do not move the chunk again.
    mirrors: Vec<Option<Arc<Buffer>>>,
    /// Chunks some worker is moving right now (others needing them wait for its copy).
    in_flight: Vec<bool>,
    transfers: usize,
    held: u64,
    /// Bytes of results and mirrors on the device, plus reservations of tasks running
    /// there.
    device_held: u64,
    device_peak: u64,
    peak: u64,
    running: usize,
    done: usize,
    on_device: usize,
    error: Option<Error>,
}

/// Runs the graph and assembles every output into one host array.
pub fn execute(g: &TaskGraph, opts: &ComputeOptions) -> Result<Executed> {
    let t0 = Instant::now();
    let cpu: Arc<dyn Backend> = Arc::new(CpuBackend);
    let device = device_backend(opts.device)?;
    let limit = opts
        .host_memory_limit
        .unwrap_or_else(|| host_memory_bytes() / 10 * 8);
    if let Some(t) = g.tasks.iter().find(|t| t.nbytes > limit) {
        return Err(Error::OutOfMemory {
            tier: "host".into(),
            needed: t.nbytes,
            limit,
        });
    }
    let n = g.tasks.len();
    let mut dependents: Vec<Vec<usize>> = vec![vec![]; n];
    let mut waiting_inputs = vec![0usize; n];
    let mut consumers_left = vec![0usize; n];
    for (i, t) in g.tasks.iter().enumerate() {
        waiting_inputs[i] = t.inputs.len();
        for &j in &t.inputs {
            dependents[j].push(i);
            consumers_left[j] += 1;
        }
    }
    let mut is_output = vec![false; n];
    for o in &g.outputs {
        for &b in &o.blocks {
            is_output[b] = true;
            consumers_left[b] += 1;
        }
    }
    let ready = (0..n)
        .filter(|&i| waiting_inputs[i] == 0)
        .map(|i| Reverse((g.priority[i], i)))
        .collect();
    let state = Mutex::new(State {
        ready,
        waiting_inputs,
        consumers_left,
        results: vec![None; n],
        mirrors: vec![None; n],
        in_flight: vec![false; n],
        transfers: 0,
        held: 0,
        device_held: 0,
        device_peak: 0,
        peak: 0,
        running: 0,
        done: 0,
        on_device: 0,
        error: None,
    });
    let cv = Condvar::new();
    let bar = opts.progress.then(|| {
        let b = indicatif::ProgressBar::new(n as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {pos}/{len} tasks ({per_sec}, eta {eta})",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        b
    });
    let start_limit = limit / 10 * 8;
    let device_limit = opts.device_memory_limit.filter(|_| device.is_some());
    let declined: Mutex<std::collections::HashSet<String>> = Mutex::new(Default::default());
    let worker = || {
        let mut guard = state.lock().expect("scheduler lock");
        loop {
            if guard.error.is_some() || guard.done == n {
                cv.notify_all();
                return;
            }
            let device_full = |st: &State, t: usize| {
                device_limit.is_some_and(|l| st.device_held + g.tasks[t].nbytes > l / 10 * 8)
            };
            let pick = match guard.ready.peek() {
                Some(&Reverse((_, t)))
                    if guard.running == 0
                        || (guard.held + g.tasks[t].nbytes <= start_limit
                            // A pinned device waits for its memory instead of the CPU.
                            && (opts.cpu_fallback || !device_full(&guard, t))) =>
                {
                    guard.ready.pop();
                    Some(t)
                }
                _ => None,
            };
            let Some(t) = pick else {
                guard = cv.wait(guard).expect("scheduler lock");
                continue;
            };
            let task = &g.tasks[t];
            let inputs: Vec<Arc<Buffer>> = task
                .inputs
                .iter()
                .map(|&j| {
                    guard.results[j]
                        .clone()
                        .expect("inputs finish before their consumers")
                })
                .collect();
            guard.running += 1;
            guard.held += task.nbytes;
            guard.peak = guard.peak.max(guard.held);
            drop(guard);
            // Device bytes are checked and reserved in one step (like host bytes above),
            // settled to the real size when the task finishes.
            let reserve_device = || {
                let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
                if opts.cpu_fallback && device_full(&st, t) {
                    return false;
                }
                st.device_held += task.nbytes;
                st.device_peak = st.device_peak.max(st.device_held);
                true
            };
            let (target, plan) = match place(
                &device,
                &cpu,
                task,
                &inputs,
                &declined,
                opts.cpu_fallback,
                &reserve_device,
            ) {
                Ok(t) => t,
                Err(e) => {
                    drop(inputs);
                    guard = state.lock().unwrap_or_else(|p| p.into_inner());
                    guard.running -= 1;
                    guard.held -= task.nbytes;
                    guard.error.get_or_insert(e);
                    cv.notify_all();
                    continue;
                }
            };
            let ran_on_device = target.device() != Device::Cpu;
            // A panicking kernel must not leave its task "running" forever (the other
            // workers would wait on it): it becomes an error like any other.
            let out = gather_inputs(
                &state,
                &cv,
                task,
                &inputs,
                &target,
                &device,
                start_limit,
                device_limit,
            )
            .and_then(|moved| {
                let refs: Vec<&Buffer> = moved.iter().map(|b| b.as_ref()).collect();
                caught(&target, &task.op, || target.run(&task.op, plan, &refs))
            });
            drop(inputs);
            guard = state.lock().unwrap_or_else(|p| p.into_inner());
            guard.running -= 1;
            if ran_on_device {
                guard.device_held -= task.nbytes;
            }
            match out {
                Err(e) => {
                    guard.error.get_or_insert(e);
                }
                Ok(buf) => {
                    // Account for what was really produced (reduction partials may differ).
                    let real = buf.nbytes() as u64;
                    guard.held = guard.held + real - task.nbytes;
                    guard.peak = guard.peak.max(guard.held);
                    if buf.device() != Device::Cpu {
                        guard.device_held += real;
                        guard.device_peak = guard.device_peak.max(guard.device_held);
                    }
                    guard.results[t] = Some(Arc::new(buf));
                    guard.done += 1;
                    guard.on_device += ran_on_device as usize;
                    for &j in &task.inputs {
                        guard.consumers_left[j] -= 1;
                        if guard.consumers_left[j] == 0 {
                            let released = [guard.results[j].take(), guard.mirrors[j].take()];
                            for b in released.into_iter().flatten() {
                                guard.held -= b.nbytes() as u64;
                                if b.device() != Device::Cpu {
                                    guard.device_held -= b.nbytes() as u64;
                                }
                            }
                        }
                    }
                    for &d in &dependents[t] {
                        guard.waiting_inputs[d] -= 1;
                        if guard.waiting_inputs[d] == 0 {
                            guard.ready.push(Reverse((g.priority[d], d)));
                        }
                    }
                    if let Some(b) = &bar {
                        b.inc(1);
                    }
                    tracing::trace!(task = t, op = %task.op.name(), "done");
                }
            }
            cv.notify_all();
        }
    };
    let workers = match opts.scheduler {
        Scheduler::Sync => 1,
        Scheduler::Threads(0) => std::thread::available_parallelism()
            .map(|p| p.get())
            .unwrap_or(1),
        Scheduler::Threads(k) => k,
    }
    .min(n.max(1));
    if workers <= 1 {
        worker();
    } else {
        pool(workers).scope(|s| {
            for _ in 0..workers {
                s.spawn(|_| worker());
            }
        });
    }
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let mut st = state.into_inner().expect("scheduler lock");
    if let Some(e) = st.error.take() {
        return Err(e);
    }
    let mut outputs: Vec<HostArray> = g
        .outputs
        .iter()
        .map(|o| HostArray::zeros(o.dtype, &o.shape))
        .collect();
    // Output blocks still on the device come down in batches of up to 256 MiB, one wait
    // per batch rather than per block, and the host copy stays bounded.
    let mut batch: Vec<(usize, usize, Vec<usize>)> = vec![];
    let mut batch_bytes = 0usize;
    let nblocks: usize = g.outputs.iter().map(|o| o.blocks.len()).sum();
    let blocks: Vec<(usize, usize, Vec<usize>)> = g
        .outputs
        .iter()
        .enumerate()
        .flat_map(|(k, o)| {
            let starts = o.grid.block_indices().into_iter();
            starts
                .enumerate()
                .map(move |(b, idx)| (k, o.blocks[b], o.grid.block_start(&idx)))
        })
        .collect();
    for (i, (k, task, start)) in blocks.into_iter().enumerate() {
        let buf = st.results[task].as_deref().expect("outputs are kept");
        // A device output that a CPU consumer already downloaded is on the host too.
        let buf = match st.mirrors[task].as_deref() {
            Some(m @ Buffer::Host(_)) => m,
            _ => buf,
        };
        match buf {
            Buffer::Host(c) => place_block(&mut outputs[k], c.array(), &start),
            Buffer::Device(d) => {
                batch_bytes += d.bytes;
                batch.push((k, task, start));
            }
        }
        if !batch.is_empty() && (batch_bytes >= 256 << 20 || i + 1 == nblocks) {
            let d = device.as_ref().ok_or_else(|| {
                Error::arg(
                    "compute",
                    "an output lives on a device but no such backend is open",
                )
            })?;
            let bufs: Vec<&Buffer> = batch
                .iter()
                .map(|(_, t, _)| st.results[*t].as_deref().expect("outputs are kept"))
                .collect();
            for ((k, _, start), chunk) in batch.iter().zip(d.download_many(&bufs)?) {
                place_block(&mut outputs[*k], chunk.array(), start);
            }
            batch.clear();
            batch_bytes = 0;
        }
    }
    Ok(Executed {
        outputs,
        stats: Stats {
            tasks: n,
            peak_bytes: st.peak,
            wall: t0.elapsed(),
            workers,
            device_tasks: st.on_device,
            peak_device_bytes: st.device_peak,
            transfers: st.transfers,
        },
    })
}

/// The device backend `device` asks for, if any (`None` means the CPU alone).
fn device_backend(device: Device) -> Result<Option<Arc<dyn Backend>>> {
    match device {
        Device::Cpu => Ok(None),
        #[cfg(feature = "wgpu")]
        Device::Wgpu(i) => Ok(Some(crate::backend::WgpuBackend::open(i)? as Arc<dyn Backend>)),
        #[cfg(feature = "wgpu")]
        Device::Auto => {
            // Never a software adapter (lavapipe) unless asked for by index.
            match crate::backend::wgpu_adapters().into_iter().find(|a| !a.software) {
                Some(a) => Ok(Some(crate::backend::WgpuBackend::open(a.index)? as Arc<dyn Backend>)),
                None => Ok(None),
            }
        }
        #[cfg(not(feature = "wgpu"))]
        Device::Auto => Ok(None),
        other => Err(Error::arg(
            "compute",
            format!("device {other} is not available in this build (CPU and wgpu exist today); use Device::Cpu, Device::Wgpu(i) or Device::Auto"),
        )),
    }
}

/// Where a task runs, and its plan there: the device when it accepts the op, else the
/// CPU (logged once per op and reason, never silently).
fn place(
    device: &Option<Arc<dyn Backend>>,
    cpu: &Arc<dyn Backend>,
    task: &crate::graph::Task,
    inputs: &[Arc<Buffer>],
    declined: &Mutex<std::collections::HashSet<String>>,
    fallback: bool,
    reserve_device: &dyn Fn() -> bool,
) -> Result<(Arc<dyn Backend>, Plan)> {
    let on_cpu = || {
        cpu.plan(&task.op)
            .map(|p| (cpu.clone(), p))
            .map_err(|reason| Error::Backend {
                device: "cpu".into(),
                op: task.op.name(),
                reason,
            })
    };
    let Some(d) = device else {
        return on_cpu();
    };
    // Host data is a host chunk wherever it is consumed (a consumer on the device uploads
    // it), so a pinned device still reads it.
    if matches!(task.op, crate::kernel::ChunkOp::Source { .. }) {
        return on_cpu();
    }
    // Reduction partials made on the host stay there: host and device partials have
    // different layouts, so their combine runs where they are.
    if matches!(task.op, crate::kernel::ChunkOp::Combine { .. })
        && inputs.iter().any(|b| matches!(**b, Buffer::Host(_)))
    {
        tracing::debug!(task = %task.name, "partials are on the host: combine on the cpu");
        return on_cpu();
    }
    match d.plan(&task.op) {
        Ok(_) if !reserve_device() => {
            if declined
                .lock()
                .map(|mut s| s.insert("device memory".into()))
                .unwrap_or(false)
            {
                tracing::info!(device = %d.device(), "device memory above 0.8 of its limit: tasks run on the CPU until it frees up");
            }
            on_cpu()
        }
        Ok(plan) => Ok((d.clone(), plan)),
        Err(reason) if !fallback => Err(match op_dtype(&task.op) {
            Some(dtype)
                if reason.contains(dtype.name())
                    || reason.contains(&dtype.to_string())
                    || reason.contains("dtype") =>
            {
                Error::UnsupportedDType {
                    op: "compute",
                    dtype,
                    device: d.device().to_string(),
                    hint: format!(
                        "{}: {reason}; use Device::Auto or cpu_fallback: true to run it on the CPU",
                        task.op.name()
                    ),
                }
            }
            _ => Error::arg(
                "compute",
                format!(
                    "{} has no kernel on {} and CPU fallback is off: {reason}",
                    task.op.name(),
                    d.device()
                ),
            ),
        }),
        Err(reason) => {
            let key = format!(
                "{}: {reason}",
                task.op.name().split(' ').next().unwrap_or("")
            );
            if declined.lock().map(|mut s| s.insert(key)).unwrap_or(false) {
                tracing::info!(device = %d.device(), op = %task.op.name(), %reason, "task runs on the CPU instead");
            }
            tracing::debug!(task = %task.name, %reason, "routed to cpu");
            on_cpu()
        }
    }
}

/// The dtype a task computes in, where it has one.
fn op_dtype(op: &crate::kernel::ChunkOp) -> Option<crate::DType> {
    use crate::kernel::ChunkOp;
    match op {
        ChunkOp::Map { expr, .. } | ChunkOp::Reduce { expr, .. } => Some(expr.dtype()),
        ChunkOp::Combine { input_dtype, .. } => Some(*input_dtype),
        ChunkOp::Take { dtype, .. }
        | ChunkOp::Assemble { dtype, .. }
        | ChunkOp::Linalg { dtype, .. } => Some(*dtype),
        ChunkOp::Source { data, .. } => Some(data.dtype()),
    }
}

/// Runs `f`, turning a panic into an error of `op` on `target` (a panicking kernel must
/// not leave its task "running" forever: the other workers would wait on it).
fn caught<T>(
    target: &Arc<dyn Backend>,
    op: &crate::kernel::ChunkOp,
    f: impl FnOnce() -> Result<T>,
) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|p| {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".into());
        Err(Error::Backend {
            device: target.device().to_string(),
            op: op.name(),
            reason: format!("panicked: {msg}"),
        })
    })
}

/// The task's inputs where `target` runs: as they are, the mirror an earlier move left
/// there, or moved now (uploaded to a device, downloaded to the host). A chunk is moved
/// by one worker at a time: others that need it on the same side wait for its copy,
/// which stays as the chunk's mirror while consumers remain and memory allows.
#[allow(clippy::too_many_arguments)]
fn gather_inputs(
    state: &Mutex<State>,
    cv: &Condvar,
    task: &crate::graph::Task,
    inputs: &[Arc<Buffer>],
    target: &Arc<dyn Backend>,
    device: &Option<Arc<dyn Backend>>,
    start_limit: u64,
    device_limit: Option<u64>,
) -> Result<Vec<Arc<Buffer>>> {
    let to = target.device();
    let mut out: Vec<Option<Arc<Buffer>>> = inputs
        .iter()
        .map(|b| (b.device() == to).then(|| b.clone()))
        .collect();
    while out.iter().any(Option::is_none) {
        let mut claimed = vec![];
        {
            let mut guard = state.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                for (k, &j) in task.inputs.iter().enumerate() {
                    if out[k].is_some() {
                        continue;
                    }
                    if let Some(m) = guard.mirrors[j].as_ref().filter(|m| m.device() == to) {
                        out[k] = Some(m.clone());
                    } else if !guard.in_flight[j] {
                        guard.in_flight[j] = true;
                        claimed.push(k);
                    }
                }
                if !claimed.is_empty() || out.iter().all(Option::is_some) {
                    break;
                }
                guard = cv.wait(guard).unwrap_or_else(|p| p.into_inner());
            }
        }
        let moves: Vec<(usize, Result<Arc<Buffer>>)> = claimed
            .into_iter()
            .map(|k| {
                (
                    k,
                    caught(target, &task.op, || move_one(&inputs[k], target, device)),
                )
            })
            .collect();
        let mut guard = state.lock().unwrap_or_else(|p| p.into_inner());
        let mut failed = None;
        for (k, moved) in moves {
            let j = task.inputs[k];
            guard.in_flight[j] = false;
            match moved {
                Ok(copy) => {
                    guard.transfers += 1;
                    // Kept for the consumers still to come (this task is one of
                    // `consumers_left`), if memory allows.
                    let bytes = copy.nbytes() as u64;
                    let on_device = copy.device() != Device::Cpu;
                    let device_room = !on_device
                        || device_limit.is_none_or(|l| guard.device_held + bytes <= l / 10 * 8);
                    if guard.consumers_left[j] > 1
                        && guard.mirrors[j].is_none()
                        && guard.held + bytes <= start_limit
                        && device_room
                    {
                        guard.held += bytes;
                        guard.peak = guard.peak.max(guard.held);
                        if on_device {
                            guard.device_held += bytes;
                            guard.device_peak = guard.device_peak.max(guard.device_held);
                        }
                        guard.mirrors[j] = Some(copy.clone());
                    }
                    out[k] = Some(copy);
                }
                Err(e) => failed = Some(e),
            }
        }
        cv.notify_all();
        if let Some(e) = failed {
            return Err(e);
        }
    }
    Ok(out.into_iter().flatten().collect())
}

/// `b` moved to where `target` runs: uploaded to a device or downloaded to the host.
fn move_one(
    b: &Arc<Buffer>,
    target: &Arc<dyn Backend>,
    device: &Option<Arc<dyn Backend>>,
) -> Result<Arc<Buffer>> {
    match (&**b, target.device()) {
        (Buffer::Host(c), _) => Ok(Arc::new(target.upload(c.clone())?)),
        (Buffer::Device(d), Device::Cpu) => {
            let owner = device
                .as_ref()
                .filter(|x| x.device() == d.device)
                .ok_or_else(|| {
                    Error::arg("compute", format!("no backend is open for {}", d.device))
                })?;
            Ok(Arc::new(Buffer::Host(owner.download(b)?)))
        }
        (Buffer::Device(d), t) => Err(Error::arg(
            "compute",
            format!(
                "moving chunks from {} to {t} directly is not supported",
                d.device
            ),
        )),
    }
}

/// Copies a block into the full result at `start`.
fn place_block(full: &mut HostArray, block: &HostArray, start: &[usize]) {
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
    go!(Bool, U32, I32, I64, F16, BF16, F32, F64);
}

/// A cached rayon pool per worker count, so repeated computes do not respawn threads.
fn pool(n: usize) -> Arc<rayon::ThreadPool> {
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
