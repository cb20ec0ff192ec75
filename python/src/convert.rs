//! NumPy arrays in and out. Inputs of any layout (Fortran order, strided views,
//! read-only) are read through their strides; results are C-ordered NumPy arrays that
//! own their memory (no copy: the engine's buffer becomes the array's).

use half::{bf16, f16};
use ndarray::ArrayD;
use numpy::{PyArrayDyn, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use tessera::{DType, HostArray};

/// Reads a NumPy array (native byte order; the Python layer normalises that) into an
/// engine host array. `bfloat16_bits` marks a uint16 array that holds bfloat16 bits.
pub fn host_from_numpy(a: &Bound<'_, PyUntypedArray>, bfloat16_bits: bool) -> PyResult<HostArray> {
    fn read<T: numpy::Element + Clone>(a: &Bound<'_, PyUntypedArray>) -> Option<ArrayD<T>> {
        let t = a.cast::<PyArrayDyn<T>>().ok()?;
        let ro = t.try_readonly().ok()?;
        Some(ro.as_array().as_standard_layout().into_owned())
    }
    if bfloat16_bits {
        if let Some(bits) = read::<u16>(a) {
            return Ok(HostArray::BF16(bits.mapv(bf16::from_bits)));
        }
    }
    macro_rules! try_as {
        ($($t:ty => $v:ident),*) => {$(
            if let Some(x) = read::<$t>(a) {
                return Ok(HostArray::$v(x));
            }
        )*};
    }
    try_as!(
        f64 => F64, f32 => F32, f16 => F16, i64 => I64, i32 => I32, u32 => U32, bool => Bool,
        i8 => I8, u8 => U8, i16 => I16, u16 => U16, u64 => U64,
        numpy::Complex32 => C64, numpy::Complex64 => C128
    );
    let name = a.dtype().to_string();
    Err(PyTypeError::new_err(format!(
        "from_array: NumPy dtype {name} is not one Tessera has; {}",
        nearest(&name)
    )))
}

/// Which dtype to convert to instead, for a NumPy dtype the engine lacks.
pub fn nearest(name: &str) -> String {
    let to = match name {
        "float128" | "longdouble" => "float64",
        "complex256" | "clongdouble" => "complex128",
        n if n.starts_with("<U") || n.starts_with("|S") || n == "object" => {
            return format!("Tessera arrays hold numbers; convert with astype('float64') or similar first (dtype {n})");
        }
        _ => "float64",
    };
    format!("the nearest it has is {to}: call .astype(...) on the NumPy array first")
}

/// An engine host array as a NumPy array (bfloat16 as its uint16 bits; the Python layer
/// views them as `ml_dtypes.bfloat16` when that package is present, else widens to
/// float32).
pub fn host_to_numpy<'py>(py: Python<'py>, h: HostArray) -> Bound<'py, PyAny> {
    match h.into_standard() {
        HostArray::Bool(a) => PyArrayDyn::from_owned_array(py, a).into_any(),
        HostArray::U32(a) => PyArrayDyn::from_owned_array(py, a).into_any(),
        HostArray::I8(a) => PyArrayDyn::from_owned_array(py, a).into_any(),
        HostArray::U8(a) => PyArrayDyn::from_owned_array(py, a).into_any(),
        HostArray::I16(a) => PyArrayDyn::from_owned_array(py, a).into_any(),
        HostArray::U16(a) => PyArrayDyn::from_owned_array(py, a).into_any(),
        HostArray::U64(a) => PyArrayDyn::from_owned_array(py, a).into_any(),
        HostArray::I32(a) => PyArrayDyn::from_owned_array(py, a).into_any(),
        HostArray::I64(a) => PyArrayDyn::from_owned_array(py, a).into_any(),
        HostArray::F16(a) => PyArrayDyn::<f16>::from_owned_array(py, a).into_any(),
        HostArray::BF16(a) => PyArrayDyn::from_owned_array(py, a.mapv(|v| v.to_bits())).into_any(),
        HostArray::F32(a) => PyArrayDyn::from_owned_array(py, a).into_any(),
        HostArray::F64(a) => PyArrayDyn::from_owned_array(py, a).into_any(),
        HostArray::C64(a) => PyArrayDyn::from_owned_array(py, a).into_any(),
        HostArray::C128(a) => PyArrayDyn::from_owned_array(py, a).into_any(),
    }
}

/// The engine dtype a NumPy/array-API name means.
pub fn dtype_from_name(name: &str) -> PyResult<DType> {
    DType::ALL
        .into_iter()
        .find(|d| d.name() == name)
        .ok_or_else(|| {
            PyTypeError::new_err(format!(
                "dtype {name} is not one Tessera has (it has bool, int8/16/32/64, uint8/16/32/64, float16, bfloat16, float32, float64, complex64, complex128); {}",
                nearest(name)
            ))
        })
}
