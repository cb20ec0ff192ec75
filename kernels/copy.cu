// Strided copies (take hyperslabs, rechunk and concatenate pieces) and a tiled
// transpose. Copies move bytes, so one kernel per element size serves every dtype.
//
// cmeta (u32 words): [ndim, count, shape[0..ndim], src offset, src strides[0..ndim],
// dst offset, dst strides[0..ndim]], offsets and strides in elements.

template <typename T>
__device__ __forceinline__ void tsr_copy_box(const u32* __restrict__ cmeta, T* __restrict__ dst, const T* __restrict__ src) {
    u32 ndim = cmeta[0];
    u32 count = cmeta[1];
    u32 sb = 2 + ndim;
    u32 db = sb + 1 + ndim;
    for (u32 lin = blockIdx.x * blockDim.x + threadIdx.x; lin < count; lin += gridDim.x * blockDim.x) {
        u32 rem = lin;
        u64 s = cmeta[sb], d = cmeta[db];
        for (int k = (int)ndim - 1; k >= 0; k--) {
            u32 n = cmeta[2 + k];
            u32 c = rem % n;
            rem /= n;
            s += (u64)c * cmeta[sb + 1 + k];
            d += (u64)c * cmeta[db + 1 + k];
        }
        dst[d] = src[s];
    }
}

extern "C" __global__ void tsr_copy_1(const u32* cmeta, unsigned char* dst, const unsigned char* src) { tsr_copy_box(cmeta, dst, src); }
extern "C" __global__ void tsr_copy_2(const u32* cmeta, unsigned short* dst, const unsigned short* src) { tsr_copy_box(cmeta, dst, src); }
extern "C" __global__ void tsr_copy_4(const u32* cmeta, u32* dst, const u32* src) { tsr_copy_box(cmeta, dst, src); }
extern "C" __global__ void tsr_copy_8(const u32* cmeta, u64* dst, const u64* src) { tsr_copy_box(cmeta, dst, src); }

// dst (cols x rows) = src (rows x cols)ᵀ, batched over blockIdx.z, through a 32 x 33
// shared tile (the extra column keeps the column reads free of bank conflicts), so both
// global reads and writes are coalesced. Launch with 32 x 8 threads per block.
template <typename T>
__device__ __forceinline__ void tsr_transpose(const T* __restrict__ src, T* __restrict__ dst, u32 rows, u32 cols) {
    __shared__ T tile[32][33];
    u64 batch = (u64)blockIdx.z * rows * cols;
    u32 x = blockIdx.x * 32 + threadIdx.x;
    u32 y = blockIdx.y * 32 + threadIdx.y;
    for (u32 j = 0; j < 32; j += 8)
        if (x < cols && y + j < rows) tile[threadIdx.y + j][threadIdx.x] = src[batch + (u64)(y + j) * cols + x];
    __syncthreads();
    x = blockIdx.y * 32 + threadIdx.x;
    y = blockIdx.x * 32 + threadIdx.y;
    for (u32 j = 0; j < 32; j += 8)
        if (x < rows && y + j < cols) dst[batch + (u64)(y + j) * rows + x] = tile[threadIdx.x][threadIdx.y + j];
}

extern "C" __global__ void tsr_transpose_1(const unsigned char* src, unsigned char* dst, u32 rows, u32 cols) { tsr_transpose(src, dst, rows, cols); }
extern "C" __global__ void tsr_transpose_2(const unsigned short* src, unsigned short* dst, u32 rows, u32 cols) { tsr_transpose(src, dst, rows, cols); }
extern "C" __global__ void tsr_transpose_4(const u32* src, u32* dst, u32 rows, u32 cols) { tsr_transpose(src, dst, rows, cols); }
extern "C" __global__ void tsr_transpose_8(const u64* src, u64* dst, u32 rows, u32 cols) { tsr_transpose(src, dst, rows, cols); }
