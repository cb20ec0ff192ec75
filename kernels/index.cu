// Index arithmetic of generated kernels. `tmeta` (i32 words, the layout of
// src/backend/codegen.rs `meta`): [ndim, total, shape[0..ndim], per leaf: offset,
// strides[0..ndim], per leaf: generator parameters].

#define TSR_MAX_NDIM 8

// Coordinates of C-order element `lin` of the output.
__device__ __forceinline__ void tsr_coords(const int* __restrict__ tmeta, i64 lin, int ndim, int* c) {
    for (int k = ndim - 1; k >= 0; k--) {
        i64 n = tmeta[2 + k];
        c[k] = (int)(lin % n);
        lin /= n;
    }
}

// Element index of the leaf whose view starts at `tmeta[base]`.
__device__ __forceinline__ i64 tsr_leaf_index(const int* __restrict__ tmeta, int base, int ndim, const int* c) {
    i64 idx = tmeta[base];
    for (int k = 0; k < ndim; k++) idx += (i64)c[k] * tmeta[base + 1 + k];
    return idx;
}

// The f64 stored as three f32 parts at tmeta[p..p + 3] (exact: see `f64_parts`).
__device__ __forceinline__ double tsr_meta_f64(const int* __restrict__ tmeta, int p) {
    return ((double)__int_as_float(tmeta[p]) + (double)__int_as_float(tmeta[p + 1])) + (double)__int_as_float(tmeta[p + 2]);
}

__device__ __forceinline__ u64 tsr_meta_seed(const int* __restrict__ tmeta, int p) {
    return (u64)(u32)tmeta[p] | ((u64)(u32)tmeta[p + 1] << 32);
}
