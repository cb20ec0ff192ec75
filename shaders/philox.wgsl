// Philox 4x32-10, bit-identical to src/philox.rs. WGSL has no 64-bit integers, so the
// 32×32→64 multiply is split into 16-bit halves (Hacker's Delight, mulhu).

fn philox_mulhi(a: u32, b: u32) -> u32 {
    let a_lo = a & 0xffffu;
    let a_hi = a >> 16u;
    let b_lo = b & 0xffffu;
    let b_hi = b >> 16u;
    let t = a_hi * b_lo + ((a_lo * b_lo) >> 16u);
    let w1 = (t & 0xffffu) + a_lo * b_hi;
    return a_hi * b_hi + (t >> 16u) + (w1 >> 16u);
}

fn philox4x32(ctr: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    var x = ctr;
    var k = key;
    for (var round = 0u; round < 10u; round = round + 1u) {
        if (round > 0u) {
            k = vec2<u32>(k.x + 0x9E3779B9u, k.y + 0xBB67AE85u);
        }
        let hi0 = philox_mulhi(0xD2511F53u, x.x);
        let lo0 = 0xD2511F53u * x.x;
        let hi1 = philox_mulhi(0xCD9E8D57u, x.z);
        let lo1 = 0xCD9E8D57u * x.z;
        x = vec4<u32>(hi1 ^ x.y ^ k.x, lo1, hi0 ^ x.w ^ k.y, lo0);
    }
    return x;
}

// Uniform f32 in [0, 1): 23 mantissa bits under exponent 0, minus one (as on the CPU).
fn u01_f32(w: u32) -> f32 {
    return bitcast<f32>(0x3f800000u | (w >> 9u)) - 1.0;
}

// Uniform f32 of element `g` (four values per counter, stream 1).
fn random_uniform_f32(g: u32, seed: vec2<u32>) -> f32 {
    let r = philox4x32(vec4<u32>(g / 4u, 0u, 1u, 0u), seed);
    return u01_f32(r[g % 4u]);
}

// Uniform f64 in [0, 1) of element `g` (two values per counter, stream 0): the CPU's
// 52 mantissa bits (hi·2⁻³² + (lo >> 12)·2⁻⁵²), built from two exact products.
// Generated only where the adapter has f64 (the text mentions f64 only in here).
//F64 fn random_uniform_f64(g: u32, seed: vec2<u32>) -> f64 {
//F64     let r = philox4x32(vec4<u32>(g / 2u, 0u, 0u, 0u), seed);
//F64     let lane = 2u * (g % 2u);
//F64     return f64(r[lane]) * f64(bitcast<f32>(0x2f800000u)) + f64(r[lane + 1u] >> 12u) * f64(bitcast<f32>(0x25800000u));
//F64 }

// ln(m / 2^23) for 1 <= m <= 2^23: the same operations, in the same order, as
// `ln_u23` in src/philox.rs (so the bits agree; the device's log differs by ulps).
fn ln_u23(m: u32) -> f32 {
    let bits = bitcast<u32>(f32(m));
    let f1 = bitcast<f32>((bits & 0x7fffffu) | 0x3f800000u);
    let big = f1 > bitcast<f32>(0x3fb504f3u);
    let f = select(f1, f1 * 0.5, big);
    let e = (i32(bits >> 23u) - 127) + select(0, 1, big);
    let s = (f - 1.0) / (f + 1.0);
    let z = s * s;
    let p = 1.0 + z * (bitcast<f32>(0x3eaaaaabu) + z * (bitcast<f32>(0x3e4ccccdu) + z * (bitcast<f32>(0x3e124925u) + z * bitcast<f32>(0x3de38e39u))));
    let k = f32(e - 23);
    return k * bitcast<f32>(0x3f317200u) + (k * bitcast<f32>(0x35bfbe8eu) + 2.0 * s * p);
}

// cos(2 pi j / 2^23) for j < 2^23, as `cos_2pi_u23` in src/philox.rs.
fn cos_2pi_u23(j: u32) -> f32 {
    let r0 = i32(j & 0x1fffffu);
    let up = r0 >= 0x100000;
    let q = (j >> 21u) + select(0u, 1u, up);
    let r = select(r0, r0 - 0x200000, up);
    let x = f32(r) * bitcast<f32>(0x35000000u) * bitcast<f32>(0x3fc90fdbu);
    let x2 = x * x;
    let c = 1.0 + x2 * (bitcast<f32>(0xbf000000u) + x2 * (bitcast<f32>(0x3d2aaaabu) + x2 * (bitcast<f32>(0xbab60b61u) + x2 * bitcast<f32>(0x37d00d01u))));
    let s = x + x * (x2 * (bitcast<f32>(0xbe2aaaabu) + x2 * (bitcast<f32>(0x3c088889u) + x2 * (bitcast<f32>(0xb9500d01u) + x2 * bitcast<f32>(0x3638ef1du)))));
    // Quadrants 0..3 give cos, -sin, -cos, sin.
    let v = select(s, c, (q & 1u) == 0u);
    return select(v, -v, ((q + 1u) & 2u) != 0u);
}

// Standard normal f32 of element `g` (two values per counter, stream 3, Box–Muller),
// bit-identical to `normal_f32` in src/philox.rs.
fn random_normal_f32(g: u32, seed: vec2<u32>) -> f32 {
    let r = philox4x32(vec4<u32>(g / 2u, 0u, 3u, 0u), seed);
    let lane = g % 2u;
    let m = (1u << 23u) - (r[2u * lane] >> 9u);
    let t = 0.0 - 2.0 * ln_u23(m);
    return sqrt(t) * cos_2pi_u23(r[2u * lane + 1u] >> 9u);
}
