//! Running sums and products along an axis of one chunk, continuing from the previous
//! block's last slice: `out[i] = out[i - 1] ⊕ x[i]` in NumPy's order, so the result has
//! NumPy's bits whatever the chunking. f16 and bf16 round after every step, as NumPy's
//! half loops do.

use crate::dtype::HostArray;
use crate::kernel::ScanKind;
use half::{bf16, f16};
use ndarray::{ArrayD, Axis, Zip};
use num_complex::{Complex32, Complex64};

fn scan<T: Copy>(
    x: &ArrayD<T>,
    prev: Option<&ArrayD<T>>,
    axis: usize,
    f: impl Fn(T, T) -> T,
) -> ArrayD<T> {
    let mut out = x.as_standard_layout().into_owned();
    let n = out.shape()[axis];
    if n == 0 {
        return out;
    }
    if let Some(p) = prev.filter(|p| p.shape()[axis] > 0) {
        let last = p.index_axis(Axis(axis), p.shape()[axis] - 1);
        Zip::from(out.index_axis_mut(Axis(axis), 0))
            .and(&last)
            .for_each(|o, &c| *o = f(c, *o));
    }
    for i in 1..n {
        let (done, mut rest) = out.view_mut().split_at(Axis(axis), i);
        let before = done.index_axis(Axis(axis), i - 1);
        Zip::from(rest.index_axis_mut(Axis(axis), 0))
            .and(&before)
            .for_each(|o, &c| *o = f(c, *o));
    }
    out
}

/// The running `kind` of `x` along `axis`, continuing from `prev`'s last slice.
pub fn run(
    kind: ScanKind,
    x: &HostArray,
    prev: Option<&HostArray>,
    axis: usize,
) -> Result<HostArray, String> {
    macro_rules! go {
        ($v:ident, $add:expr, $mul:expr) => {{
            let HostArray::$v(x) = x else { unreachable!() };
            let prev = match prev {
                None => None,
                Some(HostArray::$v(p)) => Some(p),
                Some(_) => return Err("scan carry differs in dtype".into()),
            };
            HostArray::$v(match kind {
                ScanKind::Sum => scan(x, prev, axis, $add),
                ScanKind::Prod => scan(x, prev, axis, $mul),
            })
        }};
    }
    Ok(match x {
        HostArray::F64(_) => go!(F64, |a: f64, b| a + b, |a: f64, b| a * b),
        HostArray::F32(_) => go!(F32, |a: f32, b| a + b, |a: f32, b| a * b),
        HostArray::I64(_) => go!(I64, |a: i64, b| a.wrapping_add(b), |a: i64, b| a
            .wrapping_mul(b)),
        HostArray::I32(_) => go!(I32, |a: i32, b| a.wrapping_add(b), |a: i32, b| a
            .wrapping_mul(b)),
        HostArray::U32(_) => go!(U32, |a: u32, b| a.wrapping_add(b), |a: u32, b| a
            .wrapping_mul(b)),
        HostArray::U64(_) => go!(U64, |a: u64, b| a.wrapping_add(b), |a: u64, b| a
            .wrapping_mul(b)),
        HostArray::I16(_) => go!(I16, |a: i16, b| a.wrapping_add(b), |a: i16, b| a
            .wrapping_mul(b)),
        HostArray::U16(_) => go!(U16, |a: u16, b| a.wrapping_add(b), |a: u16, b| a
            .wrapping_mul(b)),
        HostArray::I8(_) => go!(I8, |a: i8, b| a.wrapping_add(b), |a: i8, b| a
            .wrapping_mul(b)),
        HostArray::U8(_) => go!(U8, |a: u8, b| a.wrapping_add(b), |a: u8, b| a
            .wrapping_mul(b)),
        HostArray::F16(_) => go!(
            F16,
            |a: f16, b: f16| f16::from_f32(a.to_f32() + b.to_f32()),
            |a: f16, b: f16| f16::from_f32(a.to_f32() * b.to_f32())
        ),
        HostArray::BF16(_) => go!(
            BF16,
            |a: bf16, b: bf16| bf16::from_f32(a.to_f32() + b.to_f32()),
            |a: bf16, b: bf16| bf16::from_f32(a.to_f32() * b.to_f32())
        ),
        HostArray::C64(_) => go!(C64, |a: Complex32, b| a + b, |a: Complex32, b| a * b),
        HostArray::C128(_) => go!(C128, |a: Complex64, b| a + b, |a: Complex64, b| a * b),
        HostArray::Bool(_) => {
            return Err("scan of booleans: the array layer casts them to int64".into())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seeded_scan_continues_the_previous_block() {
        let x = HostArray::F64(ndarray::arr2(&[[1.0, 2.0], [3.0, 4.0]]).into_dyn());
        let prev = HostArray::F64(ndarray::arr2(&[[0.0, 0.0], [10.0, 20.0]]).into_dyn());
        let HostArray::F64(o) = run(ScanKind::Sum, &x, Some(&prev), 0).unwrap() else {
            panic!()
        };
        assert_eq!(o.into_raw_vec_and_offset().0, vec![11.0, 22.0, 14.0, 26.0]);
        let HostArray::F64(o) = run(ScanKind::Prod, &x, None, 1).unwrap() else {
            panic!()
        };
        assert_eq!(o.into_raw_vec_and_offset().0, vec![1.0, 2.0, 3.0, 12.0]);
    }
}
