//! NumPy's `.npy` format (versions 1.0, 2.0, 3.0): read any block of a file, C or
//! Fortran order, either byte order; write a new file block by block.
//!
//! Why positioned reads (`pread`) rather than a memory map: a block is a set of
//! contiguous runs at known offsets, read straight into the block's buffer, with an
//! `io::Error` — not a SIGBUS — when the file is shorter than its header says, and the
//! page cache behaves the same. Why a temporary file renamed at the end: a failed or
//! interrupted write must not leave a file that looks like a complete array.
//!
//! Format: <https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html>.

use super::{c_runs, ChunkSink, ChunkSource, Role};
use crate::dtype::{DType, HostArray};
use crate::error::{Error, Result};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 6] = b"\x93NUMPY";

fn err(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::Io {
        op: "npy",
        reason: format!("{}: {reason}", path.display()),
    }
}

/// What a `.npy` header says.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyHeader {
    /// Element dtype.
    pub dtype: DType,
    /// Shape.
    pub shape: Vec<usize>,
    /// Column-major element order.
    pub fortran: bool,
    /// Elements stored big-endian.
    pub big_endian: bool,
    /// Where the data starts.
    pub data_offset: u64,
}

/// The dtype of a `descr`, and whether it is big-endian.
fn parse_descr(descr: &str) -> std::result::Result<(DType, bool), String> {
    let (order, code) = descr.split_at(descr.len().min(1));
    let big = match order {
        ">" => true,
        "<" | "|" | "=" => false,
        _ => return Err(format!("dtype {descr:?} has no byte-order mark")),
    };
    let d = match code {
        "f8" => DType::F64,
        "f4" => DType::F32,
        "f2" => DType::F16,
        "i8" => DType::I64,
        "i4" => DType::I32,
        "u4" => DType::U32,
        "u8" => DType::U64,
        "i2" => DType::I16,
        "u2" => DType::U16,
        "i1" => DType::I8,
        "u1" => DType::U8,
        "b1" => DType::Bool,
        "c8" => DType::C64,
        "c16" => DType::C128,
        other => {
            return Err(format!(
                "dtype {other:?} ({descr}) has no Tessera dtype (complex128/64, float64/32/16, int64/32/16/8, uint64/32/16/8, bool); convert it with numpy's astype before saving"
            ))
        }
    };
    Ok((d, big && d.size() > 1))
}

fn descr(d: DType) -> Option<&'static str> {
    Some(match d {
        DType::F64 => "<f8",
        DType::F32 => "<f4",
        DType::F16 => "<f2",
        DType::I64 => "<i8",
        DType::I32 => "<i4",
        DType::U32 => "<u4",
        DType::U64 => "<u8",
        DType::I16 => "<i2",
        DType::U16 => "<u2",
        DType::I8 => "|i1",
        DType::U8 => "|u1",
        DType::Bool => "|b1",
        DType::C64 => "<c8",
        DType::C128 => "<c16",
        DType::BF16 => return None,
    })
}

/// The value of `'key': value` in a header dict (up to the next top-level comma).
fn field<'a>(dict: &'a str, key: &str) -> Option<&'a str> {
    let at = dict.find(&format!("'{key}'"))?;
    let rest = dict[at + key.len() + 2..]
        .trim_start()
        .strip_prefix(':')?
        .trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')')? + 1
    } else {
        rest.find([',', '}']).unwrap_or(rest.len())
    };
    Some(rest[..end].trim())
}

/// Reads and checks the header of `path`.
///
/// ```no_run
/// let h = tessera::storage::npy::read_header(std::path::Path::new("x.npy")).unwrap();
/// println!("{:?} {}", h.shape, h.dtype);
/// ```
pub fn read_header(path: &Path) -> Result<NpyHeader> {
    let f = File::open(path).map_err(|e| {
        err(
            path,
            format!("cannot open: {e}; check the path (from_npy reads NumPy .npy files)"),
        )
    })?;
    parse_header(&f, path)
}

fn parse_header(f: &File, path: &Path) -> Result<NpyHeader> {
    let bad = |why: String| err(path, format!("not a valid .npy file: {why}"));
    let mut pre = [0u8; 12];
    let n = f.read_at(&mut pre, 0).map_err(|e| err(path, e))?;
    if n < 10 || &pre[..6] != MAGIC {
        return Err(bad("the magic string \\x93NUMPY is missing".into()));
    }
    let (len, start) = match pre[6] {
        1 => (u16::from_le_bytes([pre[8], pre[9]]) as usize, 10),
        2 | 3 if n == 12 => (
            u32::from_le_bytes([pre[8], pre[9], pre[10], pre[11]]) as usize,
            12,
        ),
        v => {
            return Err(bad(format!(
                "format version {v}.{} is not 1, 2 or 3",
                pre[7]
            )))
        }
    };
    if len > 1 << 24 {
        return Err(bad(format!("a header of {len} bytes")));
    }
    let mut text = vec![0u8; len];
    f.read_exact_at(&mut text, start as u64)
        .map_err(|e| bad(format!("the header is cut short ({e})")))?;
    let dict = String::from_utf8_lossy(&text);
    let descr = field(&dict, "descr")
        .map(|s| s.trim_matches(|c| c == '\'' || c == '"'))
        .ok_or_else(|| bad("no 'descr' in the header".into()))?;
    let (dtype, big_endian) = parse_descr(descr).map_err(|e| err(path, e))?;
    let fortran = match field(&dict, "fortran_order") {
        Some("True") => true,
        Some("False") => false,
        other => return Err(bad(format!("fortran_order is {other:?}"))),
    };
    let shape_text = field(&dict, "shape").ok_or_else(|| bad("no 'shape' in the header".into()))?;
    let shape = shape_text
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse::<usize>())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| bad(format!("shape {shape_text}")))?;
    let h = NpyHeader {
        dtype,
        shape,
        fortran,
        big_endian,
        data_offset: (start + len) as u64,
    };
    let need = h
        .shape
        .iter()
        .try_fold(dtype.size() as u64, |a, &n| a.checked_mul(n as u64))
        .ok_or_else(|| bad("the shape overflows".into()))?;
    let have = f.metadata().map_err(|e| err(path, e))?.len();
    if have < h.data_offset + need {
        return Err(bad(format!(
            "the header describes {need} bytes of data but the file holds {}",
            have.saturating_sub(h.data_offset)
        )));
    }
    Ok(h)
}

/// A `.npy` file read block by block.
#[derive(Debug)]
pub struct NpyFile {
    path: PathBuf,
    file: File,
    header: NpyHeader,
}

impl NpyFile {
    /// Opens `path` and checks its header and size.
    pub fn open(path: &Path) -> Result<NpyFile> {
        let file = File::open(path).map_err(|e| {
            err(
                path,
                format!("cannot open: {e}; check the path (from_npy reads NumPy .npy files)"),
            )
        })?;
        let header = parse_header(&file, path)?;
        Ok(NpyFile {
            path: path.to_path_buf(),
            file,
            header,
        })
    }

    /// The header.
    pub fn header(&self) -> &NpyHeader {
        &self.header
    }
}

impl ChunkSource for NpyFile {
    fn dtype(&self) -> DType {
        self.header.dtype
    }

    fn shape(&self) -> &[usize] {
        &self.header.shape
    }

    fn read(&self, start: &[usize], shape: &[usize]) -> Result<HostArray> {
        let h = &self.header;
        let w = h.dtype.size();
        // A Fortran-ordered file is the C-ordered file of the reversed shape: read that
        // block, then reverse its axes back.
        let rev = |v: &[usize]| -> Vec<usize> {
            if h.fortran {
                v.iter().rev().copied().collect()
            } else {
                v.to_vec()
            }
        };
        let (fs, fstart, fshape) = (rev(&h.shape), rev(start), rev(shape));
        let n: usize = shape.iter().product();
        let mut bytes = vec![0u8; n * w];
        // Pieces of at most PIECE bytes, read by up to LANES threads at once: one
        // synchronous read at a time leaves the disk idle between requests (measured:
        // 0.78 GB/s for 32 MB row bands, where NumPy's memory map with the kernel's
        // read-ahead reached 1.3 GB/s).
        const PIECE: usize = 4 << 20;
        const LANES: usize = 4;
        let mut pieces: Vec<(u64, &mut [u8])> = vec![];
        let mut rest: &mut [u8] = &mut bytes;
        for (off, _, len) in c_runs(&fs, &fstart, &fshape) {
            let mut pos = h.data_offset + off * w as u64;
            let mut left = len * w;
            while left > 0 {
                let take = left.min(PIECE);
                let (head, tail) = std::mem::take(&mut rest).split_at_mut(take);
                pieces.push((pos, head));
                rest = tail;
                pos += take as u64;
                left -= take;
            }
        }
        let read = |list: &mut [(u64, &mut [u8])]| -> std::io::Result<()> {
            list.iter_mut()
                .try_for_each(|(pos, buf)| self.file.read_exact_at(buf, *pos))
        };
        let lanes = LANES.min(pieces.len().div_ceil(2)).max(1);
        let results: Vec<std::io::Result<()>> = if lanes == 1 {
            vec![read(&mut pieces)]
        } else {
            let per = pieces.len().div_ceil(lanes);
            std::thread::scope(|sc| {
                let handles: Vec<_> = pieces
                    .chunks_mut(per)
                    .map(|part| sc.spawn(|| read(part)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join()
                            .unwrap_or_else(|_| Err(std::io::Error::other("a reader panicked")))
                    })
                    .collect()
            })
        };
        for r in results {
            r.map_err(|e| err(&self.path, format!("reading block at {start:?}: {e}")))?;
        }
        if h.big_endian {
            // A complex number is two big-endian reals, each swapped on its own.
            let part = h.dtype.real_part().size();
            bytes.chunks_exact_mut(part).for_each(|c| c.reverse());
        }
        let a = HostArray::from_element_bytes(&bytes, h.dtype, &fshape)
            .map_err(|e| err(&self.path, e))?;
        Ok(if h.fortran {
            crate::with_host!(&a, x => x.clone().reversed_axes().as_standard_layout().into_owned().into())
        } else {
            a
        })
    }

    fn label(&self) -> &'static str {
        "from-npy"
    }
}

/// A new `.npy` file (C order, little-endian, format 1.0 or 2.0 as the header needs),
/// written block by block into a temporary file beside `path` and renamed onto `path`
/// by [`ChunkSink::finish`].
#[derive(Debug)]
pub struct NpyWriter {
    path: PathBuf,
    tmp: PathBuf,
    file: File,
    dtype: DType,
    shape: Vec<usize>,
    data_offset: u64,
    role: Role,
}

impl NpyWriter {
    /// Creates the temporary file with its header and full length.
    pub fn create(path: &Path, dtype: DType, shape: &[usize]) -> Result<NpyWriter> {
        let header = header(path, dtype, shape)?;
        let name = path
            .file_name()
            .ok_or_else(|| err(path, "the path names no file"))?
            .to_string_lossy();
        // What a killed earlier write left here goes first (see `storage::recover`).
        super::recover(path).map_err(|e| {
            err(
                path,
                format!(
                    "cannot remove what an earlier, killed write of {name} left beside it: {e}"
                ),
            )
        })?;
        // A name taken already can only be a file an earlier process with this pid left:
        // the next call's name is free.
        let mut tmp = super::unique(path, super::StagingKind::Partial);
        let mut made = File::create_new(&tmp);
        for _ in 0..8 {
            if !matches!(&made, Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists) {
                break;
            }
            tmp = super::unique(path, super::StagingKind::Partial);
            made = File::create_new(&tmp);
        }
        let file = made.map_err(|e| {
            err(
                path,
                format!(
                    "cannot create {}: {e}; check that the directory exists and is writable",
                    tmp.display()
                ),
            )
        })?;
        let bytes: u64 = shape.iter().product::<usize>() as u64 * dtype.size() as u64;
        let w = NpyWriter {
            path: path.to_path_buf(),
            tmp,
            file,
            dtype,
            shape: shape.to_vec(),
            data_offset: header.len() as u64,
            role: Role::Owner,
        };
        let setup = w
            .file
            .write_all_at(&header, 0)
            .and_then(|_| w.file.set_len(header.len() as u64 + bytes));
        if let Err(e) = setup {
            w.abort();
            return Err(err(path, format!("writing the header: {e}")));
        }
        Ok(w)
    }

    /// Writes blocks into the temporary file another process [`NpyWriter::create`]d
    /// (`staging`, its [`NpyWriter::staging`]) for the same `path`, dtype and shape:
    /// how MPI ranks write one file together. It never renames or removes that file.
    pub fn join(path: &Path, staging: &Path, dtype: DType, shape: &[usize]) -> Result<NpyWriter> {
        let header = header(path, dtype, shape)?;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(staging)
            .map_err(|e| {
                err(
                    path,
                    format!(
                        "cannot open {} that another process created: {e}; every process must see the same filesystem there",
                        staging.display()
                    ),
                )
            })?;
        let want =
            header.len() as u64 + shape.iter().product::<usize>() as u64 * dtype.size() as u64;
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        if len != want {
            return Err(err(
                path,
                format!(
                    "{} holds {len} bytes, not the {want} of a {shape:?} {dtype} file; is it the file the other process created?",
                    staging.display()
                ),
            ));
        }
        Ok(NpyWriter {
            path: path.to_path_buf(),
            tmp: staging.to_path_buf(),
            file,
            dtype,
            shape: shape.to_vec(),
            data_offset: header.len() as u64,
            role: Role::Joined,
        })
    }

    /// The temporary file the blocks go into until [`ChunkSink::finish`].
    pub fn staging(&self) -> &Path {
        &self.tmp
    }
}

/// The `.npy` header of a `dtype` array of `shape`, padded so the data starts on a
/// 64-byte boundary.
fn header(path: &Path, dtype: DType, shape: &[usize]) -> Result<Vec<u8>> {
    let d = descr(dtype).ok_or_else(|| {
        err(
            path,
            "NumPy's .npy has no bfloat16; write astype(float32) instead",
        )
    })?;
    let dims: Vec<String> = shape.iter().map(|n| n.to_string()).collect();
    let shape_text = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let dict = format!("{{'descr': '{d}', 'fortran_order': False, 'shape': {shape_text}, }}");
    let (version, pre) = if dict.len() + 11 < 65_536 {
        (1u8, 10)
    } else {
        (2, 12)
    };
    let total = (pre + dict.len() + 1).div_ceil(64) * 64;
    let mut header = MAGIC.to_vec();
    header.extend([version, 0]);
    let hlen = total - pre;
    if version == 1 {
        header.extend((hlen as u16).to_le_bytes());
    } else {
        header.extend((hlen as u32).to_le_bytes());
    }
    header.extend(dict.bytes());
    header.resize(total - 1, b' ');
    header.push(b'\n');
    Ok(header)
}

impl ChunkSink for NpyWriter {
    fn dtype(&self) -> DType {
        self.dtype
    }

    fn shape(&self) -> &[usize] {
        &self.shape
    }

    fn write(&self, start: &[usize], block: &HostArray) -> Result<()> {
        if block.dtype() != self.dtype {
            return Err(err(
                &self.path,
                format!("a {} block for a {} file", block.dtype(), self.dtype),
            ));
        }
        let w = self.dtype.size();
        let bytes = block.element_bytes();
        for (off, at, len) in c_runs(&self.shape, start, block.shape()) {
            self.file
                .write_all_at(
                    &bytes[at * w..(at + len) * w],
                    self.data_offset + off * w as u64,
                )
                .map_err(|e| err(&self.path, format!("writing block at {start:?}: {e}")))?;
        }
        Ok(())
    }

    fn finish_part(&self) -> Result<()> {
        self.file.sync_data().map_err(|e| {
            self.abort();
            err(&self.path, format!("finishing: {e}"))
        })
    }

    fn finish_whole(&self) -> Result<()> {
        if self.role == Role::Joined {
            return Ok(());
        }
        super::failpoint("npy-rename")
            .and_then(|_| std::fs::rename(&self.tmp, &self.path))
            .map_err(|e| {
                self.abort();
                err(&self.path, format!("finishing: {e}"))
            })
    }

    fn abort(&self) {
        if self.role == Role::Owner {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

impl Drop for NpyWriter {
    /// Whatever was not finished goes (after `finish` the temporary name is gone).
    fn drop(&mut self) {
        self.abort();
    }
}
