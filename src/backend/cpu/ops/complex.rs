//! One-element definitions of the complex functions, as NumPy's loops compute them
//! (`npy_math_complex.c` and `loops.c.src`): Smith's division, `expm1` and `log1p` by
//! their real parts, `log2`/`log10` by scaling `log`, `pow` by repeated squaring for
//! small integer exponents, `sign` as `z / |z|`. The elementary functions (`exp`, `log`,
//! `sqrt`, the trigonometric and hyperbolic functions and their inverses) are the C
//! library's (`csqrt`, `casinh`, ...): NumPy calls the same ones where the platform has
//! them, and they carry C99 Annex G's special values (signed zeros, infinities, NaN on
//! the branch cuts), which hand-written formulas get wrong at the edges. The tile loops
//! in `regs` call them.

use num_complex::{Complex, Complex32, Complex64};

// The C library's complex functions. `double _Complex` and `float _Complex` are passed
// and returned as a `#[repr(C)]` pair of reals on the System V and AArch64 ABIs, which
// `num_complex::Complex` is.
#[link(name = "m")]
extern "C" {
    fn cexp(z: Complex64) -> Complex64;
    fn clog(z: Complex64) -> Complex64;
    fn csqrt(z: Complex64) -> Complex64;
    fn cpow(a: Complex64, b: Complex64) -> Complex64;
    fn csin(z: Complex64) -> Complex64;
    fn ccos(z: Complex64) -> Complex64;
    fn csinh(z: Complex64) -> Complex64;
    fn ccosh(z: Complex64) -> Complex64;
    fn ctanh(z: Complex64) -> Complex64;
    fn casin(z: Complex64) -> Complex64;
    fn cacos(z: Complex64) -> Complex64;
    fn catan(z: Complex64) -> Complex64;
    fn casinh(z: Complex64) -> Complex64;
    fn cacosh(z: Complex64) -> Complex64;
    fn catanh(z: Complex64) -> Complex64;
    fn cexpf(z: Complex32) -> Complex32;
    fn clogf(z: Complex32) -> Complex32;
    fn csqrtf(z: Complex32) -> Complex32;
    fn cpowf(a: Complex32, b: Complex32) -> Complex32;
    fn csinf(z: Complex32) -> Complex32;
    fn ccosf(z: Complex32) -> Complex32;
    fn csinhf(z: Complex32) -> Complex32;
    fn ccoshf(z: Complex32) -> Complex32;
    fn ctanhf(z: Complex32) -> Complex32;
    fn casinf(z: Complex32) -> Complex32;
    fn cacosf(z: Complex32) -> Complex32;
    fn catanf(z: Complex32) -> Complex32;
    fn casinhf(z: Complex32) -> Complex32;
    fn cacoshf(z: Complex32) -> Complex32;
    fn catanhf(z: Complex32) -> Complex32;
}

/// The elementary functions of one complex number, by the C library.
pub trait Libm: Copy {
    /// `e^z`.
    fn c_exp(self) -> Self;
    /// The principal natural logarithm.
    fn c_log(self) -> Self;
    /// The principal square root.
    fn c_sqrt(self) -> Self;
    /// The principal value of `self ** b`.
    fn c_pow(self, b: Self) -> Self;
    /// Sine.
    fn c_sin(self) -> Self;
    /// Cosine.
    fn c_cos(self) -> Self;
    /// Tangent.
    fn c_tan(self) -> Self;
    /// Hyperbolic sine.
    fn c_sinh(self) -> Self;
    /// Hyperbolic cosine.
    fn c_cosh(self) -> Self;
    /// Hyperbolic tangent.
    fn c_tanh(self) -> Self;
    /// Inverse sine.
    fn c_asin(self) -> Self;
    /// Inverse cosine.
    fn c_acos(self) -> Self;
    /// Inverse tangent.
    fn c_atan(self) -> Self;
    /// Inverse hyperbolic sine.
    fn c_asinh(self) -> Self;
    /// Inverse hyperbolic cosine.
    fn c_acosh(self) -> Self;
    /// Inverse hyperbolic tangent.
    fn c_atanh(self) -> Self;
}

macro_rules! libm {
    ($t:ty, $($name:ident => $c:ident),*; $pow:ident, $tanh:ident) => {
        impl Libm for $t {
            // SAFETY (every call): pure C functions of values, no pointers.
            $(#[inline] fn $name(self) -> Self { unsafe { $c(self) } })*
            #[inline]
            fn c_pow(self, b: Self) -> Self {
                unsafe { $pow(self, b) }
            }
            /// C's, but `tanh(±∞ + iy)` for finite `y` is `±1 + i·copysign(0, y)` as the
            /// array API standard says (C99 gives the zero the sign of `sin 2y`).
            #[inline]
            fn c_tanh(self) -> Self {
                if self.re.is_infinite() && self.im.is_finite() {
                    return Self::new(self.re.signum(), self.im * 0.0);
                }
                unsafe { $tanh(self) }
            }
            /// `-i · tanh(i·z)`, the standard's definition (multiplying by `i` is exact).
            #[inline]
            fn c_tan(self) -> Self {
                let t = Self::new(-self.im, self.re).c_tanh();
                Self::new(t.im, -t.re)
            }
        }
    };
}
libm!(Complex64, c_exp => cexp, c_log => clog, c_sqrt => csqrt, c_sin => csin, c_cos => ccos,
    c_sinh => csinh, c_cosh => ccosh, c_asin => casin,
    c_acos => cacos, c_atan => catan, c_asinh => casinh, c_acosh => cacosh, c_atanh => catanh; cpow, ctanh);
libm!(Complex32, c_exp => cexpf, c_log => clogf, c_sqrt => csqrtf, c_sin => csinf, c_cos => ccosf,
    c_sinh => csinhf, c_cosh => ccoshf, c_asin => casinf,
    c_acos => cacosf, c_atan => catanf, c_asinh => casinhf, c_acosh => cacoshf, c_atanh => catanhf; cpowf, ctanhf);

/// The complex definitions, for `Complex<f32>` and `Complex<f64>`.
pub trait ComplexDefs: Copy {
    /// The real type of the parts.
    type Real: Copy;
    /// `a / b` by Smith's algorithm (no overflow of `|b|²`), as NumPy divides.
    fn smith_div(self, b: Self) -> Self;
    /// `|z|` without undue overflow (`hypot`).
    fn magnitude(self) -> Self::Real;
    /// The angle of `z` in `(-π, π]` (`atan2(im, re)`).
    fn angle(self) -> Self::Real;
    /// `z / |z|`, zero for zero (the array API standard's and NumPy 2's `sign`).
    fn sign(self) -> Self;
    /// `e^z - 1`, accurate for small real parts (NumPy's `nc_expm1`).
    fn expm1(self) -> Self;
    /// `ln(1 + z)` (NumPy's `nc_log1p`).
    fn log1p(self) -> Self;
    /// `log(z) · log2(e)` (NumPy's `nc_log2`).
    fn log2(self) -> Self;
    /// `log(z) · log10(e)` (NumPy's `nc_log10`).
    fn log10(self) -> Self;
    /// `a ** b` as NumPy's `nc_pow`: 1 for a zero exponent, 0 for a zero base with a
    /// positive real exponent, repeated squaring for integer exponents below 100 in
    /// magnitude, else `exp(b · log(a))`.
    fn pow(self, b: Self) -> Self;
    /// Both parts rounded half to even (NumPy's `round` of complex).
    fn round_parts(self) -> Self;
    /// Either part NaN.
    fn has_nan(self) -> bool;
    /// Either part infinite.
    fn has_inf(self) -> bool;
    /// Both parts finite.
    fn all_finite(self) -> bool;
}

macro_rules! complex_defs {
    ($t:ident) => {
        impl ComplexDefs for Complex<$t> {
            type Real = $t;

            #[inline]
            fn smith_div(self, b: Self) -> Self {
                let (ar, ai, br, bi) = (self.re, self.im, b.re, b.im);
                let (abs_br, abs_bi) = (br.abs(), bi.abs());
                if abs_br >= abs_bi {
                    if abs_br == 0.0 && abs_bi == 0.0 {
                        // A zero divisor gives a complex inf or NaN, as NumPy's.
                        Complex::new(ar / abs_br, ai / abs_br)
                    } else {
                        let rat = bi / br;
                        let scl = 1.0 / (br + bi * rat);
                        Complex::new((ar + ai * rat) * scl, (ai - ar * rat) * scl)
                    }
                } else {
                    let rat = br / bi;
                    let scl = 1.0 / (bi + br * rat);
                    Complex::new((ar * rat + ai) * scl, (ai * rat - ar) * scl)
                }
            }

            #[inline]
            fn magnitude(self) -> $t {
                self.re.hypot(self.im)
            }

            #[inline]
            fn angle(self) -> $t {
                self.im.atan2(self.re)
            }

            #[inline]
            fn sign(self) -> Self {
                if self.re == 0.0 && self.im == 0.0 {
                    Complex::new(0.0, 0.0)
                } else {
                    let m = self.magnitude();
                    Complex::new(self.re / m, self.im / m)
                }
            }

            #[inline]
            fn expm1(self) -> Self {
                if !self.re.is_finite() || !self.im.is_finite() {
                    // exp's special values, less one (the standard's table for expm1).
                    let e = self.c_exp();
                    return Complex::new(e.re - 1.0, e.im);
                }
                if self.im == 0.0 {
                    // Exact, and the standard's 0 + 0j for a zero of either sign.
                    let r = self.re.exp_m1();
                    return Complex::new(if r == 0.0 { 0.0 } else { r }, self.im);
                }
                let a = (self.im / 2.0).sin();
                Complex::new(
                    self.re.exp_m1() * self.im.cos() - 2.0 * a * a,
                    self.re.exp() * self.im.sin(),
                )
            }

            #[inline]
            fn log1p(self) -> Self {
                let l = (self.re + 1.0).hypot(self.im);
                Complex::new(l.ln(), self.im.atan2(self.re + 1.0))
            }

            #[inline]
            fn log2(self) -> Self {
                let l = self.c_log();
                let k = std::$t::consts::LOG2_E;
                Complex::new(l.re * k, l.im * k)
            }

            #[inline]
            fn log10(self) -> Self {
                let l = self.c_log();
                let k = std::$t::consts::LOG10_E;
                Complex::new(l.re * k, l.im * k)
            }

            fn pow(self, b: Self) -> Self {
                let one = Complex::new(1.0, 0.0);
                if b.re == 0.0 && b.im == 0.0 {
                    return one;
                }
                if self.re == 0.0 && self.im == 0.0 {
                    return if b.re > 0.0 && b.im == 0.0 {
                        Complex::new(0.0, 0.0)
                    } else {
                        Complex::new($t::NAN, $t::NAN)
                    };
                }
                if b.im == 0.0 && b.re == b.re.trunc() && b.re.abs() < 100.0 {
                    let n = b.re as i32;
                    let (mut base, mut k, mut acc) = (self, n.unsigned_abs(), one);
                    while k > 0 {
                        if k & 1 == 1 {
                            acc *= base;
                        }
                        base = base * base;
                        k >>= 1;
                    }
                    return if n < 0 { one.smith_div(acc) } else { acc };
                }
                self.c_pow(b)
            }

            #[inline]
            fn round_parts(self) -> Self {
                Complex::new(self.re.round_ties_even(), self.im.round_ties_even())
            }

            #[inline]
            fn has_nan(self) -> bool {
                self.re.is_nan() || self.im.is_nan()
            }

            #[inline]
            fn has_inf(self) -> bool {
                self.re.is_infinite() || self.im.is_infinite()
            }

            #[inline]
            fn all_finite(self) -> bool {
                self.re.is_finite() && self.im.is_finite()
            }
        }
    };
}
complex_defs!(f32);
complex_defs!(f64);

#[cfg(test)]
mod tests {
    use super::*;
    type C = Complex<f64>;

    #[test]
    fn smith_division_does_not_overflow_where_the_textbook_formula_does() {
        let big = 1e300;
        let q = C::new(big, big).smith_div(C::new(big, big));
        assert_eq!(q, C::new(1.0, 0.0));
        // The textbook (a·conj(b))/|b|² overflows |b|² to inf and gives NaN here.
        let z = C::new(1.0, 2.0).smith_div(C::new(3.0, -4.0));
        let want = C::new(-0.2, 0.4);
        assert!((z - want).norm() < 1e-15, "{z}");
        let inf = C::new(1.0, 1.0).smith_div(C::new(0.0, 0.0));
        assert!(inf.re.is_infinite() && inf.im.is_infinite());
    }

    #[test]
    fn integer_powers_are_repeated_products_and_the_rest_exp_log() {
        let z = C::new(1.0, 1.0);
        assert_eq!(z.pow(C::new(2.0, 0.0)), C::new(0.0, 2.0));
        assert_eq!(z.pow(C::new(0.0, 0.0)), C::new(1.0, 0.0));
        let inv = z.pow(C::new(-1.0, 0.0));
        assert!((inv - C::new(0.5, -0.5)).norm() < 1e-16);
        let half = C::new(-4.0, 0.0).pow(C::new(0.5, 0.0));
        assert!((half - C::new(0.0, 2.0)).norm() < 1e-15, "{half}");
        assert_eq!(C::new(0.0, 0.0).pow(C::new(2.5, 0.0)), C::new(0.0, 0.0));
        assert!(C::new(0.0, 0.0).pow(C::new(-1.0, 0.0)).has_nan());
    }

    #[test]
    fn expm1_and_log1p_keep_small_arguments_accurate() {
        let z = C::new(1e-12, 1e-12);
        let e = z.expm1();
        // exp(z) - 1 computed naively keeps only ~4 digits of the real part here.
        assert!(
            (e.re - 1e-12).abs() < 1e-26 && (e.im - 1e-12).abs() < 2e-24,
            "{e}"
        );
        let l = C::new(1.0, 0.0).log1p();
        assert!((l.re - 2f64.ln()).abs() < 1e-16 && l.im == 0.0);
        assert_eq!(C::new(0.0, 0.0).sign(), C::new(0.0, 0.0));
        assert!((C::new(3.0, 4.0).sign() - C::new(0.6, 0.8)).norm() < 1e-16);
    }
}
