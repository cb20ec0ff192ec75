//! What a caller can ask of one `compute` (options, process-wide defaults) and what it
//! did (statistics per memory tier).

use crate::backend::Device;
use std::path::PathBuf;
use std::sync::RwLock;
use std::time::Duration;

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
///
/// ```
/// use tessera::ComputeOptions;
/// let opts = ComputeOptions {
///     host_memory_limit: Some(1 << 30),
///     spill_dir: Some(std::env::temp_dir()),
///     ..Default::default()
/// };
/// let x = tessera::random::uniform(&[1000, 1000], 250, 0).unwrap();
/// assert!(x.sum().compute_with::<f64>(&opts).is_ok());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ComputeOptions {
    /// How tasks are run (threads or the calling thread).
    pub scheduler: Scheduler,
    /// Where chunks run.
    pub device: Device,
    /// Several devices that share the blocks (owner computes; see
    /// [`crate::backend::parse_devices`] for `"cuda:*"`, `"wgpu:0,wgpu:1"`, `"cpu,cuda:0"`).
    /// When not empty it replaces `device`.
    ///
    /// ```
    /// let opts = tessera::ComputeOptions {
    ///     devices: tessera::backend::parse_devices("cpu").unwrap(),
    ///     ..Default::default()
    /// };
    /// let x = tessera::random::uniform(&[100, 100], 25, 3).unwrap();
    /// assert!(x.sum().compute_with::<f64>(&opts).is_ok());
    /// ```
    pub devices: Vec<Device>,
    /// Show an indicatif progress bar on stderr.
    pub progress: bool,
    /// Bytes of chunks host memory may hold at once (default: 0.8 of the smaller of RAM
    /// and the cgroup's `memory.max`). Above 0.6 of it chunks spill to disk, above 0.8 no
    /// new task starts, and it is never exceeded.
    pub host_memory_limit: Option<u64>,
    /// Run tasks the device declines on the CPU (default). When false the device is
    /// pinned: a declined task is an error naming the reason (`UnsupportedDType` when
    /// the dtype is what the device lacks).
    pub cpu_fallback: bool,
    /// Bytes of chunks the device may hold at once (default: what the backend reports;
    /// wgpu reports nothing, so no limit there). Above 0.6 of it chunks are moved to host
    /// memory; it is never exceeded.
    pub device_memory_limit: Option<u64>,
    /// Where spill files go (default: env `TESSERA_SPILL_DIR`, else the system temp
    /// dir). Each compute makes its own directory inside and removes it at the end.
    pub spill_dir: Option<PathBuf>,
    /// Bytes of spill files allowed on disk at once (default: no limit).
    pub disk_limit: Option<u64>,
    /// Write the task stream as Chrome-trace JSON (opens in Perfetto) to this file.
    pub trace: Option<PathBuf>,
    /// Stops the compute when cancelled (checked before every task); see
    /// [`super::CancelToken`].
    pub cancel: Option<super::CancelToken>,
    /// Counts finished tasks for a display drawn outside the scheduler (see
    /// [`super::Progress`]); `progress` draws the built-in terminal bar instead.
    pub watch: Option<super::Progress>,
}

const INITIAL: ComputeOptions = ComputeOptions {
    scheduler: Scheduler::Threads(0),
    device: Device::Auto,
    devices: Vec::new(),
    progress: false,
    host_memory_limit: None,
    cpu_fallback: true,
    device_memory_limit: None,
    spill_dir: None,
    disk_limit: None,
    trace: None,
    cancel: None,
    watch: None,
};

impl Default for ComputeOptions {
    fn default() -> Self {
        DEFAULTS.read().map(|d| d.clone()).unwrap_or(INITIAL)
    }
}

impl ComputeOptions {
    /// The built-in options, whatever [`set_default_options`] has set since.
    ///
    /// ```
    /// assert_eq!(tessera::ComputeOptions::builtin().host_memory_limit, None);
    /// ```
    pub fn builtin() -> ComputeOptions {
        INITIAL
    }

    /// The devices this compute spreads its blocks over: `devices`, else `device`.
    pub fn targets(&self) -> Vec<Device> {
        if self.devices.is_empty() {
            vec![self.device]
        } else {
            self.devices.clone()
        }
    }

    /// The directory this compute's spill directory goes in: `spill_dir`, else env
    /// `TESSERA_SPILL_DIR`, else the system temp dir.
    ///
    /// ```
    /// let opts = tessera::ComputeOptions { spill_dir: Some("/big/disk".into()), ..Default::default() };
    /// assert_eq!(opts.spill_parent(), std::path::PathBuf::from("/big/disk"));
    /// ```
    pub fn spill_parent(&self) -> PathBuf {
        self.spill_dir
            .clone()
            .or_else(|| std::env::var_os("TESSERA_SPILL_DIR").map(PathBuf::from))
            .unwrap_or_else(std::env::temp_dir)
    }

    /// The host limit this compute uses.
    pub(crate) fn host_limit(&self) -> u64 {
        self.host_memory_limit
            .unwrap_or_else(|| super::memory::available_host_bytes() / 10 * 8)
    }
}

static DEFAULTS: RwLock<ComputeOptions> = RwLock::new(INITIAL);

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

/// What one memory tier did during a compute.
///
/// ```
/// let s = tessera::scheduler::TierStats::default();
/// assert_eq!(s.spilled_bytes, 0);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TierStats {
    /// The limit the tier ran under (`None`: unlimited).
    pub limit: Option<u64>,
    /// Most bytes held at once (copies and reservations of running tasks).
    pub peak: u64,
    /// Bytes moved from this tier to the one below to make room.
    pub spilled_bytes: u64,
    /// Chunks moved to the tier below.
    pub spilled_chunks: usize,
    /// Bytes brought back from the tier below for a consumer.
    pub read_back_bytes: u64,
    /// Chunks brought back.
    pub read_back_chunks: usize,
    /// Bytes dropped from this tier instead of spilled: chunks whose tasks have no inputs
    /// (reads from a file or a source array, generated blocks) and run again when needed.
    pub dropped_bytes: u64,
    /// Chunks dropped so.
    pub dropped_chunks: usize,
    /// Chunks made again by their tasks after being dropped.
    pub remade_chunks: usize,
}

/// What one device did in a compute.
///
/// ```
/// let s = tessera::scheduler::DeviceStats::default();
/// assert_eq!((s.tasks, s.bytes_from_devices), (0, 0));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeviceStats {
    /// The device (a device named twice appears twice: two logical devices).
    pub device: Device,
    /// Tasks it ran.
    pub tasks: usize,
    /// Its memory tier: limit, peak, moves to the host and back.
    pub memory: TierStats,
    /// Bytes copied onto it for its tasks (from the host or another device).
    pub bytes_in: u64,
    /// Of those, bytes that came from another device (through the host).
    pub bytes_from_devices: u64,
}

/// What a compute did.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Tasks run.
    pub tasks: usize,
    /// Most bytes of chunks held in host memory at once (the scheduler's own
    /// accounting; the same as `host.peak`).
    pub peak_bytes: u64,
    /// Time from start to the assembled outputs.
    pub wall: Duration,
    /// Worker threads used.
    pub workers: usize,
    /// Tasks that ran on a device backend (the rest ran on the CPU).
    pub device_tasks: usize,
    /// Most bytes of chunks held on the device at once (the same as `device.peak`).
    pub peak_device_bytes: u64,
    /// Chunks moved between host and device for consumers (uploads and downloads; the
    /// final download of the outputs and spills are not counted).
    pub transfers: usize,
    /// Host memory: peak, spills to disk, reads back from disk.
    pub host: TierStats,
    /// Device memory (all devices together): peak, moves to host and back.
    pub device: TierStats,
    /// Each device the compute spread its blocks over, in the order named.
    pub per_device: Vec<DeviceStats>,
    /// Spill files: peak bytes on disk.
    pub disk: TierStats,
    /// Time the workers spent writing and reading spill files and moving evicted chunks
    /// off the device (summed over threads).
    pub spill_time: Duration,
    /// This process's rank in a ranked compute (0 otherwise).
    pub rank: usize,
    /// Ranks the compute ran over (1 without MPI).
    pub ranks: usize,
    /// Of `tasks`, those other ranks ran.
    pub remote_tasks: usize,
    /// Chunks and bytes this rank sent to other ranks.
    pub sent: (usize, u64),
    /// Chunks and bytes it received from them.
    pub received: (usize, u64),
}
