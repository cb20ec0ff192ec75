// The workgroup size and the coordinates of a linear output index, shared by the map
// drivers (`map.wgsl`, `map_packed.wgsl`).

const WG: u32 = 256u;

fn coords(lin: u32, ndim: u32) -> array<i32, 8> {
    var c: array<i32, 8>;
    var rem = lin;
    for (var k = i32(ndim) - 1; k >= 0; k = k - 1) {
        let n = u32(tmeta[2 + k]);
        c[k] = i32(rem % n);
        rem = rem / n;
    }
    return c;
}
