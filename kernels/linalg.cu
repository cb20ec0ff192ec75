// Helpers of the per-block dense linear algebra that cuBLAS and cuSOLVER do not do
// themselves. potrf leaves the triangle it did not factor as it was; the CPU's
// Cholesky block has zeros there, so they are written here.

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
