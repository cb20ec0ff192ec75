// Philox 4x32-10, bit-identical to src/philox.rs and shaders/philox.wgsl: element `g` of
// a random array is a pure function of (seed, g), whatever the device or chunking.
// Counter words 0 and 1 hold the 64-bit block index, word 2 the stream of the
// (distribution, precision), as on the CPU.

__device__ __forceinline__ uint4 tsr_philox4x32(uint4 x, u32 k0, u32 k1) {
#pragma unroll
    for (int round = 0; round < 10; round++) {
        if (round > 0) {
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        u32 hi0 = __umulhi(0xD2511F53u, x.x), lo0 = 0xD2511F53u * x.x;
        u32 hi1 = __umulhi(0xCD9E8D57u, x.z), lo1 = 0xCD9E8D57u * x.z;
        x = make_uint4(hi1 ^ x.y ^ k0, lo1, hi0 ^ x.w ^ k1, lo0);
    }
    return x;
}

__device__ __forceinline__ uint4 tsr_philox_block(u64 block, u32 stream, u64 seed) {
    return tsr_philox4x32(make_uint4((u32)block, (u32)(block >> 32), stream, 0u),
                          (u32)seed, (u32)(seed >> 32));
}

__device__ __forceinline__ u32 tsr_word(uint4 r, u32 k) {
    return k == 0 ? r.x : k == 1 ? r.y : k == 2 ? r.z : r.w;
}

// Uniform f32 in [0, 1): 23 mantissa bits under exponent 0, minus one (stream 1, four
// values per block).
__device__ __forceinline__ float tsr_uniform_f32(u64 g, u64 seed) {
    uint4 r = tsr_philox_block(g / 4, 1u, seed);
    return __uint_as_float(0x3f800000u | (tsr_word(r, (u32)(g % 4)) >> 9)) - 1.0f;
}

// Uniform f64 in [0, 1): 52 bits from two words (stream 0, two values per block).
__device__ __forceinline__ double tsr_uniform_f64(u64 g, u64 seed) {
    uint4 r = tsr_philox_block(g / 2, 0u, seed);
    u32 lane = 2u * (u32)(g % 2);
    u64 hi = tsr_word(r, lane), lo = tsr_word(r, lane + 1);
    return __longlong_as_double((i64)(0x3FF0000000000000ull | (hi << 20) | (lo >> 12))) - 1.0;
}

// ln(m / 2^23) for 1 <= m <= 2^23: the operations of `ln_u23` in src/philox.rs, in
// the same order (the device's logf differs by ulps).
__device__ __forceinline__ float tsr_ln_u23(u32 m) {
    u32 bits = __float_as_uint((float)(int)m);
    float f = __uint_as_float((bits & 0x7fffffu) | 0x3f800000u);
    bool big = f > __uint_as_float(0x3fb504f3u);
    if (big) f = f * 0.5f;
    int e = ((int)(bits >> 23) - 127) + (big ? 1 : 0);
    float s = (f - 1.0f) / (f + 1.0f);
    float z = s * s;
    float p = 1.0f + z * (__uint_as_float(0x3eaaaaabu) + z * (__uint_as_float(0x3e4ccccdu) + z * (__uint_as_float(0x3e124925u) + z * __uint_as_float(0x3de38e39u))));
    float k = (float)(e - 23);
    return k * __uint_as_float(0x3f317200u) + (k * __uint_as_float(0x35bfbe8eu) + 2.0f * s * p);
}

// cos(2 pi j / 2^23) for j < 2^23, as `cos_2pi_u23` in src/philox.rs.
__device__ __forceinline__ float tsr_cos_2pi_u23(u32 j) {
    int r = (int)(j & 0x1fffffu);
    bool up = r >= 0x100000;
    u32 q = (j >> 21) + (up ? 1u : 0u);
    if (up) r = r - 0x200000;
    float x = (float)r * __uint_as_float(0x35000000u) * __uint_as_float(0x3fc90fdbu);
    float x2 = x * x;
    float c = 1.0f + x2 * (__uint_as_float(0xbf000000u) + x2 * (__uint_as_float(0x3d2aaaabu) + x2 * (__uint_as_float(0xbab60b61u) + x2 * __uint_as_float(0x37d00d01u))));
    float s = x + x * (x2 * (__uint_as_float(0xbe2aaaabu) + x2 * (__uint_as_float(0x3c088889u) + x2 * (__uint_as_float(0xb9500d01u) + x2 * __uint_as_float(0x3638ef1du)))));
    // Quadrants 0..3 give cos, -sin, -cos, sin.
    float v = (q & 1u) == 0u ? c : s;
    return ((q + 1u) & 2u) != 0u ? -v : v;
}

// Standard normal f32 (Box-Muller in f32, stream 3, two values per block).
__device__ __forceinline__ float tsr_normal_f32(u64 g, u64 seed) {
    uint4 r = tsr_philox_block(g / 2, 3u, seed);
    u32 lane = (u32)(g % 2);
    u32 m = (1u << 23) - (tsr_word(r, 2u * lane) >> 9);
    float t = 0.0f - 2.0f * tsr_ln_u23(m);
    return __fsqrt_rn(t) * tsr_cos_2pi_u23(tsr_word(r, 2u * lane + 1u) >> 9);
}
