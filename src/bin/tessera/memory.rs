//! The memory-tier options every computing command takes.

use clap::Args;
use tessera::ComputeOptions;

/// Memory tiers and the task-stream trace (sizes like 4GiB, 512MiB, 2GB).
#[derive(Args, Clone)]
pub struct MemoryArgs {
    /// Host memory the chunks may hold (default: 0.8 of RAM or the cgroup limit).
    #[arg(long, value_parser = size)]
    host_memory_limit: Option<u64>,
    /// Device memory the chunks may hold (default: what the device reports; wgpu: none).
    #[arg(long, value_parser = size)]
    device_memory_limit: Option<u64>,
    /// Where spill files go (default: $TESSERA_SPILL_DIR, else the system temp dir).
    #[arg(long)]
    spill_dir: Option<std::path::PathBuf>,
    /// Bytes of spill files allowed on disk (default: no limit).
    #[arg(long, value_parser = size)]
    disk_limit: Option<u64>,
    /// Write the task stream as Chrome-trace JSON (open it in https://ui.perfetto.dev).
    #[arg(long)]
    trace: Option<std::path::PathBuf>,
}

impl MemoryArgs {
    /// `opts` with what was given on the command line in place of its defaults.
    pub fn apply(&self, opts: ComputeOptions) -> ComputeOptions {
        ComputeOptions {
            host_memory_limit: self.host_memory_limit.or(opts.host_memory_limit),
            device_memory_limit: self.device_memory_limit.or(opts.device_memory_limit),
            spill_dir: self.spill_dir.clone().or(opts.spill_dir),
            disk_limit: self.disk_limit.or(opts.disk_limit),
            trace: self.trace.clone().or(opts.trace),
            ..opts
        }
    }
}

fn size(s: &str) -> Result<u64, String> {
    tessera::scheduler::parse_bytes(s).map_err(|e| e.to_string())
}

/// Bytes in GiB, for messages.
pub fn gib(b: u64) -> f64 {
    b as f64 / (1u64 << 30) as f64
}
