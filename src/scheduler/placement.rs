//! Where each task runs: among the devices a compute spreads its blocks over, the one
//! that owns it (where its inputs are, else the owner of its block, else an idle
//! one) when that device accepts the op, else the CPU (logged once per op and reason,
//! never silently), or an error on a pinned device; and how chunks move between them.

use crate::backend::{Backend, Buffer, Decline, Plan};
use crate::error::{Error, Result};
use crate::graph::Task;
use crate::kernel::ChunkOp;
use crate::kernel::CombineOp;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// The backends one run places tasks on, and their memory limits.
pub(super) struct Targets {
    /// The devices, in the order of the run's device list.
    pub devices: Vec<Arc<dyn Backend>>,
    /// The CPU backend, which takes what a device declines.
    pub cpu: Arc<dyn Backend>,
    /// The targets blocks are spread over: every device, and the CPU when it owns
    /// blocks too (`None`).
    pub owners: Vec<Option<usize>>,
    /// Each device's memory limit: the option, else 0.8 of what the device reports.
    pub limits: Vec<Option<u64>>,
    /// The host memory limit.
    pub host_limit: u64,
}

impl Targets {
    /// Opens the backends `opts` names.
    pub fn open(opts: &super::ComputeOptions) -> Result<Targets> {
        let opened = crate::backend::open_all(&opts.targets())?;
        let devices = opened.devices;
        let mut owners: Vec<Option<usize>> = (0..devices.len()).map(Some).collect();
        if opened.cpu && !devices.is_empty() {
            owners.push(None);
        }
        let limits = devices
            .iter()
            .map(|d| {
                opts.device_memory_limit
                    .or_else(|| d.memory_bytes().map(|b| b / 10 * 8))
            })
            .collect();
        Ok(Targets {
            devices,
            cpu: Arc::new(crate::backend::CpuBackend),
            owners,
            limits,
            host_limit: opts.host_limit(),
        })
    }
}

/// Where a task goes: `Some(i)` for device `i`, `None` for the CPU.
pub(super) struct Placed {
    pub device: Option<usize>,
    pub backend: Arc<dyn Backend>,
    pub plan: Plan,
}

/// What the store knows about one ready task, per target (device `i` is target `i`;
/// the CPU, when it owns blocks too, is the last): where its inputs already are, and
/// how busy each target is.
pub(super) struct Residency {
    /// The targets blocks are spread over (`None`: the CPU).
    pub targets: Vec<Option<usize>>,
    /// Input bytes with a copy on each target.
    pub held: Vec<u64>,
    /// Whether every input has a copy on each target.
    pub all_on: Vec<bool>,
    /// Tasks running on each target now.
    pub busy: Vec<usize>,
    /// Tasks a target may run at once before an idle one takes work from it.
    pub share: usize,
}

/// The block's owner among `n` targets: a fixed function of the block index, so blocks
/// of different arrays that line up block for block have the same owner. Mixed (the
/// splitmix64 finaliser), because a task's block is sometimes its region's start in
/// elements: starts that are all multiples of an even chunk size made a plain
/// polynomial send every such block to device 0.
fn owner(block: &[usize], n: usize) -> usize {
    let mut h = block.iter().fold(0u64, |h, &b| {
        h.wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .wrapping_add(b as u64 + 1)
    });
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    ((h ^ (h >> 31)) % n.max(1) as u64) as usize
}

/// The targets `task` should try, best first. Owner computes: the target already
/// holding most of its input bytes (the largest operand's place, so aligned operands
/// stay together), ties to the block's owner. A task none of whose inputs is on any
/// target (a generator, or inputs only on the host) goes to its owner, or to an idle
/// target when the owner is busy. Reduction partials combine only where all of them
/// are (device and host partials have different layouts), else on the CPU.
pub(super) fn preference(task: &Task, r: &Residency) -> Vec<Option<usize>> {
    if matches!(task.op, ChunkOp::Combine(CombineOp { .. })) {
        return match r.all_on.iter().position(|&a| a) {
            Some(i) => vec![r.targets[i]],
            None => vec![None],
        };
    }
    let n = r.targets.len();
    let own = owner(&task.block, n);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(r.held[i]), i != own, i));
    if r.held[order[0]] == 0 && r.busy[order[0]] >= r.share {
        if let Some(idle) = (0..n).find(|&i| r.busy[i] == 0) {
            order.retain(|&i| i != idle);
            order.insert(0, idle);
        }
    }
    order.into_iter().map(|i| r.targets[i]).collect()
}

/// Chooses where `task` runs: the first target of `order` whose backend accepts it
/// (and, when falling back is allowed, whose memory limit it fits: `fits`), else the
/// CPU, logging the reason once per op and reason; with `fallback` off a device's
/// decline is an error.
pub(super) fn place(
    devices: &[Arc<dyn Backend>],
    cpu: &Arc<dyn Backend>,
    task: &Task,
    order: &[Option<usize>],
    fits: &dyn Fn(usize) -> bool,
    declined: &Mutex<HashSet<String>>,
    fallback: bool,
) -> Result<Placed> {
    let on_cpu = || {
        cpu.plan(&task.op)
            .map(|plan| Placed {
                device: None,
                backend: cpu.clone(),
                plan,
            })
            .map_err(|d| Error::Backend {
                device: "cpu".into(),
                op: task.op.name(),
                reason: d.to_string(),
            })
    };
    // Host data is a host chunk wherever it is consumed (a consumer on a device uploads
    // it), so a pinned device still reads it.
    if devices.is_empty() || task.op.is_source() {
        return on_cpu();
    }
    let log_once = |key: String, f: &dyn Fn()| {
        if declined.lock().map(|mut s| s.insert(key)).unwrap_or(false) {
            f();
        }
    };
    let mut first_decline = None;
    for &target in order {
        let Some(i) = target else {
            return on_cpu();
        };
        let d = &devices[i];
        match d.plan(&task.op) {
            Ok(_) if !fits(i) && fallback => log_once(
                format!("device memory {i}"),
                &|| tracing::info!(device = %d.device(), task = %task.name, "a task with its inputs exceeds the device memory limit: it runs elsewhere"),
            ),
            Ok(plan) => {
                return Ok(Placed {
                    device: Some(i),
                    backend: d.clone(),
                    plan,
                })
            }
            Err(reason) => {
                first_decline.get_or_insert((d, reason));
            }
        }
    }
    match first_decline {
        Some((d, reason)) if !fallback => Err(match reason {
            Decline::DType { dtype, .. } => Error::UnsupportedDType {
                op: "compute",
                dtype,
                device: d.device().to_string(),
                hint: format!(
                    "{}: {reason}; use Device::Auto or cpu_fallback: true to run it on the CPU",
                    task.op.name()
                ),
            },
            _ => Error::arg(
                "compute",
                format!(
                    "{} has no kernel on {} and CPU fallback is off: {reason}",
                    task.op.name(),
                    d.device()
                ),
            ),
        }),
        Some((d, reason)) => {
            let key = format!(
                "{}: {reason}",
                task.op.name().split(' ').next().unwrap_or("")
            );
            log_once(
                key,
                &|| tracing::info!(device = %d.device(), op = %task.op.name(), %reason, "task runs on the CPU instead"),
            );
            tracing::debug!(task = %task.name, %reason, "routed to cpu");
            on_cpu()
        }
        None => on_cpu(),
    }
}

/// `b` moved onto `to` (`None`: the host): uploaded to a device or downloaded from one.
pub(super) fn move_to(
    b: &Arc<Buffer>,
    to: Option<&Arc<dyn Backend>>,
    devices: &[Arc<dyn Backend>],
) -> Result<Buffer> {
    match (&**b, to) {
        (Buffer::Host(c), Some(t)) => t.upload(c.clone()),
        (Buffer::Host(c), None) => Ok(Buffer::Host(c.clone())),
        (Buffer::Device(d), None) => {
            let owner = devices
                .iter()
                .find(|x| x.device() == d.device)
                .ok_or_else(|| {
                    Error::arg("compute", format!("no backend is open for {}", d.device))
                })?;
            Ok(Buffer::Host(owner.download(b)?))
        }
        // The scheduler moves between devices in two steps, keeping the host copy.
        (Buffer::Device(d), Some(t)) => Err(Error::arg(
            "compute",
            format!(
                "a chunk moves from {} to {} through the host, in two moves",
                d.device,
                t.device()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    /// Blocks named by index or by their start in elements (multiples of an even chunk)
    /// both spread over the targets.
    #[test]
    fn owners_spread_block_indices_and_region_starts() {
        for step in [1, 60, 2000] {
            let mut per = [0usize; 2];
            for i in 0..8 {
                for j in 0..8 {
                    per[super::owner(&[i * step, j * step], 2)] += 1;
                }
            }
            assert!(per.iter().all(|&c| c >= 20), "step {step}: {per:?}");
        }
    }
}
