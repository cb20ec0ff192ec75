//! Host memory figures from the OS.

/// Total physical memory in bytes (16 GiB when it cannot be read).
///
/// ```
/// assert!(tessera::scheduler::host_memory_bytes() > 0);
/// ```
pub fn host_memory_bytes() -> u64 {
    read_kib("/proc/meminfo", "MemTotal:").unwrap_or(16 << 20) * 1024
}

/// Peak resident set size of this process in bytes (`VmHWM`), when the OS reports it.
///
/// ```
/// let _ = tessera::scheduler::peak_rss_bytes();
/// ```
pub fn peak_rss_bytes() -> Option<u64> {
    read_kib("/proc/self/status", "VmHWM:").map(|k| k * 1024)
}

fn read_kib(path: &str, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(path).ok()?;
    let line = s.lines().find(|l| l.starts_with(key))?;
    line[key.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}
