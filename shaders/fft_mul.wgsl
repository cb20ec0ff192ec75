// Fourier transforms, step 3 of Bluestein's algorithm: every lane's spectrum times the
// chirp filter's (computed once per length on the host, divided by M), in place.

@group(0) @binding(0) var<storage, read> fmeta: array<u32>;
@group(0) @binding(1) var<storage, read_write> work: array<SCALAR>;
@group(0) @binding(2) var<storage, read> filt: array<SCALAR>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let big = fmeta[2];
    let total = fmeta[0] * big;
    let threads = nwg.x * 256u;
    for (var idx = gid.x; idx < total; idx = idx + threads) {
        let f = idx % big;
        let a = vec2<SCALAR>(work[2u * idx], work[2u * idx + 1u]);
        let w = vec2<SCALAR>(filt[2u * f], filt[2u * f + 1u]);
        work[2u * idx] = a.x * w.x - a.y * w.y;
        work[2u * idx + 1u] = a.x * w.y + a.y * w.x;
    }
}
