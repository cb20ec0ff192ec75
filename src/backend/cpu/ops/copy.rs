//! Data-movement ops on the CPU: take (gather along an axis), assemble (rechunk and
//! concatenate) and regions of in-memory sources.

use crate::dtype::HostArray;
use crate::kernel::Piece;
use ndarray::{ArrayD, Axis, Slice};

fn region<'a, T: Clone>(
    a: &'a ArrayD<T>,
    start: &[usize],
    shape: &[usize],
) -> ndarray::ArrayViewD<'a, T> {
    a.slice_each_axis(|ax| {
        let k = ax.axis.index();
        Slice::from(start[k]..start[k] + shape[k])
    })
}

/// Gathers hyperslabs along `axis`: output index `i` is `inputs[picks[i].0]` at `picks[i].1`.
pub fn take(
    inputs: &[&HostArray],
    dtype: crate::DType,
    axis: usize,
    picks: &[(usize, usize)],
    shape: &[usize],
) -> Result<HostArray, String> {
    let mut out = HostArray::zeros(dtype, shape);
    macro_rules! go {
        ($($v:ident),*) => {
            match &mut out {
                $(HostArray::$v(o) => {
                    for (i, &(slot, j)) in picks.iter().enumerate() {
                        let HostArray::$v(src) = inputs[slot] else { return Err("take inputs differ in dtype".into()) };
                        o.index_axis_mut(Axis(axis), i).assign(&src.index_axis(Axis(axis), j));
                    }
                })*
            }
        };
    }
    go!(Bool, I8, U8, I16, U16, U32, I32, I64, U64, F16, BF16, F32, F64, C64, C128);
    Ok(out)
}

/// Copies rectangles of the inputs into a new chunk.
pub fn assemble(
    inputs: &[&HostArray],
    dtype: crate::DType,
    shape: &[usize],
    pieces: &[Piece],
) -> Result<HostArray, String> {
    let mut out = HostArray::zeros(dtype, shape);
    macro_rules! go {
        ($($v:ident),*) => {
            match &mut out {
                $(HostArray::$v(o) => {
                    for p in pieces {
                        let HostArray::$v(src) = inputs[p.slot] else { return Err("assemble inputs differ in dtype".into()) };
                        let s = region(src, &p.src_start, &p.shape);
                        o.slice_each_axis_mut(|ax| {
                            let k = ax.axis.index();
                            Slice::from(p.dst_start[k]..p.dst_start[k] + p.shape[k])
                        })
                        .assign(&s);
                    }
                })*
            }
        };
    }
    go!(Bool, I8, U8, I16, U16, U32, I32, I64, U64, F16, BF16, F32, F64, C64, C128);
    Ok(out)
}
