//! Which backends a compute opens, and where each task runs: a device when it accepts
//! the op, else the CPU (logged once per op and reason, never silently), or an error on
//! a pinned device.

use crate::backend::{Backend, Buffer, Decline, Plan};
use crate::error::{Error, Result};
use crate::graph::Task;
use crate::kernel::ChunkOp;
use crate::kernel::{CombineOp, SourceOp};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// Where a task goes: `Some(i)` for device `i`, `None` for the CPU.
pub(super) struct Placed {
    pub device: Option<usize>,
    pub backend: Arc<dyn Backend>,
    pub plan: Plan,
}

/// Chooses where `task` runs. `inputs` are the chunks it reads as they are now (their
/// copies decide where reduction partials combine); `fits_device` says whether its
/// inputs and output can fit the device's limit at all.
pub(super) fn place(
    devices: &[Arc<dyn Backend>],
    cpu: &Arc<dyn Backend>,
    task: &Task,
    partials_on_host: bool,
    fits_device: bool,
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
    let Some(d) = devices.first() else {
        return on_cpu();
    };
    // Host data is a host chunk wherever it is consumed (a consumer on the device uploads
    // it), so a pinned device still reads it.
    if matches!(task.op, ChunkOp::Source(SourceOp { .. })) {
        return on_cpu();
    }
    // Reduction partials made on the host stay there: host and device partials have
    // different layouts, so their combine runs where they are.
    if matches!(task.op, ChunkOp::Combine(CombineOp { .. })) && partials_on_host {
        tracing::debug!(task = %task.name, "partials are on the host: combine on the cpu");
        return on_cpu();
    }
    let log_once = |key: String, f: &dyn Fn()| {
        if declined.lock().map(|mut s| s.insert(key)).unwrap_or(false) {
            f();
        }
    };
    match d.plan(&task.op) {
        Ok(_) if !fits_device && fallback => {
            log_once(
                "device memory".into(),
                &|| tracing::info!(device = %d.device(), task = %task.name, "a task with its inputs exceeds the device memory limit: it runs on the CPU"),
            );
            on_cpu()
        }
        Ok(plan) => Ok(Placed {
            device: Some(0),
            backend: d.clone(),
            plan,
        }),
        Err(reason) if !fallback => Err(match reason {
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
        Err(reason) => {
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
        (Buffer::Device(d), Some(t)) => Err(Error::arg(
            "compute",
            format!(
                "moving chunks from {} to {} directly is not supported",
                d.device,
                t.device()
            ),
        )),
    }
}
