//! Writing one array to one `.npy` file or Zarr array from every rank at once: each rank
//! writes the output blocks it computes, and no block travels to rank 0.
//!
//! Rank 0 creates the staging file or directory (the same one a single process writes,
//! `.NAME.partial-…` beside the target) and broadcasts where it is; the other ranks join
//! it, so the path must be on a filesystem every rank sees. After the compute every rank
//! finishes its own part (syncs its writes), the ranks agree that every part succeeded,
//! and only then does rank 0 make the array visible (a rename, or for a replace or an
//! existing Zarr array an atomic swap) — so, as in one process, a failed write leaves nothing that looks
//! complete. Every step is a collective every rank takes, so a failure on one rank is
//! an error on all of them, never a hang. (An error inside the compute itself aborts
//! the job, as every ranked compute does; the staging name then stays behind, never
//! mistaken for the array, until the next write to the path removes it.)

use super::World;
use crate::array::Array;
use crate::error::{Error, Result};
use crate::scheduler::{self, ComputeOptions, Stats, Transport};
use crate::storage::npy::NpyWriter;
use crate::storage::zarr::{ZarrOptions, ZarrWriter};
use crate::storage::ChunkSink;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

impl World {
    /// Writes `a` to `path` as a `.npy` file, every rank writing the blocks it computes
    /// (each rank calls this with the same array). The file appears only once every
    /// rank's writes are done. Outside `mpirun`, [`Array::to_npy_with`].
    ///
    /// ```
    /// let world = tessera::distributed::init().unwrap();
    /// let path = std::env::temp_dir().join(format!("tessera-doc-world-npy-{}.npy", std::process::id()));
    /// let x = tessera::random::uniform(&[300, 200], 64, 7).unwrap();
    /// world.to_npy(&x, &path, &Default::default()).unwrap();
    /// assert_eq!(tessera::from_npy(&path, 100).unwrap().compute::<f64>().unwrap(), x.compute::<f64>().unwrap());
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn to_npy(
        &self,
        a: &Array,
        path: impl AsRef<Path>,
        opts: &ComputeOptions,
    ) -> Result<Stats> {
        let path = path.as_ref();
        let Some(t) = self.inner.transport().filter(|t| t.size() > 1) else {
            return a.to_npy_with(path, opts);
        };
        let (dtype, shape) = (a.dtype(), a.shape().to_vec());
        let sink = share(
            t,
            "to_npy",
            path,
            || {
                NpyWriter::create(path, dtype, &shape)
                    .map(|w| (w.staging().to_path_buf(), false, w))
            },
            |staging, _| NpyWriter::join(path, staging, dtype, &shape),
        )?;
        scheduler::refuse_graph(a.node()?.grid.block_count(), opts.host_limit())?;
        let g = crate::array::graph_for(&[a], opts)?;
        store(t, "to_npy", path, &g, opts, sink)
    }

    /// Writes `a` to `path` as a Zarr array ([`Array::to_zarr_with`]'s formats, codecs and
    /// rules for an existing array), every rank writing the store chunks it computes.
    /// The array appears (or changes) only once every rank's chunks are written.
    ///
    /// ```
    /// let world = tessera::distributed::init().unwrap();
    /// let dir = std::env::temp_dir().join(format!("tessera-doc-world-zarr-{}", std::process::id()));
    /// let x = tessera::random::uniform(&[300, 200], 64, 7).unwrap();
    /// world.to_zarr(&x, &dir, &Default::default(), &Default::default()).unwrap();
    /// assert_eq!(tessera::from_zarr(&dir).unwrap().compute::<f64>().unwrap(), x.compute::<f64>().unwrap());
    /// std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn to_zarr(
        &self,
        a: &Array,
        path: impl AsRef<Path>,
        zarr: &ZarrOptions,
        opts: &ComputeOptions,
    ) -> Result<Stats> {
        let path = path.as_ref();
        let Some(t) = self.inner.transport().filter(|t| t.size() > 1) else {
            return a.to_zarr_with(path, zarr, opts);
        };
        let n = a.node()?;
        let (dtype, shape) = (n.dtype, n.shape.clone());
        let sink = share(
            t,
            "to_zarr",
            path,
            || {
                ZarrWriter::create(path, dtype, &shape, &n.grid, zarr)
                    .map(|w| (w.staging().to_path_buf(), w.into_existing(), w))
            },
            |staging, existing| ZarrWriter::join(path, staging, existing, dtype, &shape),
        )?;
        // Every rank reads the grid from the same metadata: the graphs agree.
        let x = a.aligned_to(sink.grid(), path)?;
        scheduler::refuse_graph(sink.grid().block_count(), opts.host_limit())?;
        let g = crate::array::graph_for(&[&x], opts)?;
        store(t, "to_zarr", path, &g, opts, sink)
    }
}

/// A writer on every rank into one staging: rank 0's `create` makes it and returns
/// `(staging, into an existing array, writer)`; the others `join(staging, existing)`.
fn share<W: ChunkSink>(
    t: &dyn Transport,
    op: &'static str,
    path: &Path,
    create: impl FnOnce() -> Result<(PathBuf, bool, W)>,
    join: impl FnOnce(&Path, bool) -> Result<W>,
) -> Result<Arc<W>> {
    let root = t.rank() == 0;
    let (made, msg) = if root {
        match create() {
            Ok((staging, existing, w)) => {
                let mut m = vec![1, existing as u8];
                m.extend_from_slice(staging.as_os_str().as_bytes());
                (Some(Ok(w)), m)
            }
            Err(e) => {
                let mut m = vec![0];
                m.extend_from_slice(e.to_string().as_bytes());
                (Some(Err(e)), m)
            }
        }
    } else {
        (None, vec![])
    };
    let msg = t.broadcast(msg)?;
    if msg.first() != Some(&1) {
        // Rank 0 could not start the write: every rank stops here.
        return match made {
            Some(Err(e)) => Err(e),
            _ => Err(Error::Io {
                op,
                reason: format!(
                    "rank 0 could not start writing {}: {}",
                    path.display(),
                    String::from_utf8_lossy(msg.get(1..).unwrap_or_default())
                ),
            }),
        };
    }
    let mine = match made {
        Some(r) => r,
        None => join(
            Path::new(std::ffi::OsStr::from_bytes(&msg[2..])),
            msg[1] == 1,
        ),
    };
    let oks = t.all_gather(mine.is_ok() as u64)?;
    match mine {
        Ok(w) if oks.iter().all(|&o| o == 1) => Ok(Arc::new(w)),
        // Rank 0's writer, dropped, removes the staging.
        Ok(_) => Err(Error::Io {
            op,
            reason: format!(
                "ranks {:?} could not open the staging of {} that rank 0 created (see their errors); the path must be on a filesystem every rank sees",
                failed(&oks),
                path.display()
            ),
        }),
        Err(e) => Err(e),
    }
}

/// Runs the store over the ranks, then finishes it: every rank's part, then (when all
/// succeeded) rank 0's whole; an error anywhere is an error on every rank.
fn store<W: ChunkSink + 'static>(
    t: &dyn Transport,
    op: &'static str,
    path: &Path,
    g: &crate::graph::TaskGraph,
    opts: &ComputeOptions,
    sink: Arc<W>,
) -> Result<Stats> {
    let ran = scheduler::execute_store_ranked(g, opts, vec![sink.clone() as Arc<dyn ChunkSink>], t);
    let part = ran.and_then(|s| sink.finish_part().map(|_| s));
    let oks = t.all_gather(part.is_ok() as u64)?;
    if !oks.iter().all(|&o| o == 1) {
        sink.abort();
        return match part {
            Err(e) => Err(e),
            Ok(_) => Err(Error::Io {
                op,
                reason: format!(
                    "ranks {:?} failed writing {} (see their errors); nothing was written there",
                    failed(&oks),
                    path.display()
                ),
            }),
        };
    }
    let root = t.rank() == 0;
    let whole = if root { sink.finish_whole() } else { Ok(()) };
    let msg = t.broadcast(match &whole {
        Ok(()) => vec![1],
        Err(e) => [&[0u8][..], e.to_string().as_bytes()].concat(),
    })?;
    match (whole, msg.first()) {
        (Err(e), _) => Err(e),
        (Ok(()), Some(1)) => part,
        (Ok(()), _) => Err(Error::Io {
            op,
            reason: format!(
                "rank 0 could not finish {}: {}",
                path.display(),
                String::from_utf8_lossy(msg.get(1..).unwrap_or_default())
            ),
        }),
    }
}

/// The ranks whose flag is 0.
fn failed(oks: &[u64]) -> Vec<usize> {
    (0..oks.len()).filter(|&r| oks[r] != 1).collect()
}
