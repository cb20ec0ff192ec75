// Index arithmetic shared by generated kernels: a leaf's element index from the output
// coordinates and the leaf's affine view (offset and strides in `tmeta`).

fn leaf_index(base: i32, ndim: u32, c: array<i32, 8>) -> i32 {
    var idx = tmeta[base];
    for (var k = 0u; k < ndim; k = k + 1u) {
        idx = idx + c[k] * tmeta[base + 1 + i32(k)];
    }
    return idx;
}
