// Shared by every Tessera CUDA kernel: storage types, narrow floats, NaN tests, wrapping
// integer arithmetic and conversions with the CPU's semantics. Kernels are compiled with
// NVRTC at run time from these files concatenated (common, philox, index, then the
// family's file and the generated part) and `--fmad=false`, so `a * b + c` is never
// contracted into an FMA the CPU does not do: bit-identical results depend on it.

typedef long long i64;
typedef unsigned long long u64;
typedef unsigned int u32;

// Up to 16 input buffers of a fused kernel, passed by value (no device-side array).
struct TsrInputs {
    const void* p[16];
};

// f16 and bf16 are stored as their 16 bits (distinct types, so overloads can tell them
// apart) and live in `float` registers holding values the narrow type represents; every
// op computes in f32 and rounds to nearest even, as the CPU's registers do. Why not
// cuda_fp16.h / cuda_bf16.h: they ship with the CUDA toolkit, not with the driver or
// NVRTC's libraries, and a machine that runs Tessera needs neither the toolkit nor its
// headers. The PTX conversion instruction and the integer rounding below are the same
// IEEE round-to-nearest-even those headers' `__float2half_rn` / `__float2bfloat16_rn` do.
struct tsr_f16 {
    unsigned short bits;
};
struct tsr_bf16 {
    unsigned short bits;
};

__device__ __forceinline__ unsigned short tsr_f16_bits(float x) {
    unsigned short h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(x));
    return h;
}
__device__ __forceinline__ float tsr_f16_value(unsigned short h) {
    float x;
    asm("cvt.f32.f16 %0, %1;" : "=f"(x) : "h"(h));
    return x;
}
// Round to nearest even on the bits (NaN stays a quiet NaN of the same sign), as the
// `half` crate's `bf16::from_f32` on the CPU.
__device__ __forceinline__ unsigned short tsr_bf16_bits(float x) {
    u32 b = __float_as_uint(x);
    if ((b & 0x7fffffffu) > 0x7f800000u) return (unsigned short)((b >> 16) | 0x0040u);
    return (unsigned short)((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
}
__device__ __forceinline__ float tsr_bf16_value(unsigned short h) {
    return __uint_as_float((u32)h << 16);
}
__device__ __forceinline__ float tsr_round_f16(float x) { return tsr_f16_value(tsr_f16_bits(x)); }
__device__ __forceinline__ float tsr_round_bf16(float x) { return tsr_bf16_value(tsr_bf16_bits(x)); }

// NaN tests on the bits, robust to any fast-math assumption.
__device__ __forceinline__ bool tsr_isnan(float v) {
    return (__float_as_uint(v) & 0x7fffffffu) > 0x7f800000u;
}
__device__ __forceinline__ bool tsr_isnan(double v) {
    return ((u64)__double_as_longlong(v) & 0x7fffffffffffffffull) > 0x7ff0000000000000ull;
}
__device__ __forceinline__ bool tsr_isinf(float v) {
    return (__float_as_uint(v) & 0x7fffffffu) == 0x7f800000u;
}
__device__ __forceinline__ bool tsr_isinf(double v) {
    return ((u64)__double_as_longlong(v) & 0x7fffffffffffffffull) == 0x7ff0000000000000ull;
}

// Integer arithmetic that wraps (signed overflow is undefined in C++; unsigned is not).
__device__ __forceinline__ int tsr_wrap_add(int a, int b) { return (int)((u32)a + (u32)b); }
__device__ __forceinline__ int tsr_wrap_sub(int a, int b) { return (int)((u32)a - (u32)b); }
__device__ __forceinline__ int tsr_wrap_mul(int a, int b) { return (int)((u32)a * (u32)b); }
__device__ __forceinline__ i64 tsr_wrap_add(i64 a, i64 b) { return (i64)((u64)a + (u64)b); }
__device__ __forceinline__ i64 tsr_wrap_sub(i64 a, i64 b) { return (i64)((u64)a - (u64)b); }
__device__ __forceinline__ i64 tsr_wrap_mul(i64 a, i64 b) { return (i64)((u64)a * (u64)b); }
__device__ __forceinline__ u32 tsr_wrap_add(u32 a, u32 b) { return a + b; }
__device__ __forceinline__ u32 tsr_wrap_sub(u32 a, u32 b) { return a - b; }
__device__ __forceinline__ u32 tsr_wrap_mul(u32 a, u32 b) { return a * b; }
__device__ __forceinline__ u64 tsr_wrap_add(u64 a, u64 b) { return a + b; }
__device__ __forceinline__ u64 tsr_wrap_sub(u64 a, u64 b) { return a - b; }
__device__ __forceinline__ u64 tsr_wrap_mul(u64 a, u64 b) { return a * b; }

// Integer power as the CPU's `wrapping_pow`; a negative exponent gives 0.
template <typename T>
__device__ __forceinline__ T tsr_ipow(T base, T exp) {
    if (exp < (T)0) return (T)0;
    T result = (T)1;
    u64 e = (u64)exp;
    while (e) {
        if (e & 1) result = tsr_wrap_mul(result, base);
        base = tsr_wrap_mul(base, base);
        e >>= 1;
    }
    return result;
}

// Float to integer as Rust's `as`: toward zero, saturating, NaN to 0 (the `_rz`
// intrinsics are PTX `cvt.rzi`, which saturates and maps NaN to 0).
__device__ __forceinline__ int tsr_to_i32(float v) { return __float2int_rz(v); }
__device__ __forceinline__ int tsr_to_i32(double v) { return __double2int_rz(v); }
__device__ __forceinline__ u32 tsr_to_u32(float v) { return __float2uint_rz(v); }
__device__ __forceinline__ u32 tsr_to_u32(double v) { return __double2uint_rz(v); }
__device__ __forceinline__ i64 tsr_to_i64(float v) { return __float2ll_rz(v); }
__device__ __forceinline__ i64 tsr_to_i64(double v) { return __double2ll_rz(v); }
// Integer to integer wraps (two's complement), as Rust's `as`.
__device__ __forceinline__ int tsr_to_i32(i64 v) { return (int)(u32)(u64)v; }
__device__ __forceinline__ int tsr_to_i32(u32 v) { return (int)v; }
__device__ __forceinline__ u32 tsr_to_u32(i64 v) { return (u32)(u64)v; }
__device__ __forceinline__ u32 tsr_to_u32(int v) { return (u32)v; }
__device__ __forceinline__ i64 tsr_to_i64(int v) { return (i64)v; }
__device__ __forceinline__ i64 tsr_to_i64(u32 v) { return (i64)(u64)v; }
__device__ __forceinline__ u64 tsr_to_u64(float v) { return __float2ull_rz(v); }
__device__ __forceinline__ u64 tsr_to_u64(double v) { return __double2ull_rz(v); }
__device__ __forceinline__ u64 tsr_to_u64(int v) { return (u64)(i64)v; }
__device__ __forceinline__ u64 tsr_to_u64(u32 v) { return (u64)v; }
__device__ __forceinline__ u64 tsr_to_u64(i64 v) { return (u64)v; }
__device__ __forceinline__ int tsr_to_i32(u64 v) { return (int)(u32)v; }
__device__ __forceinline__ u32 tsr_to_u32(u64 v) { return (u32)v; }
__device__ __forceinline__ i64 tsr_to_i64(u64 v) { return (i64)v; }
// Integers narrower than 32 bits live in int registers, wrapped to their width after
// every instruction (well defined on int, unlike a conversion to a narrow type).
__device__ __forceinline__ int tsr_wrap_i8(int v) { return ((v & 0xff) ^ 0x80) - 0x80; }
__device__ __forceinline__ int tsr_wrap_u8(int v) { return v & 0xff; }
__device__ __forceinline__ int tsr_wrap_i16(int v) { return ((v & 0xffff) ^ 0x8000) - 0x8000; }
__device__ __forceinline__ int tsr_wrap_u16(int v) { return v & 0xffff; }

// Narrow storage to and from the f32 registers.
__device__ __forceinline__ float tsr_load(const tsr_f16* p, i64 i) { return tsr_f16_value(p[i].bits); }
__device__ __forceinline__ float tsr_load(const tsr_bf16* p, i64 i) { return tsr_bf16_value(p[i].bits); }
__device__ __forceinline__ void tsr_store(tsr_f16* p, i64 i, float v) { p[i].bits = tsr_f16_bits(v); }
__device__ __forceinline__ void tsr_store(tsr_bf16* p, i64 i, float v) { p[i].bits = tsr_bf16_bits(v); }
// Bools are one byte (0 or 1), as on the host.
__device__ __forceinline__ bool tsr_load(const unsigned char* p, i64 i) { return p[i] != 0; }
__device__ __forceinline__ void tsr_store(unsigned char* p, i64 i, bool v) { p[i] = v ? 1 : 0; }
// u8 has a type of its own: unsigned char is the bool storage above.
struct tsr_u8 { unsigned char v; };
__device__ __forceinline__ int tsr_load(const tsr_u8* p, i64 i) { return p[i].v; }
__device__ __forceinline__ void tsr_store(tsr_u8* p, i64 i, int v) { p[i].v = (unsigned char)(v & 0xff); }
__device__ __forceinline__ int tsr_load(const signed char* p, i64 i) { return p[i]; }
__device__ __forceinline__ void tsr_store(signed char* p, i64 i, int v) { p[i] = (signed char)tsr_wrap_i8(v); }
__device__ __forceinline__ int tsr_load(const short* p, i64 i) { return p[i]; }
__device__ __forceinline__ void tsr_store(short* p, i64 i, int v) { p[i] = (short)tsr_wrap_i16(v); }
__device__ __forceinline__ int tsr_load(const unsigned short* p, i64 i) { return p[i]; }
__device__ __forceinline__ void tsr_store(unsigned short* p, i64 i, int v) { p[i] = (unsigned short)(v & 0xffff); }
template <typename T>
__device__ __forceinline__ T tsr_load(const T* p, i64 i) { return p[i]; }
template <typename T>
__device__ __forceinline__ void tsr_store(T* p, i64 i, T v) { p[i] = v; }
