//! Which devices a compute runs on: naming them (`Device`, one or a comma-separated set),
//! resolving `Auto`, and opening their backends. The one place that knows which
//! backends this build has.

use super::{cuda_devices, wgpu_adapters};
use super::{Backend, CudaBackend, WgpuBackend};
use crate::error::{Error, Result};
use std::sync::Arc;

/// Which device runs the chunks. Changing it changes nothing else in user code.
///
/// ```
/// use tessera::Device;
/// assert_eq!(Device::default(), Device::Auto);
/// assert_eq!(Device::Cpu.to_string(), "cpu");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Device {
    /// The best device present: CUDA, then a real (non-software) wgpu adapter, then CPU.
    #[default]
    Auto,
    /// The host CPU (rayon worker threads).
    Cpu,
    /// A wgpu (Vulkan) adapter by index; ops it has no kernel for run on the CPU, logged.
    Wgpu(usize),
    /// A CUDA device by ordinal; ops it has no kernel for run on the CPU, logged.
    Cuda(usize),
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Device::Auto => write!(f, "auto"),
            Device::Cpu => write!(f, "cpu"),
            Device::Wgpu(i) => write!(f, "wgpu:{i}"),
            Device::Cuda(i) => write!(f, "cuda:{i}"),
        }
    }
}

/// Parses `auto`, `cpu`, `wgpu:N`, `wgpu:NAME` (the first adapter whose name contains
/// NAME, ignoring case — how a software adapter such as lavapipe is asked for by name)
/// and `cuda:N`.
///
/// ```
/// use tessera::Device;
/// assert_eq!("cpu".parse::<Device>().unwrap(), Device::Cpu);
/// assert_eq!("wgpu:1".parse::<Device>().unwrap(), Device::Wgpu(1));
/// let e = "tpu".parse::<Device>().unwrap_err();
/// assert!(e.to_string().contains("auto, cpu, wgpu:N"));
/// ```
impl std::str::FromStr for Device {
    type Err = Error;

    fn from_str(s: &str) -> Result<Device> {
        let bad = |why: String| Error::arg("device", why);
        let spec = s.trim();
        match spec.to_ascii_lowercase().as_str() {
            "auto" => return Ok(Device::Auto),
            "cpu" => return Ok(Device::Cpu),
            _ => {}
        }
        if let Some(rest) = spec.strip_prefix("cuda:") {
            return rest.parse().map(Device::Cuda).map_err(|_| {
                bad(format!(
                    "{s:?}: a CUDA device is named by its ordinal, e.g. cuda:0"
                ))
            });
        }
        let Some(rest) = spec.strip_prefix("wgpu:") else {
            return Err(bad(format!(
                "unknown device {s:?}; use auto, cpu, wgpu:N, wgpu:NAME or cuda:N"
            )));
        };
        if let Ok(i) = rest.parse::<usize>() {
            return Ok(Device::Wgpu(i));
        }
        {
            let adapters = wgpu_adapters();
            let want = rest.to_ascii_lowercase();
            if let Some(a) = adapters
                .iter()
                .find(|a| a.name.to_ascii_lowercase().contains(&want))
            {
                return Ok(Device::Wgpu(a.index));
            }
            let names: Vec<String> = adapters
                .iter()
                .map(|a| format!("wgpu:{} {}", a.index, a.name))
                .collect();
            Err(bad(format!(
                "no wgpu adapter's name contains {rest:?}; found: {}",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            )))
        }
    }
}

/// Whether this build has the wgpu backend (the `wgpu` feature, on by default).
///
/// ```
/// let _ = tessera::backend::wgpu_built();
/// ```
pub fn wgpu_built() -> bool {
    cfg!(feature = "wgpu")
}

/// Opens the device backends `device` asks for, in the order the scheduler gives them
/// memory tiers (empty: the CPU alone). The one place that knows which backends this
/// build has.
///
/// ```
/// assert!(tessera::backend::open(tessera::Device::Cpu).unwrap().is_empty());
/// // Without a CUDA driver (or without the `cuda` feature) this is an error, not a panic.
/// if tessera::backend::cuda_devices().is_empty() {
///     assert!(tessera::backend::open(tessera::Device::Cuda(0)).is_err());
/// }
/// ```
pub fn open(device: Device) -> Result<Vec<Arc<dyn Backend>>> {
    match resolve(device) {
        Device::Cpu | Device::Auto => Ok(vec![]),
        Device::Wgpu(i) => Ok(vec![WgpuBackend::open(i)? as Arc<dyn Backend>]),
        Device::Cuda(i) => Ok(vec![CudaBackend::open(i)? as Arc<dyn Backend>]),
    }
}

/// The device `device` means, without opening it: `Auto` is a CUDA device when there is
/// one, else a hardware wgpu adapter (never a software one such as lavapipe, which is
/// used only when asked for by index), else the CPU; any other device is itself. With
/// several GPUs, the process takes the one its node-local rank picks
/// ([`local_rank`] modulo their count), so `mpirun -np 8` on an 8-GPU node gives each
/// rank its own GPU; a process started alone takes the first.
///
/// ```
/// use tessera::Device;
/// assert_eq!(tessera::backend::resolve(Device::Cpu), Device::Cpu);
/// assert_ne!(tessera::backend::resolve(Device::Auto), Device::Auto);
/// ```
pub fn resolve(device: Device) -> Device {
    if device != Device::Auto {
        return device;
    }
    let cuda = cuda_devices();
    if !cuda.is_empty() {
        return Device::Cuda(cuda[local_rank() % cuda.len()].ordinal);
    }
    let hardware: Vec<usize> = wgpu_adapters()
        .into_iter()
        .filter(|a| !a.software)
        .map(|a| a.index)
        .collect();
    match hardware.len() {
        0 => Device::Cpu,
        n => Device::Wgpu(hardware[local_rank() % n]),
    }
}

/// This process's rank among the processes a launcher started on this node (Open MPI's
/// `OMPI_COMM_WORLD_LOCAL_RANK`, Slurm's `SLURM_LOCALID`, MPICH's `MPI_LOCALRANKID`,
/// PMI's `PMI_LOCAL_RANK`), 0 when started alone.
///
/// ```
/// if std::env::var_os("OMPI_COMM_WORLD_LOCAL_RANK").is_none()
///     && std::env::var_os("SLURM_LOCALID").is_none()
///     && std::env::var_os("MPI_LOCALRANKID").is_none()
///     && std::env::var_os("PMI_LOCAL_RANK").is_none()
/// {
///     assert_eq!(tessera::backend::local_rank(), 0);
/// }
/// ```
pub fn local_rank() -> usize {
    [
        "OMPI_COMM_WORLD_LOCAL_RANK",
        "SLURM_LOCALID",
        "MPI_LOCALRANKID",
        "PMI_LOCAL_RANK",
    ]
    .iter()
    .find_map(|v| std::env::var(v).ok()?.parse().ok())
    .unwrap_or(0)
}

/// Parses a set of devices one compute spreads its blocks over: devices as
/// [`Device`]'s parser takes them, separated by commas, plus `cuda:*` (every CUDA
/// device) and `wgpu:*` (every wgpu adapter). `cpu` in a set makes the CPU one of the
/// devices that own blocks, not only the fallback. A device named twice is opened once
/// and used as two logical devices (each with its own memory tier and blocks) — how
/// placement is tested on one GPU.
///
/// ```
/// use tessera::Device;
/// let set = tessera::backend::parse_devices("cpu, wgpu:0,wgpu:0").unwrap();
/// assert_eq!(set, vec![Device::Cpu, Device::Wgpu(0), Device::Wgpu(0)]);
/// assert!(tessera::backend::parse_devices("cpu,,wgpu:0").is_err());
/// ```
pub fn parse_devices(spec: &str) -> Result<Vec<Device>> {
    let mut out = vec![];
    for part in spec.split(',').map(str::trim) {
        match part.to_ascii_lowercase().as_str() {
            "" => {
                return Err(Error::arg(
                    "devices",
                    format!("{spec:?} has an empty entry; name devices as cpu,wgpu:0,cuda:*"),
                ))
            }
            "cuda:*" => {
                let all = cuda_devices();
                if all.is_empty() {
                    return Err(Error::arg(
                        "devices",
                        format!(
                            "{spec:?}: cuda:* found no CUDA device ({})",
                            super::cuda_missing().unwrap_or_else(|| "no device".into())
                        ),
                    ));
                }
                out.extend(all.iter().map(|d| Device::Cuda(d.ordinal)));
            }
            "wgpu:*" => {
                let all = wgpu_adapters();
                if all.is_empty() {
                    return Err(Error::arg(
                        "devices",
                        format!("{spec:?}: wgpu:* found no wgpu adapter; install a Vulkan driver (e.g. mesa-vulkan-drivers)"),
                    ));
                }
                out.extend(all.iter().map(|a| Device::Wgpu(a.index)));
            }
            _ => out.push(part.parse()?),
        }
    }
    Ok(out)
}

/// The backends one compute spreads its blocks over.
pub struct Opened {
    /// One backend per logical device, in the order named (a device named twice is
    /// the same backend twice: two memory tiers, one GPU).
    pub devices: Vec<Arc<dyn Backend>>,
    /// The CPU owns blocks too (it was named in the set); otherwise it runs only what
    /// the devices decline.
    pub cpu: bool,
}

/// Opens every device of `set` ([`open`] for each; `Auto` resolved first). A set of one
/// device is what [`open`] gives; an empty set is the CPU alone.
///
/// ```
/// use tessera::Device;
/// let o = tessera::backend::open_all(&[Device::Cpu]).unwrap();
/// assert!(o.devices.is_empty() && o.cpu);
/// ```
pub fn open_all(set: &[Device]) -> Result<Opened> {
    let mut opened = Opened {
        devices: vec![],
        cpu: set.is_empty(),
    };
    for &d in set {
        match resolve(d) {
            Device::Cpu | Device::Auto => opened.cpu = true,
            other => opened.devices.extend(open(other)?),
        }
    }
    Ok(opened)
}
