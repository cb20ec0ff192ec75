// A 5-point Laplacian of a 2-d f32 block with a halo of 1 on both axes (the user-kernel
// contract of `tessera::userfn::UserKernel`).
@group(0) @binding(0) var<storage, read> dims: array<i32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

@compute @workgroup_size(256)
fn laplacian(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = i32(gid.x + gid.y * 256u * nwg.x);
    if (i >= dims[0]) {
        return;
    }
    // dims: total, ndim (2), out rows, out cols, halo before (rows, cols), x rows, x cols.
    let cols = dims[3];
    let r = i / cols + dims[4];
    let c = i % cols + dims[5];
    let xc = dims[7];
    let at = r * xc + c;
    out[i] = x[at - xc] + x[at + xc] + x[at - 1] + x[at + 1] - 4.0 * x[at];
}
