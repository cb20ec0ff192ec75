//! Spill files: one host chunk per file, raw element bytes behind a small header, with a
//! CRC-32 checked on every read, in a directory that is removed when its owner drops.
//!
//! Why raw bytes: a chunk goes back exactly as it came out (the bits of every dtype, the
//! parts of a reduction partial), at disk speed, with no codec to configure. Why a
//! checksum: a spill file is the only copy of its chunk, and a truncated or corrupted one
//! must be an error naming the chunk, never a wrong answer. Why a drop guard: the scratch
//! directory of a compute goes away on success, on error and on panic alike.
//!
//! Why files are reused: on a filesystem mounted with online discard (this VM's ext4),
//! deleting a file costs about a second per GB, paid by whoever drops it. A released
//! spill file goes to its directory's free list instead and the next spill overwrites it,
//! so a compute pays for deletions once, when its directory goes, for its peak of spill
//! bytes rather than for every chunk it ever spilled.

mod diskio;
mod persisted;

use crate::dtype::{DType, HostArray};
use crate::error::{Error, Result};
use crate::kernel::Chunk;
use diskio::{DirectReader, DirectWriter};
pub use persisted::Persisted;
pub(crate) use persisted::StoredChunk;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

const MAGIC: &[u8; 8] = b"TSRSPILL";

/// A directory of spill files, created on first use and removed (with whatever is left
/// in it) when dropped.
#[derive(Debug)]
pub struct SpillDir {
    path: PathBuf,
    created: std::sync::OnceLock<std::result::Result<(), String>>,
    next: AtomicU64,
    free: Arc<FreeList>,
}

/// Removes the spill directories beside `dir` (`PREFIX-PID-N-HOST`, of its own prefix
/// or Tessera's two, and of this machine) that
/// processes which no longer exist left: a compute killed with SIGKILL runs no
/// destructor, so its files would stay forever. A live process's directory is never
/// touched.
fn remove_stale_siblings(dir: &Path) {
    let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
        return;
    };
    let name = name.to_string_lossy();
    // `PREFIX-PID-N-HOST`: the prefix is everything before the last three dashes. A
    // compute's scratch and its persisted arrays' directories share the parent: each
    // cleans both.
    let Some(own) = name.rsplitn(4, '-').nth(3) else {
        return;
    };
    let mut prefixes = vec![own, "tessera-spill", "tessera-persist"];
    prefixes.dedup();
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for e in entries.flatten() {
        let entry = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = prefixes
            .iter()
            .find_map(|p| entry.strip_prefix(p).and_then(|r| r.strip_prefix('-')))
        else {
            continue;
        };
        // Only this machine's (a spill directory on a shared filesystem holds other
        // machines' too, whose pids mean nothing here); older releases' names, without
        // the tag, are left alone for the same reason.
        let mut parts = rest.split('-');
        let (Some(pid), Some(n), Some(host), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let (Ok(pid), true, true) = (
            pid.parse::<u32>(),
            n.parse::<u64>().is_ok(),
            host == crate::storage::host_tag(),
        ) else {
            continue;
        };
        if !crate::storage::process_alive(pid) && e.file_type().is_ok_and(|t| t.is_dir()) {
            tracing::info!(
                "removing {} left by process {pid}, which no longer exists",
                e.path().display()
            );
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Released files of a directory (path and length), ready to be overwritten.
type FreeList = Mutex<Vec<(PathBuf, u64)>>;

impl SpillDir {
    /// A directory named `prefix-<pid>-<n>-<host tag>` under `parent` (not created until a
    /// file is written).
    pub(crate) fn new(parent: &Path, prefix: &str) -> SpillDir {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        SpillDir {
            path: parent.join(format!(
                "{prefix}-{}-{n}-{}",
                std::process::id(),
                crate::storage::host_tag()
            )),
            created: std::sync::OnceLock::new(),
            next: AtomicU64::new(0),
            free: Arc::new(Mutex::new(vec![])),
        }
    }

    /// The directory's path (it may not exist yet).
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `chunk` to a new file in this directory; `name` says which chunk it is in
    /// error messages.
    pub(crate) fn write(&self, chunk: &Chunk, name: &str) -> Result<SpillFile> {
        let made = self.created.get_or_init(|| {
            remove_stale_siblings(&self.path);
            std::fs::create_dir_all(&self.path).map_err(|e| e.to_string())
        });
        if let Err(e) = made {
            return Err(io_err(
                &self.path,
                format!("cannot create the spill directory: {e}; set ComputeOptions::spill_dir or TESSERA_SPILL_DIR to a writable directory"),
            ));
        }
        // The free file closest in size above the chunk (else the largest) is reused.
        let want = chunk.nbytes() as u64;
        let reuse = {
            let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
            let pick = free
                .iter()
                .enumerate()
                .min_by_key(|(_, (_, len))| (*len < want, len.abs_diff(want)))
                .map(|(i, _)| i);
            pick.map(|i| free.swap_remove(i))
        };
        let (path, old_len) = reuse.unwrap_or_else(|| {
            let n = self.next.fetch_add(1, Ordering::Relaxed);
            (self.path.join(format!("{n}.chunk")), 0)
        });
        match write_chunk(&path, chunk, old_len > 0) {
            Ok((crc, len)) => Ok(SpillFile {
                path,
                bytes: chunk.nbytes() as u64,
                len,
                crc,
                name: name.to_string(),
                free: Arc::downgrade(&self.free),
            }),
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                Err(io_err(
                    &path,
                    format!("writing spilled chunk {name} failed: {e}; free disk space or point spill_dir elsewhere"),
                ))
            }
        }
    }
}

impl Drop for SpillDir {
    fn drop(&mut self) {
        if self.created.get().is_some_and(|r| r.is_ok()) {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// One spilled chunk on disk. Dropped, its file goes back to its directory's free list
/// (or is removed, when the directory is gone).
#[derive(Debug)]
pub struct SpillFile {
    path: PathBuf,
    bytes: u64,
    /// The file's length (header, checksum and padding to the direct-I/O block included).
    len: u64,
    crc: u32,
    name: String,
    free: Weak<FreeList>,
}

impl SpillFile {
    /// Element bytes the file holds (the header is not counted).
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The file's path.
    #[cfg(test)]
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the chunk back, checking its header and checksum.
    pub(crate) fn read(&self) -> Result<Chunk> {
        let (chunk, crc) = read_chunk(&self.path, self.bytes).map_err(|e| {
            io_err(
                &self.path,
                format!(
                    "reading spilled chunk {} failed: {e}; spill files must not be touched while a compute runs",
                    self.name
                ),
            )
        })?;
        if crc != self.crc || chunk.nbytes() as u64 != self.bytes {
            return Err(io_err(
                &self.path,
                format!(
                    "spilled chunk {} is corrupt (checksum {crc:08x}, expected {:08x}); spill files must not be touched while a compute runs",
                    self.name, self.crc
                ),
            ));
        }
        Ok(chunk)
    }
}

impl Drop for SpillFile {
    fn drop(&mut self) {
        match self.free.upgrade() {
            Some(free) => free
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((std::mem::take(&mut self.path), self.len)),
            None => {
                let _ = std::fs::remove_file(&self.path);
            }
        }
    }
}

fn io_err(path: &Path, reason: String) -> Error {
    Error::Io {
        op: "spill",
        reason: format!("{}: {reason}", path.display()),
    }
}

/// Appends the chunk's layout: the number of parts, then each part's dtype code, rank
/// and shape (little-endian u64s) — the header of spill files and of chunk messages.
pub(super) fn describe_parts(chunk: &Chunk, out: &mut Vec<u8>) {
    out.push(chunk.parts.len() as u8);
    for p in &chunk.parts {
        out.push(dtype_code(p.dtype()));
        out.push(p.shape().len() as u8);
        for &n in p.shape() {
            out.extend_from_slice(&(n as u64).to_le_bytes());
        }
    }
}

pub(super) fn dtype_code(d: DType) -> u8 {
    DType::ALL
        .iter()
        .position(|&x| x == d)
        .expect("every dtype is listed") as u8
}

/// Writes the chunk, overwriting (and trimming) an existing file when `reuse`; returns the
/// checksum and the file's length.
fn write_chunk(path: &Path, chunk: &Chunk, reuse: bool) -> std::io::Result<(u32, u64)> {
    let mut f = DirectWriter::create(path, reuse)?;
    let mut crc = crc32fast::Hasher::new();
    let mut header = MAGIC.to_vec();
    describe_parts(chunk, &mut header);
    crc.update(&header);
    f.write_all(&header)?;
    for p in &chunk.parts {
        let bytes = p.element_bytes();
        crc.update(&bytes);
        f.write_all(&bytes)?;
    }
    let crc = crc.finalize();
    f.write_all(&crc.to_le_bytes())?;
    Ok((crc, f.finish()?))
}

fn bad(why: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_string())
}

/// Reads a chunk of `expect` element bytes (a header claiming more is corrupt, and is
/// refused before anything is allocated for it).
fn read_chunk(path: &Path, expect: u64) -> std::io::Result<(Chunk, u32)> {
    let mut f = DirectReader::open(path)?;
    let mut crc = crc32fast::Hasher::new();
    let mut byte = [0u8; 1];
    let mut word = [0u8; 8];
    let mut magic = [0u8; 8];
    f.read_exact(&mut magic)?;
    if &magic != MAGIC {
        return Err(bad("not a Tessera spill file"));
    }
    crc.update(&magic);
    let mut next_byte = |f: &mut DirectReader, crc: &mut crc32fast::Hasher| {
        f.read_exact(&mut byte).map(|_| {
            crc.update(&byte);
            byte[0]
        })
    };
    let nparts = next_byte(&mut f, &mut crc)?;
    let mut metas = vec![];
    for _ in 0..nparts {
        let code = next_byte(&mut f, &mut crc)? as usize;
        let dtype = *DType::ALL
            .get(code)
            .ok_or_else(|| bad("unknown dtype code"))?;
        let ndim = next_byte(&mut f, &mut crc)?;
        let mut shape = vec![];
        for _ in 0..ndim {
            f.read_exact(&mut word)?;
            crc.update(&word);
            shape.push(u64::from_le_bytes(word) as usize);
        }
        metas.push((dtype, shape));
    }
    let total = metas.iter().try_fold(0u64, |acc, (d, shape)| {
        let n = shape
            .iter()
            .try_fold(1u64, |a, &n| a.checked_mul(n as u64))?;
        acc.checked_add(n.checked_mul(d.size() as u64)?)
    });
    if total != Some(expect) {
        return Err(bad(
            "the header does not describe the chunk that was written",
        ));
    }
    let mut parts = vec![];
    for (dtype, shape) in metas {
        let len = shape
            .iter()
            .try_fold(1usize, |a, &n| a.checked_mul(n))
            .ok_or_else(|| bad("shape overflows"))?;
        macro_rules! pod {
            ($t:ty, $v:ident) => {{
                let mut v = vec![<$t>::default(); len];
                let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut v);
                f.read_exact(bytes)?;
                crc.update(bytes);
                HostArray::$v(ndarray::ArrayD::from_shape_vec(shape, v).map_err(|_| bad("shape"))?)
            }};
        }
        let part = match dtype {
            DType::Bool => {
                let mut v = vec![0u8; len];
                f.read_exact(&mut v)?;
                crc.update(&v);
                let b = v.into_iter().map(|x| x != 0).collect();
                HostArray::Bool(
                    ndarray::ArrayD::from_shape_vec(shape, b).map_err(|_| bad("shape"))?,
                )
            }
            DType::U32 => pod!(u32, U32),
            DType::U64 => pod!(u64, U64),
            DType::I16 => pod!(i16, I16),
            DType::U16 => pod!(u16, U16),
            DType::I8 => pod!(i8, I8),
            DType::U8 => pod!(u8, U8),
            DType::I32 => pod!(i32, I32),
            DType::I64 => pod!(i64, I64),
            DType::F16 => pod!(half::f16, F16),
            DType::BF16 => pod!(half::bf16, BF16),
            DType::F32 => pod!(f32, F32),
            DType::F64 => pod!(f64, F64),
            DType::C64 => pod!(num_complex::Complex32, C64),
            DType::C128 => pod!(num_complex::Complex64, C128),
        };
        parts.push(part);
    }
    let mut tail = [0u8; 4];
    f.read_exact(&mut tail)?;
    let crc = crc.finalize();
    if u32::from_le_bytes(tail) != crc {
        return Err(bad("checksum mismatch (the file was changed or truncated)"));
    }
    Ok((Chunk { parts }, crc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dtype_round_trips_and_corruption_is_caught() {
        let dir = SpillDir::new(&std::env::temp_dir(), "tessera-spill-unit");
        for d in DType::ALL {
            let a = HostArray::zeros(d, &[3, 5]);
            let c = Chunk {
                parts: vec![a.clone(), HostArray::zeros(DType::I64, &[2])],
            };
            let f = dir.write(&c, "x[0, 0]").unwrap();
            assert_eq!(f.read().unwrap(), c);
            let mut bytes = std::fs::read(f.path()).unwrap();
            let k = 40; // the first part's data
            bytes[k] ^= 1;
            std::fs::write(f.path(), bytes).unwrap();
            let e = f.read().unwrap_err().to_string();
            assert!(e.contains("x[0, 0]") && e.contains("checksum"), "{e}");
        }
        let p = dir.path().to_path_buf();
        drop(dir);
        assert!(!p.exists());
    }

    #[test]
    fn released_files_are_overwritten_not_deleted() {
        let dir = SpillDir::new(&std::env::temp_dir(), "tessera-spill-reuse");
        let big = Chunk::dense(HostArray::zeros(DType::F64, &[100]));
        let small = Chunk::dense(HostArray::from(ndarray::arr1(&[1.5f32, 2.5]).into_dyn()));
        let f = dir.write(&big, "a").unwrap();
        let first = f.path().to_path_buf();
        drop(f);
        let g = dir.write(&small, "b").unwrap();
        assert_eq!(g.path(), first.as_path());
        assert_eq!(g.read().unwrap(), small);
        assert_eq!(std::fs::metadata(g.path()).unwrap().len(), g.len);
        let h = dir.write(&big, "c").unwrap();
        assert_ne!(h.path(), first.as_path());
        assert_eq!(h.read().unwrap(), big);
    }

    #[test]
    fn a_panic_leaves_no_spill_directory_behind() {
        let path = std::sync::Mutex::new(None);
        let r = std::panic::catch_unwind(|| {
            let dir = SpillDir::new(&std::env::temp_dir(), "tessera-spill-panic");
            let f = dir.write(&Chunk::dense(HostArray::zeros(DType::F64, &[64])), "x[0]");
            *path.lock().unwrap() = Some(dir.path().to_path_buf());
            assert!(f.is_ok());
            panic!("a task failed");
        });
        assert!(r.is_err());
        let p = path.into_inner().unwrap().unwrap();
        assert!(!p.exists(), "{} is left", p.display());
    }
}
