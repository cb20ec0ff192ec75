// Copies a box of elements between two buffers with arbitrary strides (rechunk and
// concatenate pieces, take hyperslabs). `SCALAR` is the storage type.
// cmeta: [ndim, count, shape[0..ndim], src offset, src strides, dst offset, dst strides]

@group(0) @binding(0) var<storage, read> cmeta: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<SCALAR>;
@group(0) @binding(2) var<storage, read> src: array<SCALAR>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let ndim = cmeta[0];
    let count = cmeta[1];
    let sb = 2u + ndim;
    let db = sb + 1u + ndim;
    let threads = nwg.x * 256u;
    for (var lin = gid.x; lin < count; lin = lin + threads) {
        var rem = lin;
        var s = cmeta[sb];
        var d = cmeta[db];
        for (var k = i32(ndim) - 1; k >= 0; k = k - 1) {
            let n = cmeta[2u + u32(k)];
            let c = rem % n;
            rem = rem / n;
            s = s + c * cmeta[sb + 1u + u32(k)];
            d = d + c * cmeta[db + 1u + u32(k)];
        }
        dst[d] = src[s];
    }
}
