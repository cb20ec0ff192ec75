//! Where a write keeps its bytes until they become visible, and what a killed write left.
//!
//! Every write stages beside its target, as `.NAME.partial-PID-N-HOST` (N counts the
//! calls in one process, so two writes to one path never share a staging; HOST is this
//! machine's [`host_tag`], so a directory shared between machines — MPI ranks on a
//! network filesystem — never has one machine judge another's pids), and becomes visible
//! in one step: a rename of a file, a rename of a new directory, or an atomic exchange
//! of two directories (`renameat2(RENAME_EXCHANGE)`). Where the filesystem cannot
//! exchange, the old directory is first renamed to `.NAME.old-PID-N`, and a kill between
//! the two renames leaves the path missing and the old array there: the next write, or
//! [`recover`], puts it back. So at every instant the target is wholly old or wholly new.
//!
//! A process killed mid-write (SIGKILL: no destructor runs) leaves its staging; the
//! next write to the same path removes what processes of this machine that no longer
//! exist left. Nothing of a live process, or of another machine, is touched.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static CALLS: AtomicU64 = AtomicU64::new(0);

/// What a staging name is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The bytes being written.
    Partial,
    /// An old array moved aside while the new one is renamed in (no exchange).
    Old,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Partial => "partial",
            Kind::Old => "old",
        }
    }
}

/// A staging path beside `target`, unique to this call: `.NAME.KIND-PID-N-HOST`.
pub(crate) fn unique(target: &Path, kind: Kind) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = CALLS.fetch_add(1, Ordering::Relaxed);
    target.with_file_name(format!(
        ".{name}.{}-{}-{n}-{}",
        kind.word(),
        std::process::id(),
        host_tag()
    ))
}

/// This machine in the names of staging and spill directories: 8 hex digits of a hash of
/// its host name. Debris is judged by pid only where the tag is this machine's.
///
/// ```
/// let tag = tessera::storage::host_tag();
/// assert_eq!(tag.len(), 8);
/// assert!(tag.chars().all(|c| c.is_ascii_hexdigit()));
/// ```
pub fn host_tag() -> &'static str {
    static TAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TAG.get_or_init(|| {
        let mut buf = [0u8; 256];
        // SAFETY: gethostname writes at most buf.len() bytes into buf.
        let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        let name: &[u8] = if r == 0 {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            &buf[..end]
        } else {
            b"unknown"
        };
        // FNV-1a: stable across releases and builds (std's hasher is not).
        let h = name.iter().fold(0x811c_9dc5u32, |h, &b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        });
        format!("{h:08x}")
    })
}

/// Whether process `pid` exists on this machine (a zombie or another user's process
/// counts as alive): what decides whether a staging or spill directory is debris.
///
/// ```
/// assert!(tessera::storage::process_alive(std::process::id()));
/// assert!(!tessera::storage::process_alive(4_194_305)); // above Linux's pid limit
/// ```
pub fn alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 only checks whether the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// The kind and pid in a staging entry's name for `name`, if it is one of this machine
/// (its host tag) or of an older release, which had none (`.NAME.partial-PID`,
/// `.NAME.partial-PID-N`, `.NAME.partial-PID-N.old`).
fn parse(entry: &str, name: &str) -> Option<(Kind, u32)> {
    let rest = entry
        .strip_prefix('.')?
        .strip_prefix(name)?
        .strip_prefix('.')?;
    let (kind, rest) = if let Some(r) = rest.strip_prefix("partial-") {
        match r.strip_suffix(".old") {
            Some(r) => (Kind::Old, r),
            None => (Kind::Partial, r),
        }
    } else {
        (Kind::Old, rest.strip_prefix("old-")?)
    };
    let mut parts = rest.split('-');
    let pid = parts.next()?.parse().ok()?;
    match (parts.next(), parts.next(), parts.next()) {
        (None, _, _) => Some((kind, pid)),
        (Some(n), None, _) if n.parse::<u64>().is_ok() => Some((kind, pid)),
        (Some(n), Some(host), None) if n.parse::<u64>().is_ok() && host == host_tag() => {
            Some((kind, pid))
        }
        _ => None,
    }
}

/// Staging that dead processes left beside `target`.
pub(crate) fn stale(target: &Path) -> Vec<(Kind, PathBuf)> {
    let Some(name) = target.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return vec![];
    };
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(parent) else {
        return vec![];
    };
    entries
        .flatten()
        .filter_map(|e| {
            let entry = e.file_name().to_string_lossy().into_owned();
            let (kind, pid) = parse(&entry, &name)?;
            (!alive(pid)).then(|| (kind, e.path()))
        })
        .collect()
}

fn remove(p: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(p),
        Ok(_) => std::fs::remove_file(p),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Completes or removes what dead writers left beside `target`: an old array moved
/// aside by a replace killed before the new one was renamed in goes back (the target is
/// missing then), and every other dead staging is removed. Returns what was removed or
/// restored, for messages.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("tessera-doc-recover-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// // A write by a process that no longer exists (pid 2^22 + 1 is above Linux's limit).
/// std::fs::write(dir.join(".a.npy.partial-4194305-0"), b"debris").unwrap();
/// let cleaned = tessera::storage::recover(&dir.join("a.npy")).unwrap();
/// assert_eq!(cleaned.len(), 1);
/// assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn recover(target: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut done = vec![];
    let mut found = stale(target);
    // Restore first (at most one old copy can be the target's last whole state: the
    // newest, if several were left, is the one a later write moved aside).
    found.sort_by_key(|(k, p)| {
        (
            *k != Kind::Old,
            std::fs::symlink_metadata(p)
                .and_then(|m| m.modified())
                .ok()
                .map(std::cmp::Reverse),
        )
    });
    for (kind, p) in found {
        if kind == Kind::Old && std::fs::symlink_metadata(target).is_err() {
            std::fs::rename(&p, target)?;
        } else {
            remove(&p)?;
        }
        done.push(p);
    }
    Ok(done)
}

/// Swaps two directories (or files) in one step; `Ok(false)` where the filesystem or
/// kernel cannot (then nothing changed).
pub(crate) fn exchange(a: &Path, b: &Path) -> std::io::Result<bool> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::ffi::OsStrExt;
        let ca = std::ffi::CString::new(a.as_os_str().as_bytes())?;
        let cb = std::ffi::CString::new(b.as_os_str().as_bytes())?;
        // SAFETY: two valid NUL-terminated paths; the syscall reads them only.
        let r = unsafe {
            libc::syscall(
                libc::SYS_renameat2,
                libc::AT_FDCWD,
                ca.as_ptr(),
                libc::AT_FDCWD,
                cb.as_ptr(),
                libc::RENAME_EXCHANGE,
            )
        };
        if r == 0 {
            return Ok(true);
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::EOPNOTSUPP) => Ok(false),
            _ => Err(e),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (a, b);
        Ok(false)
    }
}

/// Puts the finished directory `staged` at `target`, which holds an old one, so that
/// `target` is the old or the new directory at every instant a kill could come; the old
/// one is removed afterwards. Once the new one is in place the write has succeeded: an
/// old copy that cannot be removed is logged and left for [`recover`].
pub(crate) fn replace_dir(staged: &Path, target: &Path) -> std::io::Result<()> {
    failpoint("replace-before-swap")?;
    // The `exchange` failpoint stands for a filesystem that cannot exchange.
    if failpoint("exchange").is_ok() && exchange(staged, target)? {
        let _ = failpoint("replace-after-swap");
        // `staged` now names the old directory.
        remove_old(staged);
        return Ok(());
    }
    let old = unique(target, Kind::Old);
    std::fs::rename(target, &old)?;
    let moved_in =
        failpoint("replace-between-renames").and_then(|_| std::fs::rename(staged, target));
    if let Err(e) = moved_in {
        // Put the old one back: the caller's error then leaves the target as it was.
        let _ = std::fs::rename(&old, target);
        return Err(e);
    }
    let _ = failpoint("replace-after-swap");
    remove_old(&old);
    Ok(())
}

fn remove_old(old: &Path) {
    if let Err(e) = std::fs::remove_dir_all(old) {
        tracing::warn!(
            "the new array is in place, but its old copy {} could not be removed ({e}); the next write beside it removes it",
            old.display()
        );
    }
}

/// A test hook: when `TESSERA_FAILPOINT` (a comma-separated list) names `point`, that
/// step fails with an I/O error, or (`point:abort`) the process dies there as if
/// killed, running no destructor, or (`point:sleep`) it waits a second first. Unset
/// (always, outside tests) it costs one environment read per finished write.
pub(crate) fn failpoint(point: &str) -> std::io::Result<()> {
    let Some(v) = std::env::var_os("TESSERA_FAILPOINT") else {
        return Ok(());
    };
    for item in v.to_string_lossy().split(',') {
        let (name, mode) = item.split_once(':').unwrap_or((item, "error"));
        if name != point {
            continue;
        }
        match mode {
            "abort" => std::process::abort(),
            "sleep" => std::thread::sleep(std::time::Duration::from_secs(1)),
            _ => {
                return Err(std::io::Error::other(format!(
                    "injected failure at {point} (TESSERA_FAILPOINT)"
                )))
            }
        }
    }
    Ok(())
}

/// An advisory lock on an existing target (the directory itself, `flock`), held for a
/// whole write so a second writer into the same array gets a clear error instead of a
/// mix of both; released on drop.
#[derive(Debug)]
pub(crate) struct TargetLock {
    _file: std::fs::File,
}

impl TargetLock {
    /// Locks `target`; `Ok(None)` if it does not exist. A target held by another writer
    /// is an error naming that writer's process where its staging shows it.
    pub(crate) fn acquire(target: &Path) -> std::result::Result<Option<TargetLock>, String> {
        use std::os::unix::fs::MetadataExt;
        use std::os::unix::io::AsRawFd;
        loop {
            let file = match std::fs::File::open(target) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(format!("cannot open it to lock it: {e}")),
            };
            // SAFETY: a valid open descriptor; flock only reads it.
            let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if r != 0 {
                let e = std::io::Error::last_os_error();
                if e.raw_os_error() != Some(libc::EWOULDBLOCK) {
                    return Err(format!("cannot lock it: {e}"));
                }
                return Err(format!(
                    "another write into it is in progress ({}); wait for it to finish, or write to another path",
                    holders(target)
                ));
            }
            // The path may have been swapped for a new array between open and lock (a
            // writer finishing): then the lock is on the old one, so lock again.
            let now = std::fs::metadata(target).map_err(|e| e.to_string());
            let held = file.metadata().map_err(|e| e.to_string())?;
            match now {
                Ok(m) if m.ino() == held.ino() && m.dev() == held.dev() => {
                    return Ok(Some(TargetLock { _file: file }))
                }
                _ => continue,
            }
        }
    }
}

/// Who is writing `target`, from the live staging beside it.
fn holders(target: &Path) -> String {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut pids: Vec<u32> = std::fs::read_dir(parent)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| parse(&e.file_name().to_string_lossy(), &name))
        .filter(|&(k, pid)| k == Kind::Partial && alive(pid))
        .map(|(_, pid)| pid)
        .collect();
    pids.sort_unstable();
    pids.dedup();
    match pids.as_slice() {
        [] => "held by a process that has not staged anything yet".into(),
        [p] if *p == std::process::id() => "held by this process".into(),
        [p] => format!("held by process {p}"),
        ps => format!("held by one of the processes {ps:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_this_and_older_releases_parse_and_others_do_not() {
        assert_eq!(
            parse(".a.npy.partial-12-3", "a.npy"),
            Some((Kind::Partial, 12))
        );
        assert_eq!(
            parse(".a.npy.partial-12", "a.npy"),
            Some((Kind::Partial, 12))
        );
        assert_eq!(parse(".a.partial-12-0.old", "a"), Some((Kind::Old, 12)));
        assert_eq!(parse(".a.old-7-1", "a"), Some((Kind::Old, 7)));
        assert_eq!(parse(".ab.partial-12-3", "a"), None);
        assert_eq!(parse(".a.partial-x-3", "a"), None);
        assert_eq!(parse(".a.partial-1-2-3", "a"), None, "another machine's");
        let mine = format!(".a.partial-1-2-{}", host_tag());
        assert_eq!(parse(&mine, "a"), Some((Kind::Partial, 1)));
        let old = format!(".a.old-1-2-{}", host_tag());
        assert_eq!(parse(&old, "a"), Some((Kind::Old, 1)));
        assert_eq!(parse(&format!("{mine}-4"), "a"), None);
        assert_eq!(parse("a.partial-1-2", "a"), None);
        let u = unique(Path::new("/x/arr.zarr"), Kind::Partial);
        let u = u.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            parse(&u, "arr.zarr"),
            Some((Kind::Partial, std::process::id()))
        );
    }

    #[test]
    fn only_dead_processes_debris_is_removed_and_an_old_copy_comes_back() {
        let d = std::env::temp_dir().join(format!("tessera-staging-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        let target = d.join("arr");
        let dead = 4_194_305; // above Linux's pid_max limit: never a live process
        let mine = std::process::id();
        std::fs::create_dir(d.join(format!(".arr.old-{dead}-0"))).unwrap();
        std::fs::write(d.join(format!(".arr.old-{dead}-0/zarr.json")), b"{}").unwrap();
        std::fs::create_dir(d.join(format!(".arr.partial-{dead}-1"))).unwrap();
        std::fs::create_dir(d.join(format!(".arr.partial-{mine}-9"))).unwrap();
        let done = recover(&target).unwrap();
        assert_eq!(done.len(), 2);
        assert!(target.join("zarr.json").exists(), "the old copy is back");
        assert!(
            d.join(format!(".arr.partial-{mine}-9")).exists(),
            "a live writer's staging stays"
        );
        assert!(!d.join(format!(".arr.partial-{dead}-1")).exists());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_second_lock_on_one_target_is_refused_and_released_on_drop() {
        let d = std::env::temp_dir().join(format!("tessera-staging-lock-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let first = TargetLock::acquire(&d).unwrap().expect("exists");
        let e = TargetLock::acquire(&d).unwrap_err();
        assert!(e.contains("another write"), "{e}");
        drop(first);
        assert!(TargetLock::acquire(&d).unwrap().is_some());
        assert!(TargetLock::acquire(&d.join("absent")).unwrap().is_none());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
