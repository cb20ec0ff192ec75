// Reduction partial of a fused expression: the driver of every generated reduce kernel.
// One workgroup per output (accumulator) element; its 256 threads stride over the
// reduced elements in order, then combine their accumulators in a shared-memory tree
// (ties and NaNs resolve to the lowest index, as on the CPU). The generated part
// defines `value(c)`, `reduce_value(c)` (the value in the accumulator's dtype), the `Acc` struct and `acc_init/acc_add/acc_merge/acc_store`.
//
// tmeta after the map layout (at RB): [nout, nred, reduced flag per axis, arg base,
// arg stride per axis, ddof]

var<workgroup> scratch: array<Acc, 256>;

fn reduce_coords(out_idx: u32, r: u32, ndim: u32) -> array<i32, 8> {
    var c: array<i32, 8>;
    var o = out_idx;
    var rr = r;
    for (var k = i32(ndim) - 1; k >= 0; k = k - 1) {
        let n = u32(tmeta[2 + k]);
        if (tmeta[RB + 2 + k] != 0) {
            c[k] = i32(rr % n);
            rr = rr / n;
        } else {
            c[k] = i32(o % n);
            o = o / n;
        }
    }
    return c;
}

fn arg_index(c: array<i32, 8>, ndim: u32) -> u32 {
    let base = RB + 2 + i32(ndim);
    var idx = tmeta[base];
    for (var k = 0u; k < ndim; k = k + 1u) {
        idx = idx + c[k] * tmeta[base + 1 + i32(k)];
    }
    return u32(idx);
}

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
