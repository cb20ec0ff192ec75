// Batched matrix product C[b] = A[b] · B[b] of C-contiguous (batch, m, k) and (batch, k, n)
// operands. Each 16×16 workgroup computes a 64×64 tile of C, four by four outputs per
// thread, streaming 64×16 and 16×64 tiles of A and B through workgroup memory.
// `SCALAR` is replaced by f32 or f64 when the kernel is built.

@group(0) @binding(0) var<storage, read> dims: array<u32>;
@group(0) @binding(1) var<storage, read_write> c: array<SCALAR>;
@group(0) @binding(2) var<storage, read> a: array<SCALAR>;
@group(0) @binding(3) var<storage, read> b: array<SCALAR>;

var<workgroup> ta: array<array<SCALAR, 16>, 64>;
var<workgroup> tb: array<array<SCALAR, 64>, 16>;

@compute @workgroup_size(16, 16)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let m = dims[1];
    let k = dims[2];
    let n = dims[3];
    let batch = wid.z;
    let row0 = wid.y * 64u;
    let col0 = wid.x * 64u;
    let t = lid.y * 16u + lid.x;
    var acc: array<array<SCALAR, 4>, 4>;
    for (var k0 = 0u; k0 < k; k0 = k0 + 16u) {
        for (var i = 0u; i < 4u; i = i + 1u) {
            let idx = t + i * 256u;
            let r = idx / 16u;
            let kk = idx % 16u;
            var va = SCALAR(0.0);
            if (row0 + r < m && k0 + kk < k) {
                va = a[(batch * m + row0 + r) * k + k0 + kk];
            }
            ta[r][kk] = va;
            let rb = idx / 64u;
            let cb = idx % 64u;
            var vb = SCALAR(0.0);
            if (k0 + rb < k && col0 + cb < n) {
                vb = b[(batch * k + k0 + rb) * n + col0 + cb];
            }
            tb[rb][cb] = vb;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < 16u; kk = kk + 1u) {
            var bv: array<SCALAR, 4>;
            for (var j = 0u; j < 4u; j = j + 1u) {
                bv[j] = tb[kk][lid.x * 4u + j];
            }
            for (var i = 0u; i < 4u; i = i + 1u) {
                let av = ta[lid.y * 4u + i][kk];
                for (var j = 0u; j < 4u; j = j + 1u) {
                    acc[i][j] = acc[i][j] + av * bv[j];
                }
            }
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i = i + 1u) {
        let r = row0 + lid.y * 4u + i;
        for (var j = 0u; j < 4u; j = j + 1u) {
            let cc = col0 + lid.x * 4u + j;
            if (r < m && cc < n) {
                c[(batch * m + r) * n + cc] = acc[i][j];
            }
        }
    }
}
