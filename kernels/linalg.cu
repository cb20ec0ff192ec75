// Helpers of the per-block dense linear algebra that cuBLAS and cuSOLVER do not do
// themselves: potrf and geqrf leave the other triangle as it was (the input, or the
// Householder vectors), and the CPU's Cholesky factor and R have zeros there.

// Zeros the strict upper triangle of a row-major n x n matrix.
extern "C" __global__ void tsr_zero_upper_f64(double* a, u32 n) {
    u64 total = (u64)n * n;
    for (u64 lin = (u64)blockIdx.x * blockDim.x + threadIdx.x; lin < total; lin += (u64)gridDim.x * blockDim.x) {
        u64 i = lin / n, j = lin % n;
        if (j > i) {
            a[lin] = 0.0;
        }
    }
}

// Zeros the strict lower triangle of a row-major rows x cols matrix (R of a QR, taken
// from geqrf's output, where the Householder vectors lie below the diagonal).
extern "C" __global__ void tsr_zero_lower_f64(double* a, u32 rows, u32 cols) {
    u64 total = (u64)rows * cols;
    for (u64 lin = (u64)blockIdx.x * blockDim.x + threadIdx.x; lin < total; lin += (u64)gridDim.x * blockDim.x) {
        u64 i = lin / cols, j = lin % cols;
        if (j < i) {
            a[lin] = 0.0;
        }
    }
}
