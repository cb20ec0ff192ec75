// Tree driver: one workgroup per output (accumulator) element; its 256 threads stride
// over the reduced elements in order, then combine their accumulators in a
// shared-memory tree (ties and NaNs resolve to the lowest index, as on the CPU). Used
// when the reduced axes include the last one, so a workgroup's reads are contiguous.

var<workgroup> scratch: array<Acc, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let ndim = u32(tmeta[0]);
    let nout = u32(tmeta[RB]);
    let nred = u32(tmeta[RB + 1]);
    let out_idx = wid.x + wid.y * nwg.x;
    var acc = acc_init();
    if (out_idx < nout) {
        for (var r = lid.x; r < nred; r = r + 256u) {
            let c = reduce_coords(out_idx, r, ndim);
            acc = acc_add(acc, reduce_value(c, ndim), arg_index(c, ndim));
        }
    }
    scratch[lid.x] = acc;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s = s >> 1u) {
        if (lid.x < s) {
            scratch[lid.x] = acc_merge(scratch[lid.x], scratch[lid.x + s]);
        }
        workgroupBarrier();
    }
    if (lid.x == 0u && out_idx < nout) {
        acc_store(out_idx, nout, scratch[0]);
    }
}
