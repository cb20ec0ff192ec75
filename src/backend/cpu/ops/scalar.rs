//! One-element definitions of the ops whose meaning is more than one machine
//! instruction: NumPy's floor division and remainder (`npy_divmod`), `fmod`, shifts that
//! saturate at the width, `logaddexp`, `nextafter`, `fmax`/`fmin` and `sign`. The tile
//! loops in `regs` call them; the GPU code generators spell the same steps in
//! `backend/codegen.rs`, and the tests there and in `tests/` hold both to NumPy.

/// The float definitions, for `f32` and `f64`.
pub trait FloatDefs: Copy {
    /// `(floor(a / b), a mod b)` as NumPy's `npy_divmod`, for `b != 0`.
    fn divmod(self, b: Self) -> (Self, Self);
    /// NumPy's `floor_divide`, but for infinite operands the standard's `floor(a / b)`.
    fn floor_div(self, b: Self) -> Self;
    /// NumPy's `remainder` (the sign of the divisor).
    fn py_rem(self, b: Self) -> Self;
    /// NumPy's `logaddexp`.
    fn logaddexp(self, b: Self) -> Self;
    /// C's `nextafter`.
    fn next_after(self, b: Self) -> Self;
    /// NumPy's `fmax` (a NaN is ignored unless both are NaN).
    fn fmax(self, b: Self) -> Self;
    /// NumPy's `fmin`.
    fn fmin(self, b: Self) -> Self;
    /// NumPy's `sign` (±0 gives +0, NaN gives NaN).
    fn sign(self) -> Self;
    /// `atanh` within an ulp: Rust's f32 one (`ln_1p` of a quotient in f32) was measured
    /// 119 ulps off near ±1, so f32 goes through f64 and rounds once.
    fn atanh_close(self) -> Self;
}

macro_rules! float_defs {
    ($t:ident, $ln2:expr) => {
        impl FloatDefs for $t {
            #[inline]
            fn atanh_close(self) -> $t {
                (self as f64).atanh() as $t
            }
            #[inline]
            fn divmod(self, b: $t) -> ($t, $t) {
                let a = self;
                let mut m = a % b;
                let mut div = (a - m) / b;
                if m != 0.0 {
                    if (b < 0.0) != (m < 0.0) {
                        m += b;
                        div -= 1.0;
                    }
                } else {
                    m = (0.0 as $t).copysign(b);
                }
                let floordiv = if div != 0.0 {
                    let f = div.floor();
                    if div - f > 0.5 {
                        f + 1.0
                    } else {
                        f
                    }
                } else {
                    (0.0 as $t).copysign(a / b)
                };
                (floordiv, m)
            }
            #[inline]
            fn floor_div(self, b: $t) -> $t {
                if b == 0.0 {
                    self / b
                } else if self.is_infinite() || b.is_infinite() {
                    // The standard's answers: ±inf // finite is ±inf, finite // ±inf a
                    // signed zero (NumPy: NaN, and -1 for opposite signs).
                    (self / b).floor()
                } else {
                    self.divmod(b).0
                }
            }
            #[inline]
            fn py_rem(self, b: $t) -> $t {
                if b == 0.0 {
                    self % b
                } else {
                    self.divmod(b).1
                }
            }
            #[inline]
            fn logaddexp(self, b: $t) -> $t {
                let a = self;
                if a == b {
                    // Infinities of one sign, where a - b is NaN.
                    return a + $ln2;
                }
                let t = a - b;
                if t > 0.0 {
                    a + (-t).exp().ln_1p()
                } else if t <= 0.0 {
                    b + t.exp().ln_1p()
                } else {
                    t
                }
            }
            #[inline]
            fn next_after(self, b: $t) -> $t {
                let a = self;
                if a.is_nan() || b.is_nan() {
                    return $t::NAN;
                }
                if a == b {
                    return b;
                }
                if a == 0.0 {
                    return $t::from_bits(1).copysign(b);
                }
                let bits = a.to_bits();
                // Away from zero when moving toward b grows the magnitude.
                let away = (b > a) == (a > 0.0);
                $t::from_bits(if away { bits + 1 } else { bits - 1 })
            }
            #[inline]
            fn fmax(self, b: $t) -> $t {
                if self > b || b.is_nan() {
                    self
                } else {
                    b
                }
            }
            #[inline]
            fn fmin(self, b: $t) -> $t {
                if self < b || b.is_nan() {
                    self
                } else {
                    b
                }
            }
            #[inline]
            fn sign(self) -> $t {
                if self > 0.0 {
                    1.0
                } else if self < 0.0 {
                    -1.0
                } else if self == 0.0 {
                    0.0
                } else {
                    self
                }
            }
        }
    };
}
float_defs!(f64, std::f64::consts::LN_2);
float_defs!(f32, std::f32::consts::LN_2);

/// The integer definitions, for every integer register type.
pub trait IntDefs: Copy {
    /// NumPy's `floor_divide`: 0 for a zero divisor, `MIN // -1` wraps to `MIN`.
    fn floor_div(self, b: Self) -> Self;
    /// NumPy's `remainder` (the sign of the divisor; 0 for a zero divisor).
    fn py_rem(self, b: Self) -> Self;
    /// NumPy's `fmod` (the sign of the dividend; 0 for a zero divisor).
    fn fmod(self, b: Self) -> Self;
    /// `a << b`, 0 once `b` reaches the width or is negative.
    fn shl(self, b: Self) -> Self;
    /// `a >> b`, arithmetic for signed types: 0 or -1 once `b` reaches the width.
    fn shr(self, b: Self) -> Self;
    /// NumPy's `sign`.
    fn sign(self) -> Self;
}

macro_rules! int_defs {
    ($($t:ty),*) => {$(
        impl IntDefs for $t {
            #[inline]
            fn floor_div(self, b: $t) -> $t {
                if b == 0 {
                    return 0;
                }
                let q = self.wrapping_div(b);
                #[allow(unused_comparisons)]
                let opposite = (self < 0) != (b < 0);
                if opposite && self.wrapping_rem(b) != 0 {
                    q - 1
                } else {
                    q
                }
            }
            #[inline]
            fn py_rem(self, b: $t) -> $t {
                if b == 0 {
                    return 0;
                }
                let r = self.wrapping_rem(b);
                #[allow(unused_comparisons)]
                let opposite = (r < 0) != (b < 0);
                if r != 0 && opposite {
                    r.wrapping_add(b)
                } else {
                    r
                }
            }
            #[inline]
            fn fmod(self, b: $t) -> $t {
                if b == 0 {
                    0
                } else {
                    self.wrapping_rem(b)
                }
            }
            #[inline]
            fn shl(self, b: $t) -> $t {
                #[allow(unused_comparisons)]
                let out = b < 0 || b as u64 >= <$t>::BITS as u64;
                if out {
                    0
                } else {
                    self << b
                }
            }
            #[inline]
            fn shr(self, b: $t) -> $t {
                #[allow(unused_comparisons)]
                let out = b < 0 || b as u64 >= <$t>::BITS as u64;
                if out {
                    // All sign bits: -1 for a negative signed value, else 0.
                    self >> (<$t>::BITS - 1) >> 1
                } else {
                    self >> b
                }
            }
            #[inline]
            fn sign(self) -> $t {
                #[allow(unused_comparisons)]
                let neg = self < 0;
                if self > 0 {
                    1
                } else if neg {
                    (0 as $t).wrapping_sub(1)
                } else {
                    0
                }
            }
        }
    )*};
}
int_defs!(i64, i32, u32, u64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_follows_python_and_numpy() {
        // Python's // and % on ints and floats, as NumPy computes them.
        for (a, b, q, r) in [
            (7i64, 2, 3, 1),
            (-7, 2, -4, 1),
            (7, -2, -4, -1),
            (-7, -2, 3, -1),
        ] {
            assert_eq!((a.floor_div(b), a.py_rem(b)), (q, r), "{a} {b}");
            assert_eq!(
                ((a as f64).floor_div(b as f64), (a as f64).py_rem(b as f64)),
                (q as f64, r as f64)
            );
        }
        assert_eq!(IntDefs::fmod(-7i64, 2), -1);
        assert_eq!(
            (
                i64::MIN.floor_div(-1),
                i64::MIN.py_rem(-1),
                5i64.floor_div(0)
            ),
            (i64::MIN, 0, 0)
        );
        // Signed zeros: 0 // -1 is -0.0; -1 % inf keeps NumPy's answer (inf); with an
        // infinite operand the standard's floor(a / b).
        assert!(0.0f64.floor_div(-1.0).is_sign_negative());
        assert!(
            (-1.0f64).floor_div(f64::INFINITY) == 0.0
                && (-1.0f64).floor_div(f64::INFINITY).is_sign_negative()
        );
        assert_eq!(f64::INFINITY.floor_div(-2.0), f64::NEG_INFINITY);
        assert_eq!((-1.0f64).py_rem(f64::INFINITY), f64::INFINITY);
        assert!(1.0f64.floor_div(0.0).is_infinite() && 1.0f64.py_rem(0.0).is_nan());
    }

    #[test]
    fn shifts_saturate_and_bits_step() {
        assert_eq!(
            (1i64.shl(64), (-8i64).shr(100), 8u32.shr(40), (-8i32).shr(1)),
            (0, -1, 0, -4)
        );
        assert_eq!(1.0f64.next_after(2.0), 1.0 + f64::EPSILON);
        assert_eq!(0.0f32.next_after(-1.0), -f32::from_bits(1));
        assert_eq!((-1.0f64).next_after(0.0).to_bits(), (-1.0f64).to_bits() - 1);
        assert_eq!(f64::INFINITY.logaddexp(f64::INFINITY), f64::INFINITY);
        assert!((0.0f64.logaddexp(0.0) - std::f64::consts::LN_2).abs() < 1e-16);
        assert_eq!((f64::NAN.fmax(1.0), 1.0f64.fmin(f64::NAN)), (1.0, 1.0));
        assert_eq!(
            ((-0.0f64).sign().to_bits(), (-3i32).sign(), 7u32.sign()),
            (0, -1, 1)
        );
    }
}
