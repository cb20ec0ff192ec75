//! The CPU backend: every [`ChunkOp`] on host memory, one task per worker thread.

mod ops;

use num_complex::{Complex32, Complex64};
use ops::{copy, fft, linalg, map, reduce, regs, scan, user};

use super::{Backend, Buffer, Decline, Device, Plan};
use crate::dtype::{DType, HostArray};
use crate::error::{Error, Result};
use crate::kernel::{
    AssembleOp, CheckOp, CombineOp, LinalgTask, MapOp, ReduceManyOp, ReduceOp, ScanOp, SelectOp,
    SourceOp, StoredOp, TakeOp,
};
use crate::kernel::{Chunk, ChunkOp, FusedExpr};
use half::{bf16, f16};
use ndarray::{ArrayD, IxDyn};

/// Runs chunk ops on the host with tiled, vectorised loops.
///
/// ```
/// use tessera::backend::{Backend, CpuBackend};
/// assert_eq!(CpuBackend.device(), tessera::Device::Cpu);
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct CpuBackend;

impl CpuBackend {
    fn fail(op: &ChunkOp, reason: String) -> Error {
        Error::Backend {
            device: "cpu".into(),
            op: op.name(),
            reason,
        }
    }
}

/// Evaluates a fused program into a new C-contiguous chunk.
pub fn map_chunk(
    expr: &FusedExpr,
    inputs: &[&HostArray],
    shape: &[usize],
) -> Result<HostArray, String> {
    let total: usize = shape.iter().product();
    let geo = map::Geometry::of(shape);
    let (rows, cols) = (geo.rows, geo.cols);
    macro_rules! store {
        ($t:ty, $zero:expr, $reg:ident, $conv:expr) => {{
            let mut out: Vec<$t> = vec![$zero; total];
            map::for_each_tile(expr, inputs, shape, |t, reg| {
                let regs::Reg::$reg(v) = reg else {
                    unreachable!("output register matches dtype")
                };
                let conv = $conv;
                for r in 0..t.tr {
                    let o = (t.outer_lin * rows + t.r0 + r) * cols + t.c0;
                    let dst = &mut out[o..o + t.tc];
                    for (d, &s) in dst.iter_mut().zip(&v[r * t.tc..(r + 1) * t.tc]) {
                        *d = conv(s);
                    }
                }
            })?;
            ArrayD::from_shape_vec(IxDyn(shape), out)
                .map_err(|e| e.to_string())?
                .into()
        }};
    }
    Ok(match expr.dtype() {
        DType::F64 => store!(f64, 0.0, F64, |x: f64| x),
        DType::F32 => store!(f32, 0.0, F32, |x: f32| x),
        DType::F16 => store!(f16, f16::ZERO, F32, f16::from_f32),
        DType::BF16 => store!(bf16, bf16::ZERO, F32, bf16::from_f32),
        DType::I64 => store!(i64, 0, I64, |x: i64| x),
        DType::I32 => store!(i32, 0, I32, |x: i32| x),
        DType::U32 => store!(u32, 0, U32, |x: u32| x),
        DType::U64 => store!(u64, 0, U64, |x: u64| x),
        DType::C64 => store!(Complex32, Complex32::new(0.0, 0.0), C64, |x: Complex32| x),
        DType::C128 => store!(Complex64, Complex64::new(0.0, 0.0), C128, |x: Complex64| x),
        // Narrow integers live in i32 registers already wrapped to their width.
        DType::I8 => store!(i8, 0, I32, |x: i32| x as i8),
        DType::U8 => store!(u8, 0, I32, |x: i32| x as u8),
        DType::I16 => store!(i16, 0, I32, |x: i32| x as i16),
        DType::U16 => store!(u16, 0, I32, |x: i32| x as u16),
        DType::Bool => store!(bool, false, Bool, |x: bool| x),
    })
}

impl Backend for CpuBackend {
    fn device(&self) -> Device {
        Device::Cpu
    }

    fn describe(&self) -> String {
        format!("cpu ({} threads)", rayon::current_num_threads())
    }

    fn plan(&self, op: &ChunkOp) -> std::result::Result<Plan, Decline> {
        match op {
            ChunkOp::Stored(StoredOp { .. }) => {
                Err("a persisted block is held by the store, not computed".into())
            }
            _ => Ok(Plan::empty()),
        }
    }

    fn run(&self, op: &ChunkOp, _plan: Plan, inputs: &[&Buffer]) -> Result<Buffer> {
        let chunks: Vec<&Chunk> = inputs
            .iter()
            .map(|b| match b {
                Buffer::Host(c) => Ok(c),
                Buffer::Device(d) => Err(Self::fail(
                    op,
                    format!(
                        "input lives on {:?}; the scheduler must move it to the host first",
                        d.device
                    ),
                )),
            })
            .collect::<Result<_>>()?;
        let arrays: Vec<&HostArray> = chunks.iter().map(|c| c.array()).collect();
        let out = match op {
            ChunkOp::Map(MapOp { expr, shape }) => {
                Chunk::dense(map_chunk(expr, &arrays, shape).map_err(|e| Self::fail(op, e))?)
            }
            ChunkOp::Reduce(ReduceOp {
                expr,
                shape,
                reduction,
                axes,
                arg,
                finalize,
            }) => {
                let p = reduce::reduce_chunk(expr, &arrays, shape, *reduction, axes, arg)
                    .map_err(|e| Self::fail(op, e))?;
                match finalize {
                    Some(f) => Chunk::dense(
                        reduce::finalize(*reduction, &p, f).map_err(|e| Self::fail(op, e))?,
                    ),
                    None => p,
                }
            }
            ChunkOp::ReduceMany(ReduceManyOp { expr, shape, outs }) => {
                reduce::reduce_many(expr, &arrays, shape, outs).map_err(|e| Self::fail(op, e))?
            }
            ChunkOp::Select(SelectOp { first, count, .. }) => {
                let parts = chunks
                    .first()
                    .and_then(|c| c.parts.get(*first..first + count))
                    .ok_or_else(|| {
                        Self::fail(
                            op,
                            format!("the input has no parts {first}..{}", first + count),
                        )
                    })?;
                Chunk {
                    parts: parts.to_vec(),
                }
            }
            ChunkOp::Combine(CombineOp {
                reduction,
                finalize,
                ..
            }) => {
                let p = reduce::combine(*reduction, &chunks).map_err(|e| Self::fail(op, e))?;
                match finalize {
                    Some(f) => Chunk::dense(
                        reduce::finalize(*reduction, &p, f).map_err(|e| Self::fail(op, e))?,
                    ),
                    None => p,
                }
            }
            ChunkOp::Take(TakeOp {
                axis,
                picks,
                shape,
                dtype,
            }) => Chunk::dense(
                copy::take(&arrays, *dtype, *axis, picks, shape).map_err(|e| Self::fail(op, e))?,
            ),
            ChunkOp::Assemble(AssembleOp {
                dtype,
                shape,
                pieces,
            }) => Chunk::dense(
                copy::assemble(&arrays, *dtype, shape, pieces).map_err(|e| Self::fail(op, e))?,
            ),
            ChunkOp::Scan(ScanOp { kind, axis, .. }) => {
                let x = arrays
                    .first()
                    .ok_or_else(|| Self::fail(op, "a scan without input".into()))?;
                Chunk::dense(
                    scan::run(*kind, x, arrays.get(1).copied(), *axis)
                        .map_err(|e| Self::fail(op, e))?,
                )
            }
            ChunkOp::Check(CheckOp {
                op: name, reason, ..
            }) => {
                let (Some(x), Some(HostArray::Bool(flags))) = (chunks.first(), arrays.get(1))
                else {
                    return Err(Self::fail(
                        op,
                        "a check needs a value and bool flags".into(),
                    ));
                };
                if flags.iter().any(|&f| f) {
                    return Err(Error::InvalidArgument {
                        op: name,
                        reason: reason.to_string(),
                    });
                }
                (*x).clone()
            }
            ChunkOp::User(u) => Chunk::dense(user::run(u, &arrays)?),
            ChunkOp::Fft(f) => {
                let x = arrays
                    .first()
                    .ok_or_else(|| Self::fail(op, "a transform without input".into()))?;
                Chunk::dense(fft::run(f, x).map_err(|e| Self::fail(op, e))?)
            }
            ChunkOp::Source(SourceOp { data, start, shape }) => {
                Chunk::dense(data.read(start, shape)?)
            }
            ChunkOp::Stored(StoredOp { .. }) => {
                return Err(Self::fail(
                    op,
                    "a persisted block is held by the store, not computed".into(),
                ))
            }
            ChunkOp::Linalg(LinalgTask {
                op: lop,
                dtype,
                shape,
            }) => linalg::run(lop, &chunks, *dtype, shape).map_err(|e| match e {
                linalg::Fail::Math { op, reason } => Error::LinAlg { op, reason },
                linalg::Fail::Internal(e) => Self::fail(op, e),
            })?,
        };
        Ok(Buffer::Host(out))
    }

    fn download(&self, buf: &Buffer) -> Result<Chunk> {
        match buf {
            Buffer::Host(c) => Ok(c.clone()),
            Buffer::Device(d) => Err(Error::Backend {
                device: "cpu".into(),
                op: "download".into(),
                reason: format!("buffer belongs to {:?}", d.device),
            }),
        }
    }

    fn upload(&self, chunk: Chunk) -> Result<Buffer> {
        Ok(Buffer::Host(chunk))
    }
}
