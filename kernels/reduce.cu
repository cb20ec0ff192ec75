// Reductions: accumulators for every reduction kind, the per-chunk drivers (a block
// tree with warp shuffles, or a thread per output) and the combine of partials.
//
// An accumulator is (a, b, c, i) in the accumulation type T (f32 for f32/f16/bf16 data,
// f64 for f64 and for the moments of integers, i64 wrapping for integer sums, products,
// extrema). Sum/Prod/Min/Max/Any/All use `a`; Mean/Var/Std hold (count, mean, M2) and
// merge with Chan's formula; ArgMin/ArgMax hold (value, -, -, index), index 0xffffffff
// meaning "none yet". Ties and NaNs resolve to the lowest index, as on the CPU, whatever
// the order of merges.
//
// Partials (what a chunk's task hands to the combine tree, and what the host reads)
// lie part after part: `a` for [0, nout), then `b`, then `c` for the moments; for the
// arg kinds `a`, then the index (bit-cast into f32, or converted to f64 / i64).
//
// The generated part of a kernel (src/backend/cuda/codegen.rs) defines the value of
// element c and how an accumulator is stored, and passes them to these drivers.

template <typename T>
struct TsrAcc {
    T a, b, c;
    u32 i;
};

__device__ __forceinline__ float tsr_acc_add(float a, float b) { return a + b; }
__device__ __forceinline__ double tsr_acc_add(double a, double b) { return a + b; }
__device__ __forceinline__ i64 tsr_acc_add(i64 a, i64 b) { return tsr_wrap_add(a, b); }
__device__ __forceinline__ float tsr_acc_mul(float a, float b) { return a * b; }
__device__ __forceinline__ double tsr_acc_mul(double a, double b) { return a * b; }
__device__ __forceinline__ i64 tsr_acc_mul(i64 a, i64 b) { return tsr_wrap_mul(a, b); }
__device__ __forceinline__ bool tsr_isnan(i64) { return false; }

template <typename T> __device__ __forceinline__ T tsr_highest();
template <> __device__ __forceinline__ float tsr_highest<float>() { return __uint_as_float(0x7f800000u); }
template <> __device__ __forceinline__ double tsr_highest<double>() { return __longlong_as_double(0x7ff0000000000000ll); }
template <> __device__ __forceinline__ i64 tsr_highest<i64>() { return 0x7fffffffffffffffll; }
template <typename T> __device__ __forceinline__ T tsr_lowest();
template <> __device__ __forceinline__ float tsr_lowest<float>() { return -__uint_as_float(0x7f800000u); }
template <> __device__ __forceinline__ double tsr_lowest<double>() { return -__longlong_as_double(0x7ff0000000000000ll); }
template <> __device__ __forceinline__ i64 tsr_lowest<i64>() { return (i64)0x8000000000000000ull; }
template <typename T> __device__ __forceinline__ T tsr_nan() { return (T)__longlong_as_double(0x7ff8000000000000ll); }

template <typename T>
__device__ __forceinline__ TsrAcc<T> tsr_acc(T a) {
    TsrAcc<T> x;
    x.a = a;
    x.b = (T)0;
    x.c = (T)0;
    x.i = 0u;
    return x;
}

template <typename T> struct TsrSum {
    static __device__ TsrAcc<T> init() { return tsr_acc<T>((T)0); }
    static __device__ void add(TsrAcc<T>& x, T v, u32) { x.a = tsr_acc_add(x.a, v); }
    static __device__ void merge(TsrAcc<T>& x, const TsrAcc<T>& y) { x.a = tsr_acc_add(x.a, y.a); }
};
template <typename T> struct TsrProd {
    static __device__ TsrAcc<T> init() { return tsr_acc<T>((T)1); }
    static __device__ void add(TsrAcc<T>& x, T v, u32) { x.a = tsr_acc_mul(x.a, v); }
    static __device__ void merge(TsrAcc<T>& x, const TsrAcc<T>& y) { x.a = tsr_acc_mul(x.a, y.a); }
};
// NaN propagates: once held, no comparison with it is true, and a NaN always enters.
template <typename T> struct TsrMin {
    static __device__ TsrAcc<T> init() { return tsr_acc<T>(tsr_highest<T>()); }
    static __device__ void add(TsrAcc<T>& x, T v, u32) { if (v < x.a || tsr_isnan(v)) x.a = v; }
    static __device__ void merge(TsrAcc<T>& x, const TsrAcc<T>& y) { add(x, y.a, 0u); }
};
template <typename T> struct TsrMax {
    static __device__ TsrAcc<T> init() { return tsr_acc<T>(tsr_lowest<T>()); }
    static __device__ void add(TsrAcc<T>& x, T v, u32) { if (v > x.a || tsr_isnan(v)) x.a = v; }
    static __device__ void merge(TsrAcc<T>& x, const TsrAcc<T>& y) { add(x, y.a, 0u); }
};
template <typename T> struct TsrAny {
    static __device__ TsrAcc<T> init() { return tsr_acc<T>((T)0); }
    static __device__ void add(TsrAcc<T>& x, T v, u32) { if (!(v == (T)0)) x.a = (T)1; }
    static __device__ void merge(TsrAcc<T>& x, const TsrAcc<T>& y) { add(x, y.a, 0u); }
};
template <typename T> struct TsrAll {
    static __device__ TsrAcc<T> init() { return tsr_acc<T>((T)1); }
    static __device__ void add(TsrAcc<T>& x, T v, u32) { if (v == (T)0) x.a = (T)0; }
    static __device__ void merge(TsrAcc<T>& x, const TsrAcc<T>& y) { add(x, y.a, 0u); }
};
// (count, mean, M2): Welford's update, Chan's merge.
template <typename T> struct TsrMoments {
    static __device__ TsrAcc<T> init() { return tsr_acc<T>((T)0); }
    static __device__ void add(TsrAcc<T>& x, T v, u32) {
        T n = x.a + (T)1;
        T d = v - x.b;
        T m = x.b + d / n;
        x.c = x.c + d * (v - m);
        x.a = n;
        x.b = m;
    }
    static __device__ void merge(TsrAcc<T>& x, const TsrAcc<T>& y) {
        if (y.a == (T)0) return;
        if (x.a == (T)0) { x = y; return; }
        T n = x.a + y.a;
        T d = y.b - x.b;
        T m = x.b + d * y.a / n;
        x.c = x.c + y.c + d * d * x.a * y.a / n;
        x.a = n;
        x.b = m;
    }
};
template <typename T, bool IsMax> struct TsrArg {
    static __device__ TsrAcc<T> init() {
        TsrAcc<T> x = tsr_acc<T>((T)0);
        x.i = 0xffffffffu;
        return x;
    }
    static __device__ bool better(T v, u32 i, const TsrAcc<T>& x) {
        if (x.i == 0xffffffffu) return true;
        if (tsr_isnan(v)) return !tsr_isnan(x.a) || i < x.i;
        if (tsr_isnan(x.a)) return false;
        return (IsMax ? v > x.a : v < x.a) || (v == x.a && i < x.i);
    }
    static __device__ void add(TsrAcc<T>& x, T v, u32 i) {
        if (better(v, i, x)) { x.a = v; x.i = i; }
    }
    static __device__ void merge(TsrAcc<T>& x, const TsrAcc<T>& y) {
        if (y.i != 0xffffffffu) add(x, y.a, y.i);
    }
};

// Final values, before the generated conversion to the result dtype.
template <typename T> __device__ __forceinline__ T tsr_final_mean(const TsrAcc<T>& x) {
    return x.a > (T)0 ? x.b : tsr_nan<T>();
}
// NumPy divides by max(n - ddof, 0): past the count that is M2 / 0 (inf, or NaN when M2
// is 0), spelled out rather than left to the division.
template <typename T> __device__ __forceinline__ T tsr_final_var(const TsrAcc<T>& x, T ddof, bool root) {
    T n = x.a - ddof;
    if (!(n > (T)0)) return x.c > (T)0 ? tsr_highest<T>() : tsr_nan<T>();
    T v = x.c / n;
    return root ? (T)sqrt((double)v) : v;
}
template <typename T> __device__ __forceinline__ i64 tsr_final_arg(const TsrAcc<T>& x) {
    return x.i == 0xffffffffu ? (i64)-1 : (i64)x.i;
}

// Partial layout (see the header).
__device__ __forceinline__ float tsr_encode_index(u32 i, float) { return __uint_as_float(i); }
__device__ __forceinline__ double tsr_encode_index(u32 i, double) { return (double)i; }
__device__ __forceinline__ i64 tsr_encode_index(u32 i, i64) { return (i64)i; }
__device__ __forceinline__ u32 tsr_decode_index(float v) { return __float_as_uint(v); }
__device__ __forceinline__ u32 tsr_decode_index(double v) { return (u32)v; }
__device__ __forceinline__ u32 tsr_decode_index(i64 v) { return (u32)v; }

// kind: 0 one part (a), 1 moments (a, b, c), 2 arg (a, index).
template <typename T>
__device__ __forceinline__ void tsr_store_partial(T* out, u32 o, u32 nout, const TsrAcc<T>& x, int kind) {
    out[o] = x.a;
    if (kind == 1) {
        out[nout + o] = x.b;
        out[2 * (u64)nout + o] = x.c;
    } else if (kind == 2) {
        out[nout + o] = tsr_encode_index(x.i, x.a);
    }
}
template <typename T>
__device__ __forceinline__ TsrAcc<T> tsr_load_partial(const T* p, u32 o, u32 nout, int kind) {
    TsrAcc<T> x = tsr_acc<T>(p[o]);
    if (kind == 1) {
        x.b = p[nout + o];
        x.c = p[2 * (u64)nout + o];
    } else if (kind == 2) {
        x.i = tsr_decode_index(p[nout + o]);
    }
    return x;
}

// tmeta after the map layout, at rb: [nout, nred, reduced flag per axis, arg base, arg
// stride per axis].
__device__ __forceinline__ void tsr_reduce_coords(const int* __restrict__ tmeta, int rb, u32 out_idx, u32 r, int ndim, int* c) {
    for (int k = ndim - 1; k >= 0; k--) {
        u32 n = (u32)tmeta[2 + k];
        if (tmeta[rb + 2 + k] != 0) {
            c[k] = (int)(r % n);
            r /= n;
        } else {
            c[k] = (int)(out_idx % n);
            out_idx /= n;
        }
    }
}

__device__ __forceinline__ u32 tsr_arg_index(const int* __restrict__ tmeta, int rb, const int* c, int ndim) {
    int base = rb + 2 + ndim;
    i64 idx = tmeta[base];
    for (int k = 0; k < ndim; k++) idx += (i64)c[k] * tmeta[base + 1 + k];
    return (u32)idx;
}

template <typename T>
__device__ __forceinline__ TsrAcc<T> tsr_shfl_down(const TsrAcc<T>& x, int off) {
    TsrAcc<T> y;
    y.a = __shfl_down_sync(0xffffffffu, x.a, off);
    y.b = __shfl_down_sync(0xffffffffu, x.b, off);
    y.c = __shfl_down_sync(0xffffffffu, x.c, off);
    y.i = __shfl_down_sync(0xffffffffu, x.i, off);
    return y;
}

#define TSR_BLOCK 256

// Tree driver: one block per output element; its threads stride over the reduced
// elements, then merge in shared memory down to a warp, and by shuffles within it. Used
// when the reduced axes include the last one, so a block's reads are contiguous.
template <typename K, typename T, typename Value, typename Store>
__device__ void tsr_reduce_tree(const int* __restrict__ tmeta, int rb, Value value, Store store) {
    __shared__ TsrAcc<T> scratch[TSR_BLOCK];
    int ndim = tmeta[0];
    u32 nout = (u32)tmeta[rb];
    u32 nred = (u32)tmeta[rb + 1];
    u32 out_idx = blockIdx.x + blockIdx.y * gridDim.x;
    TsrAcc<T> acc = K::init();
    int c[TSR_MAX_NDIM];
    if (out_idx < nout) {
        for (u32 r = threadIdx.x; r < nred; r += TSR_BLOCK) {
            tsr_reduce_coords(tmeta, rb, out_idx, r, ndim, c);
            K::add(acc, value(c, ndim), tsr_arg_index(tmeta, rb, c, ndim));
        }
    }
    scratch[threadIdx.x] = acc;
    __syncthreads();
    for (int s = TSR_BLOCK / 2; s >= 32; s >>= 1) {
        if (threadIdx.x < s) K::merge(scratch[threadIdx.x], scratch[threadIdx.x + s]);
        __syncthreads();
    }
    if (threadIdx.x < 32) {
        acc = scratch[threadIdx.x];
        for (int off = 16; off > 0; off >>= 1) {
            TsrAcc<T> other = tsr_shfl_down(acc, off);
            K::merge(acc, other);
        }
        if (threadIdx.x == 0 && out_idx < nout) store(out_idx, nout, acc);
    }
}

// Serial driver: a thread per output element, folding the reduced elements in order.
// Used when the last axis is kept, so neighbouring threads read neighbouring elements.
template <typename K, typename T, typename Value, typename Store>
__device__ void tsr_reduce_serial(const int* __restrict__ tmeta, int rb, Value value, Store store) {
    int ndim = tmeta[0];
    u32 nout = (u32)tmeta[rb];
    u32 nred = (u32)tmeta[rb + 1];
    int c[TSR_MAX_NDIM];
    for (u32 o = blockIdx.x * blockDim.x + threadIdx.x; o < nout; o += gridDim.x * blockDim.x) {
        TsrAcc<T> acc = K::init();
        for (u32 r = 0; r < nred; r++) {
            tsr_reduce_coords(tmeta, rb, o, r, ndim, c);
            K::add(acc, value(c, ndim), tsr_arg_index(tmeta, rb, c, ndim));
        }
        store(o, nout, acc);
    }
}

// Combine: merges `ninputs` partials of `nout` elements each, in input order.
template <typename K, typename T, typename Store>
__device__ void tsr_combine(const TsrInputs& in, int ninputs, u32 nout, int kind, Store store) {
    for (u32 o = blockIdx.x * blockDim.x + threadIdx.x; o < nout; o += gridDim.x * blockDim.x) {
        TsrAcc<T> acc = tsr_load_partial((const T*)in.p[0], o, nout, kind);
        for (int k = 1; k < ninputs; k++) K::merge(acc, tsr_load_partial((const T*)in.p[k], o, nout, kind));
        store(o, nout, acc);
    }
}
