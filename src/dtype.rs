//! Data types, NumPy-style promotion, scalars and dtype-erased host arrays.
//!
//! Promotion (result of a binary op between two arrays) is NumPy 2's table, which
//! contains the array API standard's:
//!
//! - bool with anything gives the other dtype;
//! - two signed or two unsigned integers give the wider; a signed and an unsigned one
//!   give the signed one when it is wider, else the signed dtype twice the unsigned
//!   one's width (`i8 + u8 -> i16`, `i32 + u32 -> i64`), and `i* + u64 -> f64`;
//! - an integer with a float gives the float when it holds every value of the integer
//!   (`i8 + f16 -> f16`, `i16 + f32 -> f32`), else the next float that does
//!   (`i16 + f16 -> f32`, `i32 + f32 -> f64`);
//! - two floats give the wider (`f16 + bf16 -> f32`).
//!
//! As in NumPy 2 (NEP 50), a Rust scalar is "weak": `x_f32 * 2.0` stays f32 and
//! `x_i32 + 1` stays i32, but a float scalar with an integer array gives f64.
//! `f16 + bf16 -> f32` has no NumPy equivalent (NumPy has no bf16).

use half::{bf16, f16};
use ndarray::ArrayD;
pub use num_complex::{Complex32, Complex64};
use std::fmt;

/// Element type of an array.
///
/// ```
/// use tessera::DType;
/// assert_eq!(DType::F32.promote(DType::I32), DType::F64);
/// assert_eq!(DType::F32.size(), 4);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    /// `bool`.
    Bool,
    /// `i8`.
    I8,
    /// `u8`.
    U8,
    /// `i16`.
    I16,
    /// `u16`.
    U16,
    /// `i32`.
    I32,
    /// `u32`.
    U32,
    /// `i64`.
    I64,
    /// `u64`.
    U64,
    /// `f16`.
    F16,
    /// `bf16`.
    BF16,
    /// `f32`.
    F32,
    /// `f64`.
    F64,
    /// `complex64`: a pair of f32 (real, imaginary), interleaved in memory.
    C64,
    /// `complex128`: a pair of f64 (real, imaginary), interleaved in memory.
    C128,
}

impl DType {
    /// All dtypes, in promotion order.
    pub const ALL: [DType; 15] = [
        DType::Bool,
        DType::I8,
        DType::U8,
        DType::I16,
        DType::U16,
        DType::I32,
        DType::U32,
        DType::I64,
        DType::U64,
        DType::F16,
        DType::BF16,
        DType::F32,
        DType::F64,
        DType::C64,
        DType::C128,
    ];

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::Bool | DType::I8 | DType::U8 => 1,
            DType::I16 | DType::U16 | DType::F16 | DType::BF16 => 2,
            DType::U32 | DType::I32 | DType::F32 => 4,
            DType::I64 | DType::U64 | DType::F64 | DType::C64 => 8,
            DType::C128 => 16,
        }
    }

    /// True for complex64 and complex128.
    pub fn is_complex(self) -> bool {
        matches!(self, DType::C64 | DType::C128)
    }

    /// True for the real floats and the complex dtypes: what the standard calls
    /// "floating-point" (`isdtype(d, "real floating")` is [`DType::is_float`]).
    pub fn is_inexact(self) -> bool {
        self.is_float() || self.is_complex()
    }

    /// The real dtype of a complex one's parts (itself for the others).
    ///
    /// ```
    /// use tessera::DType;
    /// assert_eq!(DType::C64.real_part(), DType::F32);
    /// assert_eq!(DType::I32.real_part(), DType::I32);
    /// ```
    pub fn real_part(self) -> DType {
        match self {
            DType::C64 => DType::F32,
            DType::C128 => DType::F64,
            d => d,
        }
    }

    /// The complex dtype whose parts hold every value of `self`: complex64 for bool,
    /// 8- and 16-bit integers and floats up to f32, complex128 for the rest (NumPy's
    /// rule for `x + 0j`).
    ///
    /// ```
    /// use tessera::DType;
    /// assert_eq!(DType::F32.to_complex(), DType::C64);
    /// assert_eq!(DType::I32.to_complex(), DType::C128);
    /// ```
    pub fn to_complex(self) -> DType {
        match self {
            DType::C64 | DType::C128 => self,
            d => match d.math_float() {
                DType::F64 => DType::C128,
                _ => DType::C64,
            },
        }
    }

    /// True for f16, bf16, f32 and f64.
    pub fn is_float(self) -> bool {
        matches!(self, DType::F16 | DType::BF16 | DType::F32 | DType::F64)
    }

    /// True for the integer dtypes (signed and unsigned; not bool).
    pub fn is_int(self) -> bool {
        self.is_signed_int() || self.is_unsigned_int()
    }

    /// True for i8, i16, i32 and i64.
    pub fn is_signed_int(self) -> bool {
        matches!(self, DType::I8 | DType::I16 | DType::I32 | DType::I64)
    }

    /// True for u8, u16, u32 and u64.
    pub fn is_unsigned_int(self) -> bool {
        matches!(self, DType::U8 | DType::U16 | DType::U32 | DType::U64)
    }

    /// Integers narrower than 32 bits: the CPU computes them in i32 registers and
    /// wraps every result back to the width, as NumPy's own loops do.
    pub fn is_small_int(self) -> bool {
        matches!(self, DType::I8 | DType::U8 | DType::I16 | DType::U16)
    }

    /// The smallest and largest value of an integer dtype (`None` for bool and floats).
    ///
    /// ```
    /// use tessera::DType;
    /// assert_eq!(DType::I8.int_bounds(), Some((-128, 127)));
    /// assert_eq!(DType::U64.int_bounds(), Some((0, u64::MAX as i128)));
    /// ```
    pub fn int_bounds(self) -> Option<(i128, i128)> {
        let bits = 8 * self.size() as u32;
        if self.is_signed_int() {
            Some((-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1))
        } else if self.is_unsigned_int() {
            Some((0, (1i128 << bits) - 1))
        } else {
            None
        }
    }

    /// The signed integer dtype of `bytes` bytes (1, 2, 4 or 8).
    fn signed_of(bytes: usize) -> Option<DType> {
        match bytes {
            1 => Some(DType::I8),
            2 => Some(DType::I16),
            4 => Some(DType::I32),
            8 => Some(DType::I64),
            _ => None,
        }
    }

    /// The dtype of a binary op between arrays of `self` and `other`.
    pub fn promote(self, other: DType) -> DType {
        use DType::*;
        if self == other {
            return self;
        }
        let (a, b) = (self, other);
        match (a, b) {
            (Bool, x) | (x, Bool) => x,
            _ if a.is_int() && b.is_int() => {
                if a.is_signed_int() == b.is_signed_int() {
                    if a.size() >= b.size() {
                        a
                    } else {
                        b
                    }
                } else {
                    let (s, u) = if a.is_signed_int() { (a, b) } else { (b, a) };
                    if s.size() > u.size() {
                        s
                    } else {
                        DType::signed_of(2 * u.size()).unwrap_or(F64)
                    }
                }
            }
            // An integer with a float: the float when it holds all the integer's
            // values, else the next one that does.
            (i, f) | (f, i) if i.is_int() && f.is_float() => match (f, i.size()) {
                (F64, _) => F64,
                (F32, 1 | 2) => F32,
                (F16 | BF16, 1) => f,
                (F16 | BF16, 2) => F32,
                _ => F64,
            },
            (F16, BF16) | (BF16, F16) => F32,
            // Complex with anything: the complex dtype whose parts hold both
            // (c64 + f64 -> c128, c64 + i32 -> c128, c64 + i16 -> c64).
            (c, x) | (x, c) if c.is_complex() => {
                if c == C128 || x == C128 || x.to_complex() == C128 {
                    C128
                } else {
                    C64
                }
            }
            _ => {
                if a.size() >= b.size() {
                    a
                } else {
                    b
                }
            }
        }
    }

    /// The float dtype that `mean`, `var`, true division and a float Rust scalar give
    /// for `self`: itself for floats, f64 for integers and bool (NumPy's rule).
    pub fn to_float(self) -> DType {
        if self.is_inexact() {
            self
        } else {
            DType::F64
        }
    }

    /// The float dtype that math functions (`sqrt`, `exp`, `atan2`, ...) return for
    /// `self`: NumPy's smallest float holding every value (bool, i8, u8 -> f16;
    /// i16, u16 -> f32; wider integers -> f64).
    pub fn math_float(self) -> DType {
        match self {
            d if d.is_inexact() => d,
            DType::Bool | DType::I8 | DType::U8 => DType::F16,
            DType::I16 | DType::U16 => DType::F32,
            _ => DType::F64,
        }
    }

    /// The dtype `sum`, `prod` and the cumulative ones accumulate integers in by
    /// default: i64 for bool and signed integers, u64 for unsigned ones (NumPy's and
    /// the standard's rule).
    pub fn sum_dtype(self) -> DType {
        match self {
            d if d.is_inexact() => d,
            d if d.is_unsigned_int() => DType::U64,
            _ => DType::I64,
        }
    }

    /// The register type CPU kernels compute in (f16/bf16 compute in f32 and round;
    /// integers narrower than 32 bits compute in i32 and wrap back to their width).
    pub(crate) fn compute(self) -> DType {
        match self {
            DType::F16 | DType::BF16 => DType::F32,
            d if d.is_small_int() => DType::I32,
            d => d,
        }
    }

    /// NumPy's name for the dtype.
    pub fn name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::I8 => "int8",
            DType::U8 => "uint8",
            DType::I16 => "int16",
            DType::U16 => "uint16",
            DType::U64 => "uint64",
            DType::U32 => "uint32",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::F16 => "float16",
            DType::BF16 => "bfloat16",
            DType::F32 => "float32",
            DType::F64 => "float64",
            DType::C64 => "complex64",
            DType::C128 => "complex128",
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A single typed value; `Weak*` variants are untyped Rust literals (NEP 50).
///
/// ```
/// use tessera::{DType, Scalar};
/// assert_eq!(Scalar::from(2.0).dtype_with(DType::F32), DType::F32);
/// assert_eq!(Scalar::I32(3).as_f64(), 3.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar {
    /// A `bool` value.
    Bool(bool),
    /// An `i8` value.
    I8(i8),
    /// A `u8` value.
    U8(u8),
    /// An `i16` value.
    I16(i16),
    /// A `u16` value.
    U16(u16),
    /// A `u64` value.
    U64(u64),
    /// A `u32` value.
    U32(u32),
    /// A `i32` value.
    I32(i32),
    /// A `i64` value.
    I64(i64),
    /// A `f16` value.
    F16(f16),
    /// A `bf16` value.
    BF16(bf16),
    /// A `f32` value.
    F32(f32),
    /// A `f64` value.
    F64(f64),
    /// A `complex64` value.
    C64(Complex32),
    /// A `complex128` value.
    C128(Complex64),
    /// An untyped float literal: takes the array's float dtype.
    WeakFloat(f64),
    /// An untyped complex literal (Python's `1j`): takes the complex dtype of the
    /// array's float dtype (complex128 with integers), as NEP 50 says.
    WeakComplex(Complex64),
    /// An untyped integer literal: takes the array's dtype.
    WeakInt(i64),
}

impl Scalar {
    /// The dtype this scalar has on its own.
    pub fn dtype(self) -> DType {
        match self {
            Scalar::Bool(_) => DType::Bool,
            Scalar::I8(_) => DType::I8,
            Scalar::U8(_) => DType::U8,
            Scalar::I16(_) => DType::I16,
            Scalar::U16(_) => DType::U16,
            Scalar::U64(_) => DType::U64,
            Scalar::U32(_) => DType::U32,
            Scalar::I32(_) => DType::I32,
            Scalar::I64(_) | Scalar::WeakInt(_) => DType::I64,
            Scalar::F16(_) => DType::F16,
            Scalar::BF16(_) => DType::BF16,
            Scalar::F32(_) => DType::F32,
            Scalar::F64(_) | Scalar::WeakFloat(_) => DType::F64,
            Scalar::C64(_) => DType::C64,
            Scalar::C128(_) | Scalar::WeakComplex(_) => DType::C128,
        }
    }

    /// The dtype of `array op scalar` for an array of dtype `array`.
    pub fn dtype_with(self, array: DType) -> DType {
        match self {
            Scalar::WeakFloat(_) => array.to_float(),
            Scalar::WeakComplex(_) if array.is_inexact() => array.to_complex(),
            Scalar::WeakComplex(_) => DType::C128,
            Scalar::WeakInt(_) => {
                if array == DType::Bool {
                    DType::I64
                } else {
                    array
                }
            }
            s => s.dtype().promote(array),
        }
    }

    /// The value as a complex number (reals with a zero imaginary part).
    pub fn as_c64(self) -> Complex64 {
        match self {
            Scalar::C64(v) => Complex64::new(v.re as f64, v.im as f64),
            Scalar::C128(v) | Scalar::WeakComplex(v) => v,
            s => Complex64::new(s.as_f64(), 0.0),
        }
    }

    /// The value as f64 (bool → 0/1; a complex number's real part, as NumPy's
    /// `astype` keeps it).
    pub fn as_f64(self) -> f64 {
        match self {
            Scalar::Bool(b) => b as u8 as f64,
            Scalar::I8(v) => v as f64,
            Scalar::U8(v) => v as f64,
            Scalar::I16(v) => v as f64,
            Scalar::U16(v) => v as f64,
            Scalar::U64(v) => v as f64,
            Scalar::U32(v) => v as f64,
            Scalar::I32(v) => v as f64,
            Scalar::I64(v) | Scalar::WeakInt(v) => v as f64,
            Scalar::F16(v) => v.to_f64(),
            Scalar::BF16(v) => v.to_f64(),
            Scalar::F32(v) => v as f64,
            Scalar::F64(v) | Scalar::WeakFloat(v) => v,
            Scalar::C64(v) => v.re as f64,
            Scalar::C128(v) | Scalar::WeakComplex(v) => v.re,
        }
    }

    /// The value as i64 (floats truncate toward zero, as `astype` does; a u64 past
    /// `i64::MAX` wraps, keeping its bits).
    pub fn as_i64(self) -> i64 {
        match self {
            Scalar::Bool(b) => b as i64,
            Scalar::I8(v) => v as i64,
            Scalar::U8(v) => v as i64,
            Scalar::I16(v) => v as i64,
            Scalar::U16(v) => v as i64,
            Scalar::U64(v) => v as i64,
            Scalar::U32(v) => v as i64,
            Scalar::I32(v) => v as i64,
            Scalar::I64(v) | Scalar::WeakInt(v) => v,
            other => other.as_f64() as i64,
        }
    }

    /// This value converted to `dtype` (with `astype` semantics).
    pub fn cast(self, dtype: DType) -> Scalar {
        match dtype {
            DType::Bool => Scalar::Bool(if self.dtype().is_complex() {
                self.as_c64() != Complex64::new(0.0, 0.0)
            } else if self.dtype().is_float() {
                self.as_f64() != 0.0
            } else {
                self.as_i64() != 0
            }),
            DType::I8 => Scalar::I8(self.as_i64() as i8),
            DType::U8 => Scalar::U8(self.as_i64() as u8),
            DType::I16 => Scalar::I16(self.as_i64() as i16),
            DType::U16 => Scalar::U16(self.as_i64() as u16),
            // Floats saturate into u64's own range, not i64's.
            DType::U64 if self.dtype().is_float() => Scalar::U64(self.as_f64() as u64),
            DType::U64 => Scalar::U64(self.as_i64() as u64),
            DType::U32 => Scalar::U32(self.as_i64() as u32),
            DType::I32 => Scalar::I32(self.as_i64() as i32),
            DType::I64 => Scalar::I64(self.as_i64()),
            DType::F16 => Scalar::F16(f16::from_f64(self.as_f64())),
            DType::BF16 => Scalar::BF16(bf16::from_f64(self.as_f64())),
            DType::F32 => Scalar::F32(self.as_f64() as f32),
            DType::F64 => Scalar::F64(self.as_f64()),
            DType::C64 => {
                let v = self.as_c64();
                Scalar::C64(Complex32::new(v.re as f32, v.im as f32))
            }
            DType::C128 => Scalar::C128(self.as_c64()),
        }
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Bool(b) => write!(f, "{b}"),
            Scalar::U64(v) => write!(f, "{v}"),
            s if s.dtype().is_complex() => {
                let v = s.as_c64();
                write!(f, "({}{:+}j)", v.re, v.im)
            }
            s if s.dtype().is_float() => write!(f, "{}", s.as_f64()),
            s => write!(f, "{}", s.as_i64()),
        }
    }
}

macro_rules! scalar_from {
    ($($t:ty => $v:ident),*) => {$(
        impl From<$t> for Scalar { fn from(x: $t) -> Self { Scalar::$v(x.into()) } }
    )*};
}
scalar_from!(Complex32 => C64, Complex64 => WeakComplex, f64 => WeakFloat, i64 => WeakInt, i32 => WeakInt, bool => Bool, u32 => U32, f32 => F32, f16 => F16, bf16 => BF16, i8 => I8, u8 => U8, i16 => I16, u16 => U16, u64 => U64);

/// A Rust element type that an array can hold.
///
/// ```
/// use tessera::{DType, Element};
/// assert_eq!(<f32 as Element>::DTYPE, DType::F32);
/// ```
pub trait Element: Copy + Send + Sync + fmt::Debug + PartialEq + 'static {
    /// The matching dtype.
    const DTYPE: DType;
    /// Unwraps a host array of this element type.
    fn from_host(a: HostArray) -> Option<ArrayD<Self>>;
    /// Wraps an ndarray into a host array.
    fn into_host(a: ArrayD<Self>) -> HostArray;
    /// Converts to f64 (bool → 0/1) for comparisons in tests and reports.
    fn to_f64(self) -> f64;
}

/// An owned n-dimensional array of any supported dtype, living in host memory.
///
/// ```
/// use tessera::HostArray;
/// let h = HostArray::from(ndarray::arr1(&[1.0f32, 2.0]).into_dyn());
/// assert_eq!(h.dtype(), tessera::DType::F32);
/// assert_eq!(h.nbytes(), 8);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum HostArray {
    /// `bool` elements.
    Bool(ArrayD<bool>),
    /// `i8` elements.
    I8(ArrayD<i8>),
    /// `u8` elements.
    U8(ArrayD<u8>),
    /// `i16` elements.
    I16(ArrayD<i16>),
    /// `u16` elements.
    U16(ArrayD<u16>),
    /// `u64` elements.
    U64(ArrayD<u64>),
    /// `u32` elements.
    U32(ArrayD<u32>),
    /// `i32` elements.
    I32(ArrayD<i32>),
    /// `i64` elements.
    I64(ArrayD<i64>),
    /// `f16` elements.
    F16(ArrayD<f16>),
    /// `bf16` elements.
    BF16(ArrayD<bf16>),
    /// `f32` elements.
    F32(ArrayD<f32>),
    /// `f64` elements.
    F64(ArrayD<f64>),
    /// `complex64` elements.
    C64(ArrayD<Complex32>),
    /// `complex128` elements.
    C128(ArrayD<Complex64>),
}

/// Applies a generic expression to the ndarray inside a [`HostArray`].
#[macro_export]
#[doc(hidden)]
macro_rules! with_host {
    ($h:expr, $a:ident => $body:expr) => {
        match $h {
            $crate::HostArray::Bool($a) => $body,
            $crate::HostArray::I8($a) => $body,
            $crate::HostArray::U8($a) => $body,
            $crate::HostArray::I16($a) => $body,
            $crate::HostArray::U16($a) => $body,
            $crate::HostArray::U64($a) => $body,
            $crate::HostArray::U32($a) => $body,
            $crate::HostArray::I32($a) => $body,
            $crate::HostArray::I64($a) => $body,
            $crate::HostArray::F16($a) => $body,
            $crate::HostArray::BF16($a) => $body,
            $crate::HostArray::F32($a) => $body,
            $crate::HostArray::F64($a) => $body,
            $crate::HostArray::C64($a) => $body,
            $crate::HostArray::C128($a) => $body,
        }
    };
}

macro_rules! element {
    ($($t:ty => $v:ident, $f:expr);*) => {$(
        impl Element for $t {
            const DTYPE: DType = DType::$v;
            fn from_host(a: HostArray) -> Option<ArrayD<Self>> {
                match a { HostArray::$v(x) => Some(x), _ => None }
            }
            fn into_host(a: ArrayD<Self>) -> HostArray { HostArray::$v(a) }
            fn to_f64(self) -> f64 { let f: fn($t) -> f64 = $f; f(self) }
        }
        impl From<ArrayD<$t>> for HostArray { fn from(a: ArrayD<$t>) -> Self { HostArray::$v(a) } }
    )*};
}
element!(
    bool => Bool, |x| x as u8 as f64;
    i8 => I8, |x| x as f64;
    u8 => U8, |x| x as f64;
    i16 => I16, |x| x as f64;
    u16 => U16, |x| x as f64;
    u64 => U64, |x| x as f64;
    u32 => U32, |x| x as f64;
    i32 => I32, |x| x as f64;
    i64 => I64, |x| x as f64;
    f16 => F16, |x| x.to_f64();
    bf16 => BF16, |x| x.to_f64();
    f32 => F32, |x| x as f64;
    f64 => F64, |x| x;
    Complex32 => C64, |x| x.re as f64;
    Complex64 => C128, |x| x.re
);

impl HostArray {
    /// The element bytes in C order (bools one byte each), borrowed when the array is
    /// C-contiguous: what spill files and device buffers hold.
    ///
    /// ```
    /// use tessera::HostArray;
    /// let a = HostArray::from(ndarray::arr1(&[1.0f32, 2.0]).into_dyn());
    /// assert_eq!(a.element_bytes().len(), 8);
    /// ```
    pub fn element_bytes(&self) -> std::borrow::Cow<'_, [u8]> {
        use std::borrow::Cow;
        macro_rules! pod {
            ($x:expr) => {
                match $x.as_slice() {
                    Some(s) => Cow::Borrowed(bytemuck::cast_slice(s)),
                    None => Cow::Owned(
                        bytemuck::cast_slice(&$x.iter().copied().collect::<Vec<_>>()).to_vec(),
                    ),
                }
            };
        }
        match self {
            HostArray::Bool(x) => Cow::Owned(x.iter().map(|&b| b as u8).collect()),
            HostArray::I8(x) => pod!(x),
            HostArray::U8(x) => pod!(x),
            HostArray::I16(x) => pod!(x),
            HostArray::U16(x) => pod!(x),
            HostArray::U64(x) => pod!(x),
            HostArray::U32(x) => pod!(x),
            HostArray::I32(x) => pod!(x),
            HostArray::I64(x) => pod!(x),
            HostArray::F16(x) => pod!(x),
            HostArray::BF16(x) => pod!(x),
            HostArray::F32(x) => pod!(x),
            HostArray::F64(x) => pod!(x),
            HostArray::C64(x) => pod!(x),
            HostArray::C128(x) => pod!(x),
        }
    }

    /// The array of `shape` whose C-order element bytes are the first ones of `bytes`
    /// (bools one byte each): the inverse of [`HostArray::element_bytes`].
    ///
    /// ```
    /// use tessera::{DType, HostArray};
    /// let a = HostArray::from(ndarray::arr1(&[1.5f32, -2.0]).into_dyn());
    /// assert_eq!(HostArray::from_element_bytes(&a.element_bytes(), DType::F32, &[2]).unwrap(), a);
    /// ```
    pub fn from_element_bytes(
        bytes: &[u8],
        dtype: DType,
        shape: &[usize],
    ) -> std::result::Result<HostArray, String> {
        let n: usize = shape.iter().product();
        let need = n * dtype.size();
        if bytes.len() < need {
            return Err(format!(
                "{n} {dtype} elements need {need} bytes, {} came",
                bytes.len()
            ));
        }
        fn arr<T: bytemuck::Pod>(b: &[u8], shape: &[usize]) -> ArrayD<T> {
            let v = bytemuck::pod_collect_to_vec::<u8, T>(b);
            ArrayD::from_shape_vec(ndarray::IxDyn(shape), v).expect("sized by the shape")
        }
        let b = &bytes[..need];
        Ok(match dtype {
            DType::Bool => HostArray::Bool(arr::<u8>(b, shape).mapv(|v| v != 0)),
            DType::I8 => HostArray::I8(arr(b, shape)),
            DType::U8 => HostArray::U8(arr(b, shape)),
            DType::I16 => HostArray::I16(arr(b, shape)),
            DType::U16 => HostArray::U16(arr(b, shape)),
            DType::U64 => HostArray::U64(arr(b, shape)),
            DType::U32 => HostArray::U32(arr(b, shape)),
            DType::I32 => HostArray::I32(arr(b, shape)),
            DType::I64 => HostArray::I64(arr(b, shape)),
            DType::F16 => HostArray::F16(arr(b, shape)),
            DType::BF16 => HostArray::BF16(arr(b, shape)),
            DType::F32 => HostArray::F32(arr(b, shape)),
            DType::F64 => HostArray::F64(arr(b, shape)),
            DType::C64 => HostArray::C64(arr(b, shape)),
            DType::C128 => HostArray::C128(arr(b, shape)),
        })
    }

    /// The array of `shape` whose C-order element bytes `fill` writes (bools one byte
    /// each, 0 or 1): lets a copy from elsewhere (a device, a file) land in the array's
    /// own memory with no byte buffer between.
    ///
    /// ```
    /// use tessera::{DType, HostArray};
    /// let a = HostArray::from_element_fill(DType::F32, &[2], |b| {
    ///     b.copy_from_slice(bytemuck::cast_slice(&[1.5f32, -2.0]));
    ///     Ok::<(), String>(())
    /// })
    /// .unwrap();
    /// assert_eq!(a, HostArray::from(ndarray::arr1(&[1.5f32, -2.0]).into_dyn()));
    /// ```
    pub fn from_element_fill<E>(
        dtype: DType,
        shape: &[usize],
        fill: impl FnOnce(&mut [u8]) -> std::result::Result<(), E>,
    ) -> std::result::Result<HostArray, E> {
        fn arr<T: bytemuck::Pod, E>(
            shape: &[usize],
            fill: impl FnOnce(&mut [u8]) -> std::result::Result<(), E>,
        ) -> std::result::Result<ArrayD<T>, E> {
            let n: usize = shape.iter().product();
            let mut v = vec![T::zeroed(); n];
            fill(bytemuck::cast_slice_mut(&mut v))?;
            Ok(ArrayD::from_shape_vec(ndarray::IxDyn(shape), v).expect("sized by the shape"))
        }
        Ok(match dtype {
            DType::Bool => HostArray::Bool(arr::<u8, E>(shape, fill)?.mapv(|v| v != 0)),
            DType::I8 => HostArray::I8(arr(shape, fill)?),
            DType::U8 => HostArray::U8(arr(shape, fill)?),
            DType::I16 => HostArray::I16(arr(shape, fill)?),
            DType::U16 => HostArray::U16(arr(shape, fill)?),
            DType::U64 => HostArray::U64(arr(shape, fill)?),
            DType::U32 => HostArray::U32(arr(shape, fill)?),
            DType::I32 => HostArray::I32(arr(shape, fill)?),
            DType::I64 => HostArray::I64(arr(shape, fill)?),
            DType::F16 => HostArray::F16(arr(shape, fill)?),
            DType::BF16 => HostArray::BF16(arr(shape, fill)?),
            DType::F32 => HostArray::F32(arr(shape, fill)?),
            DType::F64 => HostArray::F64(arr(shape, fill)?),
            DType::C64 => HostArray::C64(arr(shape, fill)?),
            DType::C128 => HostArray::C128(arr(shape, fill)?),
        })
    }

    /// The dtype of the elements.
    pub fn dtype(&self) -> DType {
        match self {
            HostArray::Bool(_) => DType::Bool,
            HostArray::I8(_) => DType::I8,
            HostArray::U8(_) => DType::U8,
            HostArray::I16(_) => DType::I16,
            HostArray::U16(_) => DType::U16,
            HostArray::U64(_) => DType::U64,
            HostArray::U32(_) => DType::U32,
            HostArray::I32(_) => DType::I32,
            HostArray::I64(_) => DType::I64,
            HostArray::F16(_) => DType::F16,
            HostArray::BF16(_) => DType::BF16,
            HostArray::F32(_) => DType::F32,
            HostArray::F64(_) => DType::F64,
            HostArray::C64(_) => DType::C64,
            HostArray::C128(_) => DType::C128,
        }
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        with_host!(self, a => a.shape())
    }

    /// Bytes of element data.
    pub fn nbytes(&self) -> usize {
        self.len() * self.dtype().size()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        with_host!(self, a => a.len())
    }

    /// True when the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A zero-filled array.
    pub fn zeros(dtype: DType, shape: &[usize]) -> HostArray {
        match dtype {
            DType::Bool => HostArray::Bool(ArrayD::from_elem(shape, false)),
            DType::I8 => HostArray::I8(ArrayD::zeros(shape)),
            DType::U8 => HostArray::U8(ArrayD::zeros(shape)),
            DType::I16 => HostArray::I16(ArrayD::zeros(shape)),
            DType::U16 => HostArray::U16(ArrayD::zeros(shape)),
            DType::U64 => HostArray::U64(ArrayD::zeros(shape)),
            DType::U32 => HostArray::U32(ArrayD::zeros(shape)),
            DType::I32 => HostArray::I32(ArrayD::zeros(shape)),
            DType::I64 => HostArray::I64(ArrayD::zeros(shape)),
            DType::F16 => HostArray::F16(ArrayD::from_elem(shape, f16::ZERO)),
            DType::BF16 => HostArray::BF16(ArrayD::from_elem(shape, bf16::ZERO)),
            DType::F32 => HostArray::F32(ArrayD::zeros(shape)),
            DType::F64 => HostArray::F64(ArrayD::zeros(shape)),
            DType::C64 => HostArray::C64(ArrayD::zeros(shape)),
            DType::C128 => HostArray::C128(ArrayD::zeros(shape)),
        }
    }

    /// Converts every element to f64 (for tests and reports; complex numbers give
    /// their real part).
    pub fn to_f64(&self) -> ArrayD<f64> {
        with_host!(self, a => a.mapv(|v| v.to_f64()))
    }

    /// A C-contiguous copy (or the same array if it already is one).
    pub fn into_standard(self) -> HostArray {
        with_host!(self, a => if a.is_standard_layout() { a.into() } else { a.as_standard_layout().into_owned().into() })
    }
}
