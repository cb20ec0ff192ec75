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

/// Philox over consecutive counters `first..first+out.len()` (counter words 0 and 1 hold
/// the 64-bit counter). Written lane-wise so LLVM vectorises the 32×32→64 multiplies.
#[inline(always)]
fn philox_run_generic(seed: u64, stream: u32, first: u64, out: &mut [[u32; 4]]) {
    let key = [seed as u32, (seed >> 32) as u32];
    for (b, block) in out.chunks_mut(LANES).enumerate() {
        let base = first + (b * LANES) as u64;
        let mut x0 = [0u32; LANES];
        let mut x1 = [0u32; LANES];
        let mut x2 = [stream; LANES];
        let mut x3 = [0u32; LANES];
        for i in 0..LANES {
            let c = base + i as u64;
            x0[i] = c as u32;
            x1[i] = (c >> 32) as u32;
        }
        let (mut k0, mut k1) = (key[0], key[1]);
        for round in 0..10 {
            if round > 0 {
                k0 = k0.wrapping_add(W0);
                k1 = k1.wrapping_add(W1);
            }
            for i in 0..LANES {
                let p0 = (M0 as u64) * (x0[i] as u64);
                let p1 = (M1 as u64) * (x2[i] as u64);
                let n0 = ((p1 >> 32) as u32) ^ x1[i] ^ k0;
                let n2 = ((p0 >> 32) as u32) ^ x3[i] ^ k1;
                x1[i] = p1 as u32;
                x3[i] = p0 as u32;
                x0[i] = n0;
                x2[i] = n2;
            }
        }
        for (i, o) in block.iter_mut().enumerate() {
            *o = [x0[i], x1[i], x2[i], x3[i]];
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx2")]
unsafe fn philox_run_avx512(seed: u64, stream: u32, first: u64, out: &mut [[u32; 4]]) {
    philox_run_generic(seed, stream, first, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn philox_run_avx2(seed: u64, stream: u32, first: u64, out: &mut [[u32; 4]]) {
    philox_run_generic(seed, stream, first, out)
}

/// Fills `out[i] = philox(counter = [first + i (64 bits), stream, 0], key = seed)`, using
/// the widest SIMD the CPU offers (checked at run time).
pub fn philox_run(seed: u64, stream: u32, first: u64, out: &mut [[u32; 4]]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("avx512vl")
        {
            // SAFETY: the features the function is compiled for were detected above.
            return unsafe { philox_run_avx512(seed, stream, first, out) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: as above.
            return unsafe { philox_run_avx2(seed, stream, first, out) };
        }
    }
    philox_run_generic(seed, stream, first, out)
}

/// Uniform f64 in [0, 1) from two words (53 bits).
#[inline(always)]
pub fn u01_f64(hi: u32, lo: u32) -> f64 {
    ((((hi as u64) << 32) | lo as u64) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Uniform f32 in [0, 1) from one word (24 bits).
#[inline(always)]
pub fn u01_f32(w: u32) -> f32 {
    (w >> 8) as f32 * (1.0 / (1u32 << 24) as f32)
}

/// Standard normal f64 for element `g` (Box–Muller on the four words of counter `g`).
#[inline(always)]
pub fn normal_f64(r: [u32; 4]) -> f64 {
    let u1 = 1.0 - u01_f64(r[0], r[1]);
    let u2 = u01_f64(r[2], r[3]);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Standard normal f32 from two words (Box–Muller in f32).
#[inline(always)]
pub fn normal_f32(a: u32, b: u32) -> f32 {
    let u1 = 1.0 - u01_f32(a);
    let u2 = u01_f32(b);
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn run_matches_scalar() {
        let mut out = vec![[0u32; 4]; 37];
        philox_run(0x1234_5678_9abc_def0, 7, (1u64 << 32) - 5, &mut out);
        for (i, o) in out.iter().enumerate() {
            let c = (1u64 << 32) - 5 + i as u64;
            assert_eq!(
                *o,
                philox4x32(
                    [c as u32, (c >> 32) as u32, 7, 0],
                    [0x9abc_def0, 0x1234_5678]
                )
            );
        }
    }
}
