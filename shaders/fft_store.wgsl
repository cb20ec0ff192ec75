// Fourier transforms, step 4: the first out_len values of each lane (times the chirp
// for Bluestein's algorithm, times the norm's scale) into the output chunk, whose axis
// has stride `inner`; an inverse real transform keeps the real parts.
// meta as in fft_load.wgsl; params[0] = scale.

@group(0) @binding(0) var<storage, read> fmeta: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<SCALAR>;
@group(0) @binding(2) var<storage, read> work: array<SCALAR>;
@group(0) @binding(3) var<storage, read> chirp: array<SCALAR>;
@group(0) @binding(4) var<storage, read> params: array<SCALAR>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let big = fmeta[2];
    let inner = fmeta[4];
    let out_len = fmeta[5];
    let total = fmeta[0] * out_len;
    let threads = nwg.x * 256u;
    for (var idx = gid.x; idx < total; idx = idx + threads) {
        let lane = idx / out_len;
        let k = idx % out_len;
        let w0 = lane * big + k;
        var v = vec2<SCALAR>(work[2u * w0], work[2u * w0 + 1u]);
        if (fmeta[7] == 1u) {
            let w = vec2<SCALAR>(chirp[2u * k], chirp[2u * k + 1u]);
            v = vec2<SCALAR>(v.x * w.x - v.y * w.y, v.x * w.y + v.y * w.x);
        }
        v = v * params[0];
        let e = ((lane / inner) * out_len + k) * inner + lane % inner;
        if (fmeta[6] == 2u) {
            dst[e] = v.x;
        } else {
            dst[2u * e] = v.x;
            dst[2u * e + 1u] = v.y;
        }
    }
}
