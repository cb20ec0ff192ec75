// A 5-point Laplacian of a 2-d f32 block with a halo of 1 on both axes (the user-kernel
// contract of `tessera::userfn::UserKernel`, CUDA C form of laplacian.wgsl).
extern "C" __global__ void laplacian(const int* dims, float* out, const float* x) {
    // dims: total, ndim (2), out rows, out cols, halo before (rows, cols), x rows, x cols.
    const int cols = dims[3];
    const int xc = dims[7];
    for (long i = blockIdx.x * 256L + threadIdx.x; i < dims[0]; i += 256L * gridDim.x) {
        const long r = i / cols + dims[4];
        const long c = i % cols + dims[5];
        const long at = r * xc + c;
        out[i] = x[at - xc] + x[at + xc] + x[at - 1] + x[at + 1] - 4.0f * x[at];
    }
}
