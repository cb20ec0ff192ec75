//! Where chunked arrays come from and go to, outside memory: a [`ChunkSource`] reads any
//! block of a stored array on demand, a [`ChunkSink`] writes blocks as the tasks that
//! make them finish. Formats: `.npy` ([`npy`]) and Zarr v2/v3 ([`zarr`]).
//!
//! Why traits at this seam: a source is read by the CPU backend inside a task (so reading
//! is part of the graph, parallel and bounded by the scheduler's memory limits), and a
//! sink is written by the scheduler when an output block settles (so a result larger
//! than memory never exists whole). Neither knows about the other layers: this module
//! depends only on dtypes and errors.

pub mod npy;
mod staging;
pub mod zarr;

pub use staging::{alive as process_alive, host_tag, recover};
pub(crate) use staging::{failpoint, replace_dir, unique, Kind as StagingKind, TargetLock};

use crate::dtype::{DType, HostArray};
use crate::error::Result;

/// An array stored somewhere, read block by block.
pub trait ChunkSource: Send + Sync + std::fmt::Debug {
    /// The elements' dtype.
    fn dtype(&self) -> DType;
    /// The whole array's shape.
    fn shape(&self) -> &[usize];
    /// The block at `start` of `shape`, C-contiguous.
    fn read(&self, start: &[usize], shape: &[usize]) -> Result<HostArray>;
    /// What tasks reading it are called (`from-ndarray`, `from-npy`).
    fn label(&self) -> &'static str;
}

/// An array being written block by block; complete only once [`ChunkSink::finish`]
/// succeeds, and left as nothing by [`ChunkSink::abort`].
pub trait ChunkSink: Send + Sync {
    /// The array's dtype.
    fn dtype(&self) -> DType;
    /// The whole array's shape.
    fn shape(&self) -> &[usize];
    /// Writes `block` (C-contiguous) at `start`. Blocks may come in any order, from
    /// several threads at once.
    fn write(&self, start: &[usize], block: &HostArray) -> Result<()>;
    /// Makes this process's writes durable. Under MPI every rank calls it for its own writes before the owner's
    /// [`ChunkSink::finish_whole`].
    fn finish_part(&self) -> Result<()> {
        Ok(())
    }
    /// Makes the written array visible where it was asked for (the writer that created
    /// the staging only; every part is finished).
    fn finish_whole(&self) -> Result<()>;
    /// Both steps, in one process.
    fn finish(&self) -> Result<()> {
        self.finish_part()?;
        self.finish_whole()
    }
    /// Removes whatever was written (after an error); a writer that joined another
    /// process's staging leaves it to that writer.
    fn abort(&self);
}

/// Which process owns a shared write's staging file or directory (`Joined` ones write
/// blocks into it and never remove or rename it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Created the staging: renames it into place, or removes it after an error.
    Owner,
    /// Writes into a staging another process created.
    Joined,
}

/// In-memory arrays (`from_ndarray`) are a source too.
impl ChunkSource for HostArray {
    fn dtype(&self) -> DType {
        HostArray::dtype(self)
    }

    fn shape(&self) -> &[usize] {
        HostArray::shape(self)
    }

    fn read(&self, start: &[usize], shape: &[usize]) -> Result<HostArray> {
        Ok(crate::with_host!(self, a => a
            .slice_each_axis(|ax| {
                let k = ax.axis.index();
                ndarray::Slice::from(start[k]..start[k] + shape[k])
            })
            .as_standard_layout()
            .into_owned()
            .into()))
    }

    fn label(&self) -> &'static str {
        "from-ndarray"
    }
}

/// Whether files in `dir` can be opened with `O_DIRECT` (tmpfs and some network
/// filesystems refuse it; other systems have no such flag).
#[cfg_attr(not(feature = "zarr"), allow(dead_code))]
pub(crate) fn direct_io_works(dir: &std::path::Path) -> bool {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let probe = dir.join(".tessera-direct-probe");
        let ok = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .custom_flags(libc::O_DIRECT)
            .open(&probe)
            .is_ok();
        let _ = std::fs::remove_file(&probe);
        ok
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = dir;
        false
    }
}

/// The runs of contiguous elements that make up the block at `start` of `shape` in a
/// C-ordered array of `full` shape: `(element offset in the file, offset in the block,
/// length)`, in block order. Trailing axes the block spans entirely merge into one run.
pub(crate) fn c_runs(full: &[usize], start: &[usize], shape: &[usize]) -> Vec<(u64, usize, usize)> {
    let nd = full.len();
    if nd == 0 {
        return vec![(0, 0, 1)];
    }
    if shape.contains(&0) {
        return vec![];
    }
    // Axes k.. are contiguous in the file when every axis after k is whole.
    let mut k = nd - 1;
    while k > 0 && shape[k] == full[k] && start[k] == 0 {
        k -= 1;
    }
    let run: usize = shape[k..].iter().product();
    let strides = crate::chunks::c_strides(full);
    let outer: Vec<usize> = shape[..k].to_vec();
    let count: usize = outer.iter().product();
    let mut runs = Vec::with_capacity(count);
    let mut idx = vec![0usize; k];
    for i in 0..count {
        let mut off: i64 = (start[k] as i64) * strides[k];
        for a in 0..k {
            off += (start[a] + idx[a]) as i64 * strides[a];
        }
        for a in k + 1..nd {
            off += start[a] as i64 * strides[a];
        }
        runs.push((off as u64, i * run, run));
        for a in (0..k).rev() {
            idx[a] += 1;
            if idx[a] < outer[a] {
                break;
            }
            idx[a] = 0;
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_cover_a_block_and_merge_whole_trailing_axes() {
        // Rows 1..3 of a 4x5 array: one run of 10 from element 5.
        assert_eq!(c_runs(&[4, 5], &[1, 0], &[2, 5]), vec![(5, 0, 10)]);
        // A 2x2 block at (1, 3): two runs of 2.
        assert_eq!(
            c_runs(&[4, 5], &[1, 3], &[2, 2]),
            vec![(8, 0, 2), (13, 2, 2)]
        );
        // 3-d, last two axes partly: 2*2 runs of 3.
        let r = c_runs(&[2, 3, 4], &[0, 1, 1], &[2, 2, 3]);
        assert_eq!(
            r.iter().map(|x| x.0).collect::<Vec<_>>(),
            vec![5, 9, 17, 21]
        );
        assert_eq!(c_runs(&[], &[], &[]), vec![(0, 0, 1)]);
    }
}
