// Serial driver: one thread per output (accumulator) element, folding the reduced
// elements in order. Used when the last axis is kept (e.g. sum over axis 0 of a matrix):
// neighbouring threads then read neighbouring elements, where the tree driver's
// threads would each read a strided column.

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let ndim = u32(tmeta[0]);
    let nout = u32(tmeta[RB]);
    let nred = u32(tmeta[RB + 1]);
    for (var o = gid.x; o < nout; o = o + nwg.x * 256u) {
        var acc = acc_init();
        for (var r = 0u; r < nred; r = r + 1u) {
            let c = reduce_coords(o, r, ndim);
            acc = acc_add(acc, reduce_value(c, ndim), arg_index(c, ndim));
        }
        acc_store(o, nout, acc);
    }
}
