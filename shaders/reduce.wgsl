// Reduction partials of a fused expression: what both drivers (reduce_tree.wgsl,
// reduce_serial.wgsl) share. The generated part defines `value(c)`, `reduce_value(c)`
// (the value in the accumulator's dtype), the `Acc` struct and
// `acc_init/acc_add/acc_merge/acc_store`.
//
// tmeta after the map layout (at RB): [nout, nred, reduced flag per axis, arg base,
// arg stride per axis, ddof]

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

