// Fourier transforms, step 2: one radix-2 Stockham pass over every lane (M values, a
// power of two), from `src` to `dst`; after log2(M) passes with p = 1, 2, ..., M/2 the
// lane holds its transform in natural order (no bit reversal). `tw[j]` is
// exp(±2πi j / M) for j < M/2, computed on the host in f64 (the sign picks the
// direction). meta as in fft_load.wgsl, fmeta[8] = p.

@group(0) @binding(0) var<storage, read> fmeta: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<SCALAR>;
@group(0) @binding(2) var<storage, read> src: array<SCALAR>;
@group(0) @binding(3) var<storage, read> tw: array<SCALAR>;

fn at(i: u32) -> vec2<SCALAR> {
    return vec2<SCALAR>(src[2u * i], src[2u * i + 1u]);
}

fn put(i: u32, v: vec2<SCALAR>) {
    dst[2u * i] = v.x;
    dst[2u * i + 1u] = v.y;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let big = fmeta[2];
    let half = big / 2u;
    let p = fmeta[8];
    let total = fmeta[0] * half;
    let threads = nwg.x * 256u;
    for (var idx = gid.x; idx < total; idx = idx + threads) {
        let base = (idx / half) * big;
        let i = idx % half;
        let k = i & (p - 1u);
        let u0 = at(base + i);
        let b = at(base + i + half);
        let t = k * (half / p);
        let w = vec2<SCALAR>(tw[2u * t], tw[2u * t + 1u]);
        let u1 = vec2<SCALAR>(b.x * w.x - b.y * w.y, b.x * w.y + b.y * w.x);
        let j = base + 2u * (i - k) + k;
        put(j, u0 + u1);
        put(j + p, u0 - u1);
    }
}
