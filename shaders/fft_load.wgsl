// Fourier transforms, step 1 of 4: each lane's input values into the work buffer as
// complex pairs, M per lane (the FFT length, a power of two). Values past the input's
// length (or the transform's n) are zeros; a real input gets imaginary zeros; the
// half spectrum of an inverse real transform is extended to its Hermitian whole
// (imaginary parts at 0 and n/2 dropped, as NumPy does); for Bluestein's algorithm the
// value is multiplied by the chirp w_j. `SCALAR` is f32 or f64.
// meta: [lanes, n, M, m (input length), inner (input stride of the axis), out_len,
//        kind (0 complex input, 1 real input, 2 half spectrum in and reals out),
//        chirp (0/1), p, -]

@group(0) @binding(0) var<storage, read> fmeta: array<u32>;
@group(0) @binding(1) var<storage, read_write> work: array<SCALAR>;
@group(0) @binding(2) var<storage, read> src: array<SCALAR>;
@group(0) @binding(3) var<storage, read> chirp: array<SCALAR>;

fn value(lane: u32, j: u32) -> vec2<SCALAR> {
    let m = fmeta[3];
    if (j >= m) {
        return vec2<SCALAR>(SCALAR(0.0), SCALAR(0.0));
    }
    let inner = fmeta[4];
    let e = ((lane / inner) * m + j) * inner + lane % inner;
    if (fmeta[6] == 1u) {
        return vec2<SCALAR>(src[e], SCALAR(0.0));
    }
    return vec2<SCALAR>(src[2u * e], src[2u * e + 1u]);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let n = fmeta[1];
    let big = fmeta[2];
    let total = fmeta[0] * big;
    let threads = nwg.x * 256u;
    for (var idx = gid.x; idx < total; idx = idx + threads) {
        let lane = idx / big;
        let j = idx % big;
        var v = vec2<SCALAR>(SCALAR(0.0), SCALAR(0.0));
        if (j < n) {
            if (fmeta[6] == 2u) {
                if (2u * j <= n) {
                    v = value(lane, j);
                    if (j == 0u || 2u * j == n) {
                        v.y = SCALAR(0.0);
                    }
                } else {
                    let c = value(lane, n - j);
                    v = vec2<SCALAR>(c.x, -c.y);
                }
            } else {
                v = value(lane, j);
            }
            if (fmeta[7] == 1u) {
                let w = vec2<SCALAR>(chirp[2u * j], chirp[2u * j + 1u]);
                v = vec2<SCALAR>(v.x * w.x - v.y * w.y, v.x * w.y + v.y * w.x);
            }
        }
        work[2u * idx] = v.x;
        work[2u * idx + 1u] = v.y;
    }
}
