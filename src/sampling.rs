//! Exact samplers of the distributions beyond uniform and normal, each a pure function of
//! `(seed, global element index)`: counter-based, so the value of an element does not
//! depend on the chunking, the task order or the device.
//!
//! An element's draws come from Philox blocks whose counter holds the element index
//! (words 0 and 1), a stream per distribution and role (word 2) and an attempt number
//! (word 3). Rejection samplers (Marsaglia–Tsang gamma, Hörmann's PTRS Poisson and BTRS
//! binomial, Lemire's bounded integers) take a new block per attempt; the attempts are
//! capped far beyond what occurs (each accepts with probability above 0.5, so the cap of
//! 128 attempts is passed with probability below 2⁻¹²⁸), which keeps every element's work
//! bounded. Only the CPU runs these (the GPU backends decline them with a reason), so
//! every device gives the same bits.

use crate::kernel::Dist;
use crate::philox::{normal_f64, philox4x32, u01_f64};

/// Attempts before a rejection sampler gives its last candidate (never reached in
/// practice: see the module docs).
const ATTEMPTS: u32 = 128;

/// Streams (counter word 2) of the samplers; 0–3 belong to uniform and normal arrays.
const S_INTEGERS: u32 = 8;
const S_EXPONENTIAL: u32 = 9;
const S_GAMMA: u32 = 10;
const S_BETA_A: u32 = 11;
const S_BETA_B: u32 = 12;
const S_POISSON: u32 = 13;
const S_BINOMIAL: u32 = 14;

#[inline]
fn block(seed: u64, g: u64, stream: u32, attempt: u32) -> [u32; 4] {
    philox4x32(
        [g as u32, (g >> 32) as u32, stream, attempt],
        [seed as u32, (seed >> 32) as u32],
    )
}

/// Two uniforms in `[0, 1)` from one block.
#[inline]
fn uniforms(seed: u64, g: u64, stream: u32, attempt: u32) -> (f64, f64) {
    let r = block(seed, g, stream, attempt);
    (u01_f64(r[0], r[1]), u01_f64(r[2], r[3]))
}

/// `ln Γ(x)` for `x > 0`: Stirling's series after shifting `x` to 7 or above (the
/// coefficients are the Bernoulli terms `B₂ₖ / (2k (2k − 1))`), good to about 1e-15
/// relative — what the rejection tests of PTRS and BTRS compare against.
fn lgamma(x: f64) -> f64 {
    const A: [f64; 10] = [
        8.333_333_333_333_333e-2,
        -2.777_777_777_777_778e-3,
        7.936_507_936_507_937e-4,
        -5.952_380_952_380_952e-4,
        8.417_508_417_508_418e-4,
        -1.917_526_917_526_918e-3,
        6.410_256_410_256_41e-3,
        -2.955_065_359_477_124e-2,
        1.796_443_723_688_307e-1,
        -1.392_432_216_905_9,
    ];
    if x == 1.0 || x == 2.0 {
        return 0.0;
    }
    let shift = if x < 7.0 { (7.0 - x).floor() } else { 0.0 };
    let mut x0 = x + shift;
    let x2 = 1.0 / (x0 * x0);
    let series = A.iter().rev().fold(0.0, |acc, &a| acc * x2 + a);
    let mut gl = series / x0 + 0.5 * std::f64::consts::TAU.ln() + (x0 - 0.5) * x0.ln() - x0;
    for _ in 0..shift as usize {
        x0 -= 1.0;
        gl -= x0.ln();
    }
    gl
}

/// The value of element `g` of a random array of `dist` keyed by `seed`.
///
/// ```
/// use tessera::kernel::Dist;
/// let d = Dist::Integers { low: 5, high: 8 };
/// let v: Vec<f64> = (0..100).map(|g| tessera::sampling::sample(d, 7, g)).collect();
/// assert!(v.iter().all(|&x| (5.0..8.0).contains(&x) && x.fract() == 0.0));
/// assert_eq!(tessera::sampling::sample(d, 7, 42), v[42]);
/// ```
pub fn sample(dist: Dist, seed: u64, g: u64) -> f64 {
    match dist {
        Dist::Uniform { low, high } => {
            let r = block(seed, g / 2, 0, 0);
            let u = if g.is_multiple_of(2) {
                u01_f64(r[0], r[1])
            } else {
                u01_f64(r[2], r[3])
            };
            low + (high - low) * u
        }
        Dist::Normal { mean, std } => mean + std * normal_f64(block(seed, g, 2, 0)),
        Dist::Integers { low, high } => integers(seed, g, low, high) as f64,
        Dist::Exponential { scale } => {
            let (u, _) = uniforms(seed, g, S_EXPONENTIAL, 0);
            // 1 - u is in (0, 1]: the log is finite.
            -(1.0 - u).ln() * scale
        }
        Dist::Gamma { shape, scale } => gamma(seed, g, S_GAMMA, shape) * scale,
        Dist::Beta { a, b } => {
            let x = gamma(seed, g, S_BETA_A, a);
            let y = gamma(seed, g, S_BETA_B, b);
            if x + y > 0.0 {
                x / (x + y)
            } else {
                // Both underflowed (tiny shapes): the mass sits at 0 and 1 in proportion.
                let (u, _) = uniforms(seed, g, S_BETA_A, ATTEMPTS + 1);
                if u * (a + b) < a {
                    1.0
                } else {
                    0.0
                }
            }
        }
        Dist::Poisson { lam } => poisson(seed, g, lam),
        Dist::Binomial { n, p } => binomial(seed, g, n, p),
    }
}

/// A uniform integer in `[low, high)`: Lemire's multiply-shift on 64 random bits with
/// rejection of the biased remainder, so every value is exactly equally likely.
fn integers(seed: u64, g: u64, low: i64, high: i64) -> i64 {
    let range = high.wrapping_sub(low) as u64;
    if range == 0 {
        return low;
    }
    let threshold = range.wrapping_neg() % range;
    let mut last = 0u64;
    for attempt in 0..ATTEMPTS {
        let r = block(seed, g, S_INTEGERS, attempt);
        for x in [
            ((r[0] as u64) << 32) | r[1] as u64,
            ((r[2] as u64) << 32) | r[3] as u64,
        ] {
            let m = x as u128 * range as u128;
            last = (m >> 64) as u64;
            if (m as u64) >= threshold {
                return low.wrapping_add(last as i64);
            }
        }
    }
    low.wrapping_add(last as i64)
}

/// Gamma(`shape`, 1): Marsaglia and Tsang's squeeze for shape ≥ 1; below 1, Gamma(shape
/// + 1) times `U^(1/shape)` (their boost).
fn gamma(seed: u64, g: u64, stream: u32, shape: f64) -> f64 {
    if shape <= 0.0 {
        return 0.0;
    }
    if shape < 1.0 {
        let (u, _) = uniforms(seed, g, stream, 2 * ATTEMPTS);
        // 1 - u is in (0, 1]: never 0^(1/shape) from u = 1.
        return gamma(seed, g, stream, shape + 1.0) * (1.0 - u).powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    for attempt in 0..ATTEMPTS {
        let z = normal_f64(block(seed, g, stream, 2 * attempt));
        let v = 1.0 + c * z;
        if v <= 0.0 {
            continue;
        }
        let v = v * v * v;
        let (u, _) = uniforms(seed, g, stream, 2 * attempt + 1);
        let u = 1.0 - u;
        if u < 1.0 - 0.0331 * z * z * z * z || u.ln() < 0.5 * z * z + d * (1.0 - v + v.ln()) {
            return d * v;
        }
    }
    d
}

/// Poisson(`lam`): inversion by sequential search below 10, Hörmann's transformed
/// rejection (PTRS, 1993) above.
fn poisson(seed: u64, g: u64, lam: f64) -> f64 {
    if lam <= 0.0 {
        return 0.0;
    }
    if lam < 10.0 {
        let (u, _) = uniforms(seed, g, S_POISSON, 0);
        let mut p = (-lam).exp();
        let mut cdf = p;
        let mut k = 0.0;
        // The tail past lam + 40 sqrt(lam) + 40 holds no double's worth of mass.
        let cap = lam + 40.0 * lam.sqrt() + 40.0;
        while u >= cdf && k < cap {
            k += 1.0;
            p *= lam / k;
            cdf += p;
        }
        return k;
    }
    let slam = lam.sqrt();
    let loglam = lam.ln();
    let b = 0.931 + 2.53 * slam;
    let a = -0.059 + 0.02483 * b;
    let inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
    let vr = 0.9277 - 3.6224 / (b - 2.0);
    let mut k = lam.floor();
    for attempt in 0..ATTEMPTS {
        let (u, v) = uniforms(seed, g, S_POISSON, attempt + 1);
        let u = u - 0.5;
        let us = 0.5 - u.abs();
        k = ((2.0 * a / us + b) * u + lam + 0.43).floor();
        if us >= 0.07 && v <= vr {
            return k;
        }
        if k < 0.0 || (us < 0.013 && v > us) {
            continue;
        }
        if v.ln() + inv_alpha.ln() - (a / (us * us) + b).ln() <= -lam + k * loglam - lgamma(k + 1.0)
        {
            return k;
        }
    }
    k.max(0.0)
}

/// Binomial(`n`, `p`): by symmetry p ≤ ½; inversion (BINV) when `n p` < 10, Hörmann's
/// BTRS (1993) above.
fn binomial(seed: u64, g: u64, n: u64, p: f64) -> f64 {
    if n == 0 || p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return n as f64;
    }
    if p > 0.5 {
        return n as f64 - binomial(seed, g, n, 1.0 - p);
    }
    let nf = n as f64;
    let q = 1.0 - p;
    if nf * p < 10.0 {
        let (mut u, _) = uniforms(seed, g, S_BINOMIAL, 0);
        let s = p / q;
        let a = (nf + 1.0) * s;
        let mut r = q.powf(nf);
        let mut k = 0.0;
        while u > r && k < nf {
            u -= r;
            k += 1.0;
            r *= a / k - s;
        }
        return k;
    }
    let spq = (nf * p * q).sqrt();
    let b = 1.15 + 2.53 * spq;
    let a = -0.0873 + 0.0248 * b + 0.01 * p;
    let c = nf * p + 0.5;
    let vr = 0.92 - 4.2 / b;
    let alpha = (2.83 + 5.1 / b) * spq;
    let lpq = (p / q).ln();
    let m = ((nf + 1.0) * p).floor();
    let h = lgamma(m + 1.0) + lgamma(nf - m + 1.0);
    let mut k = m;
    for attempt in 0..ATTEMPTS {
        let (u, v) = uniforms(seed, g, S_BINOMIAL, attempt + 1);
        let u = u - 0.5;
        let us = 0.5 - u.abs();
        k = ((2.0 * a / us + b) * u + c).floor();
        if k < 0.0 || k > nf {
            continue;
        }
        if us >= 0.07 && v <= vr {
            return k;
        }
        let v = (v * alpha / (a / (us * us) + b)).ln();
        if v <= h - lgamma(k + 1.0) - lgamma(nf - k + 1.0) + (k - m) * lpq {
            return k;
        }
    }
    k.clamp(0.0, nf)
}
