//! Philox 4x32-10, the counter-based generator behind every random array.
//!
//! Element `g` (global C-order index) of a random array is a pure function of
//! `(seed, g)`, so values do not depend on chunking, task order or device. Counter word 2
//! holds a stream number per (distribution, precision) so they never share bits.
//! Counters: uniform f64 uses pair `g / 2` (128 bits feed two values), uniform f32 uses
//! `g / 4`, normal f64 uses `g` (Box–Muller from four words), normal f32 uses `g / 2`.

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

/// One Philox 4x32-10 block: 128 random bits for a 128-bit counter and 64-bit key.
///
/// ```
/// // Known-answer vector of Random123.
/// let r = tessera::philox::philox4x32([0; 4], [0; 2]);
/// assert_eq!(r, [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
/// ```
#[inline(always)]
pub fn philox4x32(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let [mut x0, mut x1, mut x2, mut x3] = ctr;
    let [mut k0, mut k1] = key;
    for round in 0..10 {
        if round > 0 {
            k0 = k0.wrapping_add(W0);
            k1 = k1.wrapping_add(W1);
        }
        let p0 = (M0 as u64) * (x0 as u64);
        let p1 = (M1 as u64) * (x2 as u64);
        let n0 = ((p1 >> 32) as u32) ^ x1 ^ k0;
        let n2 = ((p0 >> 32) as u32) ^ x3 ^ k1;
        x1 = p1 as u32;
        x3 = p0 as u32;
        x0 = n0;
        x2 = n2;
    }
    [x0, x1, x2, x3]
}

const LANES: usize = 16;

/// Philox for the 16 consecutive counters `first..first+16` (64-bit counter in words 0
/// and 1, `stream` in word 2). Lane-wise so LLVM vectorises the 32×32→64 multiplies.
#[inline(always)]
fn philox16(seed: u64, stream: u32, first: u64) -> [[u32; LANES]; 4] {
    // State words live in the low halves of u64 lanes: the 32×32→64 multiply then needs
    // no widening or narrowing shuffles (vpmuludq reads the low halves directly).
    const LO: u64 = 0xFFFF_FFFF;
    let mut x0 = [0u64; LANES];
    let mut x1 = [0u64; LANES];
    let mut x2 = [stream as u64; LANES];
    let mut x3 = [0u64; LANES];
    for i in 0..LANES {
        let c = first + i as u64;
        x0[i] = c & LO;
        x1[i] = c >> 32;
    }
    let (mut k0, mut k1) = (seed as u32, (seed >> 32) as u32);
    for round in 0..10 {
        if round > 0 {
            k0 = k0.wrapping_add(W0);
            k1 = k1.wrapping_add(W1);
        }
        let (kk0, kk1) = (k0 as u64, k1 as u64);
        for i in 0..LANES {
            let p0 = (M0 as u64) * (x0[i] & LO);
            let p1 = (M1 as u64) * (x2[i] & LO);
            let n0 = (p1 >> 32) ^ x1[i] ^ kk0;
            let n2 = (p0 >> 32) ^ x3[i] ^ kk1;
            // Only the low 32 bits of every word are ever read (the multiplies mask their
            // inputs, the output truncates), so the high halves may hold garbage.
            x1[i] = p1;
            x3[i] = p0;
            x0[i] = n0;
            x2[i] = n2;
        }
    }
    let mut out = [[0u32; LANES]; 4];
    for i in 0..LANES {
        out[0][i] = x0[i] as u32;
        out[1][i] = x1[i] as u32;
        out[2][i] = x2[i] as u32;
        out[3][i] = x3[i] as u32;
    }
    out
}

/// Fills `out[i]` with the value of element `g0 + i`, where counter `c` yields the
/// `PER` values of elements `c·PER .. c·PER + PER` through `f`.
#[inline(always)]
fn fill_generic<T: Copy + Default, const PER: usize>(
    seed: u64,
    stream: u32,
    g0: u64,
    out: &mut [T],
    f: impl Fn([u32; 4]) -> [T; PER],
) {
    if out.is_empty() {
        return;
    }
    let end = g0 + out.len() as u64;
    let mut c = g0 / PER as u64;
    let mut tmp = [[T::default(); PER]; LANES];
    while c * (PER as u64) < end {
        let x = philox16(seed, stream, c);
        for k in 0..LANES {
            tmp[k] = f([x[0][k], x[1][k], x[2][k], x[3][k]]);
        }
        let flat = tmp.as_flattened();
        let first = c * PER as u64;
        let lo = first.max(g0);
        let hi = (first + (LANES * PER) as u64).min(end);
        out[(lo - g0) as usize..(hi - g0) as usize]
            .copy_from_slice(&flat[(lo - first) as usize..(hi - first) as usize]);
        c += LANES as u64;
    }
}

use crate::multiversion::multiversion;

multiversion! {
    /// Uniform f64 values `low + scale·u` for elements `g0..g0+out.len()` (two per counter).
    pub fn fill_uniform_f64(seed: u64, stream: u32, g0: u64, out: &mut [f64], low: f64, scale: f64) {
        fill_generic::<f64, 2>(seed, stream, g0, out, |r| [low + scale * u01_f64(r[0], r[1]), low + scale * u01_f64(r[2], r[3])])
    }
}

multiversion! {
    /// Uniform f32 values (four per counter).
    pub fn fill_uniform_f32(seed: u64, stream: u32, g0: u64, out: &mut [f32], low: f32, scale: f32) {
        fill_generic::<f32, 4>(seed, stream, g0, out, |r| r.map(|w| low + scale * u01_f32(w)))
    }
}

multiversion! {
    /// Normal f64 values `mean + std·z` (one per counter, Box–Muller).
    pub fn fill_normal_f64(seed: u64, stream: u32, g0: u64, out: &mut [f64], mean: f64, std: f64) {
        fill_generic::<f64, 1>(seed, stream, g0, out, |r| [mean + std * normal_f64(r)])
    }
}

multiversion! {
    /// Normal f32 values (two per counter, Box–Muller in f32).
    pub fn fill_normal_f32(seed: u64, stream: u32, g0: u64, out: &mut [f32], mean: f32, std: f32) {
        fill_generic::<f32, 2>(seed, stream, g0, out, |r| [mean + std * normal_f32(r[0], r[1]), mean + std * normal_f32(r[2], r[3])])
    }
}

/// Uniform f64 in [0, 1) from two words: 52 random mantissa bits under exponent 0,
/// minus one. Exact on every IEEE device and vectorisable without u64→f64 converts.
#[inline(always)]
pub fn u01_f64(hi: u32, lo: u32) -> f64 {
    f64::from_bits(0x3FF0_0000_0000_0000 | ((hi as u64) << 20) | (lo as u64 >> 12)) - 1.0
}

/// Uniform f32 in [0, 1) from one word: 23 mantissa bits, as for f64.
#[inline(always)]
pub fn u01_f32(w: u32) -> f32 {
    f32::from_bits(0x3F80_0000 | (w >> 9)) - 1.0
}

/// Standard normal f64 for element `g` (Box–Muller on the four words of counter `g`).
#[inline(always)]
pub fn normal_f64(r: [u32; 4]) -> f64 {
    let u1 = 1.0 - u01_f64(r[0], r[1]);
    let u2 = u01_f64(r[2], r[3]);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Standard normal f32 from two words (Box–Muller in f32), bit-identical on every
/// device: `ln` and `cos` are computed here and in `shaders/philox.wgsl` by one fixed
/// sequence of correctly rounded f32 operations (+ − × ÷ √) on exact range reductions,
/// since the math libraries of the CPU and of shader compilers differ by ulps.
#[inline(always)]
pub fn normal_f32(a: u32, b: u32) -> f32 {
    // u1 = 1 - u01(a) = m / 2^23 and u2 = j / 2^23, exactly.
    let m = (1u32 << 23) - (a >> 9);
    let r = 0.0 - 2.0 * ln_u23(m);
    r.sqrt() * cos_2pi_u23(b >> 9)
}

/// `ln(m / 2^23)` for `1 ≤ m ≤ 2^23`: `m = 2^e·f` with `f` in `[√½, √2)` (exact), then
/// `ln f = 2 atanh(s)`, `s = (f − 1)/(f + 1)`, to the `s⁹` term (|s| ≤ 0.172).
#[inline(always)]
fn ln_u23(m: u32) -> f32 {
    let c = |bits: u32| f32::from_bits(bits);
    // m is exact in f32: its exponent is e and its mantissa under exponent 0 is f.
    // Bit operations and selects, no branches, so that the fill loop vectorises.
    let bits = (m as i32 as f32).to_bits();
    let f = f32::from_bits((bits & 0x7f_ffff) | 0x3f80_0000);
    let big = f > c(0x3fb5_04f3);
    let f = if big { f * 0.5 } else { f };
    let e = ((bits >> 23) as i32 - 127) + big as i32;
    let s = (f - 1.0) / (f + 1.0);
    let z = s * s;
    let p = 1.0
        + z * (c(0x3eaa_aaab) + z * (c(0x3e4c_cccd) + z * (c(0x3e12_4925) + z * c(0x3de3_8e39))));
    let k = (e - 23) as f32;
    // ln 2 in two parts: k·hi is exact (hi has 16 bits, |k| ≤ 23).
    k * c(0x3f31_7200) + (k * c(0x35bf_be8e) + 2.0 * s * p)
}

/// `cos(2π j / 2^23)` for `j < 2^23`: the quadrant and a remainder in `[−π/4, π/4)`
/// from integer arithmetic (exact), then the Taylor polynomials of cos and sin.
#[inline(always)]
fn cos_2pi_u23(j: u32) -> f32 {
    let c = |bits: u32| f32::from_bits(bits);
    let r = (j & 0x1f_ffff) as i32;
    let up = r >= 0x10_0000;
    let q = (j >> 21) + up as u32;
    let r = if up { r - 0x20_0000 } else { r };
    let x = r as f32 * c(0x3500_0000) * c(0x3fc9_0fdb);
    let x2 = x * x;
    let cos = 1.0
        + x2 * (c(0xbf00_0000)
            + x2 * (c(0x3d2a_aaab) + x2 * (c(0xbab6_0b61) + x2 * c(0x37d0_0d01))));
    let sin = x + x
        * (x2
            * (c(0xbe2a_aaab)
                + x2 * (c(0x3c08_8889) + x2 * (c(0xb950_0d01) + x2 * c(0x3638_ef1d)))));
    // Quadrants 0..3 give cos, −sin, −cos, sin.
    let v = if q & 1 == 0 { cos } else { sin };
    if (q + 1) & 2 != 0 {
        -v
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_portable_ln_and_cos_are_within_two_ulp_of_f64() {
        let ulp = |v: f32| f32::from_bits(v.abs().to_bits() + 1) - v.abs();
        let mut worst = (0.0f64, 0.0f64);
        // Every m near the ends, and a stride through the middle.
        let ms = (1..5000u32)
            .chain(((1 << 23) - 5000)..=(1 << 23))
            .chain((0..(1 << 23)).step_by(997).map(|m| m + 1));
        for m in ms {
            let want = (m as f64 / (1u64 << 23) as f64).ln();
            let got = ln_u23(m);
            if want != 0.0 {
                let e = (got as f64 - want).abs() / ulp(want as f32) as f64;
                worst.0 = worst.0.max(e);
            } else {
                assert_eq!(got, 0.0);
            }
        }
        for j in (0..(1u32 << 23))
            .step_by(331)
            .chain([0, 1 << 20, 1 << 21, 3 << 21, (1 << 23) - 1])
        {
            let want = (std::f64::consts::TAU * j as f64 / (1u64 << 23) as f64).cos();
            let got = cos_2pi_u23(j) as f64;
            // Absolute, in ulps of 1: near the zeros of cos the argument's own rounding
            // dominates, as for any f32 cos of an f32 angle.
            worst.1 = worst.1.max((got - want).abs() / f32::EPSILON as f64);
        }
        eprintln!(
            "portable ln: {:.2} ulp, cos: {:.2} ulp of 1",
            worst.0, worst.1
        );
        assert!(
            worst.0 <= 2.0 && worst.1 <= 2.0,
            "ln {} ulp, cos {} ulp of 1",
            worst.0,
            worst.1
        );
    }

    #[test]
    fn known_answer_vectors() {
        assert_eq!(
            philox4x32([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]
        );
        assert_eq!(
            philox4x32(
                [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
                [0xa4093822, 0x299f31d0]
            ),
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]
        );
    }

    #[test]
    fn fills_match_scalar_definition() {
        let seed = 0x1234_5678_9abc_def0;
        for g0 in [0u64, 1, 5, (1 << 32) - 3] {
            let mut u = vec![0f64; 45];
            fill_uniform_f64(seed, 7, g0, &mut u, 0.0, 1.0);
            for (i, v) in u.iter().enumerate() {
                let g = g0 + i as u64;
                let c = g / 2;
                let r = philox4x32(
                    [c as u32, (c >> 32) as u32, 7, 0],
                    [0x9abc_def0, 0x1234_5678],
                );
                let e = if g.is_multiple_of(2) {
                    u01_f64(r[0], r[1])
                } else {
                    u01_f64(r[2], r[3])
                };
                assert_eq!(*v, e, "g = {g}");
            }
            let mut f = vec![0f32; 70];
            fill_uniform_f32(seed, 1, g0, &mut f, 0.0, 1.0);
            for (i, v) in f.iter().enumerate() {
                let g = g0 + i as u64;
                let c = g / 4;
                let r = philox4x32(
                    [c as u32, (c >> 32) as u32, 1, 0],
                    [0x9abc_def0, 0x1234_5678],
                );
                assert_eq!(*v, u01_f32(r[(g % 4) as usize]));
            }
        }
    }

    #[test]
    fn unit_interval_bounds() {
        assert_eq!(u01_f64(0, 0), 0.0);
        assert!(u01_f64(u32::MAX, u32::MAX) < 1.0);
        assert_eq!(u01_f32(0), 0.0);
        assert!(u01_f32(u32::MAX) < 1.0);
    }
}
