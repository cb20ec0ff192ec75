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

// Standard normal f32 of element `g` (two values per counter, stream 3, Box–Muller).
fn random_normal_f32(g: u32, seed: vec2<u32>) -> f32 {
    let r = philox4x32(vec4<u32>(g / 2u, 0u, 3u, 0u), seed);
    let lane = g % 2u;
    let u1 = 1.0 - u01_f32(r[2u * lane]);
    let u2 = u01_f32(r[2u * lane + 1u]);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
