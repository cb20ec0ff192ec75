// Fused map with transposed inputs, tiled through workgroup memory. A transposed input
// is contiguous along output axis TP but strided along the output's last axis, so the
// plain map (consecutive threads walk the last axis) would read it with a stride. Here
// each 32×8 workgroup loads a 32×32 tile with consecutive threads walking TP (contiguous
// reads), then computes and stores with consecutive threads walking the last axis
// (contiguous writes), reading those inputs from the tile.
//
// Generated before this driver: `const TP`, the `tile<l>` arrays (33 columns: padding
// that keeps the transposed read free of bank conflicts), `load_tiles(c, ndim, slot)`,
// and `value(c, ndim)`, which reads tiled leaves at the private `tslot`.

const T: u32 = 32u;
// Rows of a tile one pass of the 32×8 workgroup covers (each thread does T / R).
const R: u32 = 8u;
var<private> tslot: u32;

fn out_index(c: array<i32, 8>, ndim: u32) -> u32 {
    var idx = 0u;
    for (var k = 0u; k < ndim; k = k + 1u) {
        idx = idx * u32(tmeta[2u + k]) + u32(c[k]);
    }
    return idx;
}

@compute @workgroup_size(32, 8)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let ndim = u32(tmeta[0]);
    let total = u32(tmeta[1]);
    let last = ndim - 1u;
    let np = u32(tmeta[2u + TP]);
    let nl = u32(tmeta[2u + last]);
    let tiles_p = (np + T - 1u) / T;
    let tiles_l = (nl + T - 1u) / T;
    let ntiles = total / (np * nl) * tiles_p * tiles_l;
    // Grid-stride over tiles; `t` is the same for the whole workgroup, so every thread
    // reaches every barrier.
    for (var t = wid.x + wid.y * nwg.x; t < ntiles; t = t + nwg.x * nwg.y) {
        let tl = t % tiles_l;
        let tp = (t / tiles_l) % tiles_p;
        var rest = t / (tiles_l * tiles_p);
        var c: array<i32, 8>;
        for (var k = i32(ndim) - 1; k >= 0; k = k - 1) {
            if (u32(k) != TP && u32(k) != last) {
                let n = u32(tmeta[2 + k]);
                c[k] = i32(rest % n);
                rest = rest / n;
            }
        }
        let p0 = tp * T;
        let l0 = tl * T;
        for (var r = 0u; r < T; r = r + R) {
            c[TP] = i32(p0 + lid.x);
            c[last] = i32(l0 + lid.y + r);
            if (p0 + lid.x < np && l0 + lid.y + r < nl) {
                load_tiles(c, ndim, (lid.y + r) * (T + 1u) + lid.x);
            }
        }
        workgroupBarrier();
        for (var r = 0u; r < T; r = r + R) {
            c[TP] = i32(p0 + lid.y + r);
            c[last] = i32(l0 + lid.x);
            if (p0 + lid.y + r < np && l0 + lid.x < nl) {
                tslot = lid.x * (T + 1u) + lid.y + r;
                store(out_index(c, ndim), value(c, ndim));
            }
        }
        workgroupBarrier();
    }
}
