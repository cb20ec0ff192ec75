// Fused elementwise map into a packed output of narrow integers (PER elements of BITS
// bits to a u32 word): each invocation computes a whole word's elements and writes the
// word once, so no two invocations share a word. The generated part declares the
// bindings and `value(c)` as for `map.wgsl`, plus `const PER` and `const BITS`; `WG`
// and `coords` come from `map_coords.wgsl`.

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let ndim = u32(tmeta[0]);
    let total = u32(tmeta[1]);
    let words = (total + PER - 1u) / PER;
    let threads = nwg.x * WG;
    for (var w = gid.x; w < words; w = w + threads) {
        var word = 0u;
        for (var k = 0u; k < PER; k = k + 1u) {
            let lin = w * PER + k;
            if (lin < total) {
                word = insertBits(word, bitcast<u32>(value(coords(lin, ndim), ndim)), k * BITS, BITS);
            }
        }
        out_buf[w] = word;
    }
}
