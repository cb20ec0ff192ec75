//! Stand-in for builds without the `zarr` feature: the same names, and every call an
//! error that says how to get Zarr support.

use super::{ZarrInfo, ZarrOptions};
use crate::chunks::ChunkGrid;
use crate::dtype::{DType, HostArray};
use crate::error::{Error, Result};
use crate::storage::{ChunkSink, ChunkSource};
use std::path::Path;

fn off(path: &Path) -> Error {
    Error::Io {
        op: "zarr",
        reason: format!(
            "{}: this build has no Zarr support; rebuild with the `zarr` feature (on by default)",
            path.display()
        ),
    }
}

/// Never constructed without the `zarr` feature.
#[derive(Debug)]
pub enum ZarrArray {}

/// Never constructed without the `zarr` feature.
#[derive(Debug)]
pub enum ZarrWriter {}

/// Whether `path` holds Zarr array metadata (either format).
pub fn is_zarr_array(path: &Path) -> bool {
    path.join(".zarray").is_file() || path.join("zarr.json").is_file()
}

/// Always an error without the `zarr` feature.
pub fn info(path: &Path) -> Result<ZarrInfo> {
    Err(off(path))
}

impl ZarrArray {
    /// Always an error without the `zarr` feature.
    pub fn open(path: &Path) -> Result<ZarrArray> {
        Err(off(path))
    }

    /// Unreachable: there is no value.
    pub fn grid(&self) -> &ChunkGrid {
        match *self {}
    }

    /// Unreachable: there is no value.
    pub fn read_unit(&self) -> ChunkGrid {
        match *self {}
    }

    /// Unreachable: there is no value.
    pub fn path(&self) -> &Path {
        match *self {}
    }
}

impl ChunkSource for ZarrArray {
    fn dtype(&self) -> DType {
        match *self {}
    }
    fn shape(&self) -> &[usize] {
        match *self {}
    }
    fn read(&self, _: &[usize], _: &[usize]) -> Result<HostArray> {
        match *self {}
    }
    fn label(&self) -> &'static str {
        match *self {}
    }
}

impl ZarrWriter {
    /// Always an error without the `zarr` feature.
    pub fn create(
        path: &Path,
        _: DType,
        _: &[usize],
        _: &ChunkGrid,
        _: &ZarrOptions,
    ) -> Result<ZarrWriter> {
        Err(off(path))
    }

    /// Always an error without the `zarr` feature.
    pub fn join(path: &Path, _: &Path, _: bool, _: DType, _: &[usize]) -> Result<ZarrWriter> {
        Err(off(path))
    }

    /// Unreachable: there is no value.
    pub fn staging(&self) -> &Path {
        match *self {}
    }

    /// Unreachable: there is no value.
    pub fn grid(&self) -> &ChunkGrid {
        match *self {}
    }

    /// Unreachable: there is no value.
    pub fn into_existing(&self) -> bool {
        match *self {}
    }
}

impl ChunkSink for ZarrWriter {
    fn dtype(&self) -> DType {
        match *self {}
    }
    fn shape(&self) -> &[usize] {
        match *self {}
    }
    fn write(&self, _: &[usize], _: &HostArray) -> Result<()> {
        match *self {}
    }
    fn finish_whole(&self) -> Result<()> {
        match *self {}
    }
    fn abort(&self) {
        match *self {}
    }
}
