//! Reduction partials as GPU kernels leave them (parts one after another in the
//! accumulation dtype: see `kernels/reduce.cu` and the WGSL accumulators), turned into
//! the CPU's partial chunks, so a partial made on any device combines with any other.
// Used by the GPU backends only; a CPU-only build keeps it compiled and tested.
#![cfg_attr(not(any(feature = "wgpu", feature = "cuda")), allow(dead_code))]

use crate::dtype::{DType, HostArray};
use crate::kernel::{Chunk, Reduction};

/// The host chunk of a device partial of `red`: `bytes` hold `red.partial_parts()` parts
/// of `shape` elements of dtype `acc` (f32, f64 or i64), arg indices bit-cast into f32 or
/// converted to f64 / i64, `u32::MAX` meaning "none yet". Float parts become f64, integer
/// ones i64, and indices i64 (the sentinel becomes -1), as the CPU's partials are.
pub(crate) fn decode(
    bytes: &[u8],
    acc: DType,
    shape: &[usize],
    red: Reduction,
) -> Result<Chunk, String> {
    let parts = red.partial_parts();
    let m: usize = shape.iter().product();
    if bytes.len() < m * parts * acc.size() {
        return Err(format!(
            "a {} partial of {m} elements needs {} bytes, {} came back",
            red.name(),
            m * parts * acc.size(),
            bytes.len()
        ));
    }
    let dims = ndarray::IxDyn(shape);
    let arg = matches!(red, Reduction::ArgMin | Reduction::ArgMax);
    let index = |u: u64| if u == u32::MAX as u64 { -1 } else { u as i64 };
    let ints = |v: Vec<i64>| {
        ndarray::ArrayD::from_shape_vec(dims.clone(), v)
            .map(HostArray::I64)
            .map_err(|e| e.to_string())
    };
    let floats = |v: Vec<f64>| {
        ndarray::ArrayD::from_shape_vec(dims.clone(), v)
            .map(HostArray::F64)
            .map_err(|e| e.to_string())
    };
    let mut out = vec![];
    for p in 0..parts {
        let r = p * m..(p + 1) * m;
        let is_idx = p == 1 && arg;
        out.push(match acc {
            DType::I64 => {
                let v = &bytemuck::pod_collect_to_vec::<u8, i64>(bytes)[r];
                if is_idx {
                    ints(v.iter().map(|&x| index(x as u64)).collect())?
                } else {
                    ints(v.to_vec())?
                }
            }
            // Indices were stored as raw bits: read them as u32, not through floats.
            DType::F32 if is_idx => ints(
                bytemuck::pod_collect_to_vec::<u8, u32>(bytes)[r]
                    .iter()
                    .map(|&u| index(u as u64))
                    .collect(),
            )?,
            DType::F32 => floats(
                bytemuck::pod_collect_to_vec::<u8, f32>(bytes)[r]
                    .iter()
                    .map(|&v| v as f64)
                    .collect(),
            )?,
            DType::F64 => {
                let v = &bytemuck::pod_collect_to_vec::<u8, f64>(bytes)[r];
                if is_idx {
                    ints(v.iter().map(|&x| index(x as u64)).collect())?
                } else {
                    floats(v.to_vec())?
                }
            }
            other => return Err(format!("partials do not accumulate in {other}")),
        });
    }
    Ok(Chunk { parts: out })
}

/// Why `parts` — each a device buffer's (partial kind, dtype, shape) — cannot be merged
/// as partials of `red` accumulated in `acc`, or their common shape.
pub(crate) fn check_combine<'a>(
    parts: impl IntoIterator<Item = (Option<Reduction>, DType, &'a [usize])>,
    red: Reduction,
    acc: DType,
) -> Result<&'a [usize], String> {
    let mut shape = None;
    for (kind, dtype, s) in parts {
        let first = *shape.get_or_insert(s);
        if kind != Some(red) || dtype != acc || s != first {
            return Err("inputs are not device partials of this reduction".into());
        }
    }
    shape.ok_or_else(|| "nothing to combine".into())
}
