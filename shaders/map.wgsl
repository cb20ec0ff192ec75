// Fused elementwise map: the prelude of every generated kernel. The generated part
// declares the bindings (binding 0 `tmeta`, 1 `out`, 2.. inputs) and a function
// `value(c)` computing the output element at coordinates `c`; this driver walks the
// output in a grid-stride loop so any chunk size fits a 1-d dispatch (`WG` and
// `coords` come from `map_coords.wgsl`).
//
// tmeta: [ndim, total, shape[0..ndim], then per leaf: offset, strides[0..ndim]]

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let ndim = u32(tmeta[0]);
    let total = u32(tmeta[1]);
    let threads = nwg.x * WG;
    for (var lin = gid.x; lin < total; lin = lin + threads) {
        store(lin, value(coords(lin, ndim), ndim));
    }
}
