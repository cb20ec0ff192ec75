//! Blocked linear algebra: `tensordot`, `matmul`, TSQR `qr`, `svd`, randomized
//! `svd_compressed`, `cholesky`, `solve_triangular`, `solve`, `lstsq`, `inv` and `norm`.
//! Each builds lazy nodes; dense chunk kernels run on faer (CPU).

use super::elementwise::broadcast_shapes;
use super::indexing::norm_axis;
pub use super::matrix_ops::{
    cross, matrix_norm, matrix_power, matrix_rank, outer, pinv, trace, vector_norm, MatrixOrd,
};
pub use super::stacked::{
    cholesky_upper, det, eig, eigh, eigvals, eigvalsh, qr_mode, slogdet, svd_full, svdvals,
};
use super::{Array, Decomp, Node, Op};
use crate::chunks::{ChunkGrid, Chunks};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::Index;

fn float_check(op: &'static str, n: &Node) -> Result<()> {
    if n.dtype.is_float() {
        Ok(())
    } else {
        Err(Error::UnsupportedDType {
            op,
            dtype: n.dtype,
            device: "any device".into(),
            hint: "linear algebra runs on floating point; call .astype(DType::F64) first".into(),
        })
    }
}

/// Whether `a` takes the per-matrix path: a stack (not 2-d), a dtype the blocked
/// kernels do not compute in (complex, integers), or one chunk (one faer call is all the
/// blocked algorithms would do, and it handles every shape, empty ones too).
fn stacked_form(a: &Array) -> bool {
    a.node()
        .is_ok_and(|n| n.shape.len() != 2 || !n.dtype.is_float() || n.grid.num_blocks() == 1)
}

fn two_d(op: &'static str, n: &Node) -> Result<(usize, usize)> {
    if n.shape.len() != 2 {
        return Err(Error::arg(
            op,
            format!("needs a 2-d array, got shape {:?}", n.shape),
        ));
    }
    Ok((n.shape[0], n.shape[1]))
}

/// Union of two chunkings of one axis.
fn union(a: &[usize], b: &[usize], len: usize) -> Vec<usize> {
    let mut v: Vec<usize> = a.iter().chain(b).copied().collect();
    v.sort_unstable();
    v.dedup();
    if len == 0 {
        return vec![0];
    }
    v.windows(2).map(|w| w[1] - w[0]).collect()
}

/// Contraction node of `a (batch…, M…, K…)` and `b (batch…, K…, N…)`.
fn contract(a: &Array, b: &Array, batch: usize, m: usize, k: usize) -> Result<Array> {
    let (na, nb) = (a.node()?, b.node()?);
    let dtype = na.dtype.promote(nb.dtype);
    let (a, b) = (a.astype(dtype), b.astype(dtype));
    let (na, nb) = (a.node()?, b.node()?);
    if na.dtype == DType::Bool {
        return Err(Error::UnsupportedDType {
            op: "matmul",
            dtype: na.dtype,
            device: "any device".into(),
            hint: "multiply numbers: call .astype(DType::I64) (or a float dtype) first".into(),
        });
    }
    let mut shape = vec![];
    let mut chunks = vec![];
    for i in 0..batch {
        shape.push(na.shape[i]);
        chunks.push(union(
            na.grid.boundaries(i),
            nb.grid.boundaries(i),
            na.shape[i],
        ));
    }
    for i in batch..batch + m {
        shape.push(na.shape[i]);
        chunks.push(na.grid.sizes(i).to_vec());
    }
    for i in batch + k..nb.shape.len() {
        shape.push(nb.shape[i]);
        chunks.push(nb.grid.sizes(i).to_vec());
    }
    let k_grid = (0..k)
        .map(|j| {
            union(
                na.grid.boundaries(batch + m + j),
                nb.grid.boundaries(batch + j),
                na.shape[batch + m + j],
            )
        })
        .collect();
    Ok(Array::new(
        Op::Contract { batch, m, k_grid },
        vec![a.clone(), b.clone()],
        shape,
        dtype,
        ChunkGrid::new(chunks),
    ))
}

/// Sums products over `axes_a` of `a` and `axes_b` of `b` (NumPy's `tensordot`), as
/// blockwise products of aligned chunk pairs and a tree sum over the contracted blocks.
///
/// ```
/// let a = tessera::ones(&[3, 4, 5], 2).unwrap();
/// let b = tessera::ones(&[5, 4, 2], 3).unwrap();
/// let c = tessera::linalg::tensordot(&a, &b, &[1, 2], &[1, 0]);
/// assert_eq!(c.shape(), &[3, 2]);
/// assert_eq!(c.compute::<f64>().unwrap()[[0, 0]], 20.0);
/// ```
pub fn tensordot(a: &Array, b: &Array, axes_a: &[isize], axes_b: &[isize]) -> Array {
    let go = || -> Result<Array> {
        let (na, nb) = (a.node()?, b.node()?);
        if axes_a.len() != axes_b.len() {
            return Err(Error::arg(
                "tensordot",
                format!("{} axes of a but {} of b", axes_a.len(), axes_b.len()),
            ));
        }
        let ca: Vec<usize> = axes_a
            .iter()
            .map(|&x| norm_axis("tensordot", x, &na.shape))
            .collect::<Result<_>>()?;
        let cb: Vec<usize> = axes_b
            .iter()
            .map(|&x| norm_axis("tensordot", x, &nb.shape))
            .collect::<Result<_>>()?;
        for (&i, &j) in ca.iter().zip(&cb) {
            if na.shape[i] != nb.shape[j] {
                return Err(Error::ShapeMismatch {
                    op: "tensordot",
                    left: na.shape.clone(),
                    right: nb.shape.clone(),
                    hint: format!(
                        "contracted axis {i} of a has length {} but axis {j} of b has {}",
                        na.shape[i], nb.shape[j]
                    ),
                });
            }
        }
        let fa: Vec<usize> = (0..na.shape.len()).filter(|x| !ca.contains(x)).collect();
        let fb: Vec<usize> = (0..nb.shape.len()).filter(|x| !cb.contains(x)).collect();
        let pa = a.permute_axes(&[fa.clone(), ca.clone()].concat());
        let pb = b.permute_axes(&[cb.clone(), fb].concat());
        contract(&pa, &pb, 0, fa.len(), ca.len())
    };
    go().unwrap_or_else(Array::err)
}

/// Matrix product with NumPy's rules: 1-d operands are promoted to a row or column and
/// the axis dropped again; leading axes are batch axes and broadcast.
///
/// ```
/// let a = tessera::random::uniform(&[6, 4], 3, 1).unwrap();
/// let b = tessera::random::uniform(&[4, 5], 2, 2).unwrap();
/// let c = tessera::linalg::matmul(&a, &b).compute::<f64>().unwrap();
/// let (av, bv) = (a.compute::<f64>().unwrap(), b.compute::<f64>().unwrap());
/// let expect = av.into_dimensionality::<ndarray::Ix2>().unwrap().dot(&bv.into_dimensionality::<ndarray::Ix2>().unwrap());
/// assert!((c[[2, 3]] - expect[[2, 3]]).abs() < 1e-12);
/// ```
pub fn matmul(a: &Array, b: &Array) -> Array {
    let go = || -> Result<Array> {
        let (na, nb) = (a.node()?, b.node()?);
        if na.shape.is_empty() || nb.shape.is_empty() {
            return Err(Error::arg(
                "matmul",
                "scalar operands are not allowed; use * for scaling",
            ));
        }
        let (a1, b1) = (na.shape.len() == 1, nb.shape.len() == 1);
        let a2 = if a1 { a.expand_dims(0) } else { a.clone() };
        let b2 = if b1 { b.expand_dims(-1) } else { b.clone() };
        let (sa, sb) = (a2.shape().to_vec(), b2.shape().to_vec());
        let (ka, kb) = (sa[sa.len() - 1], sb[sb.len() - 2]);
        if ka != kb {
            return Err(Error::ShapeMismatch {
                op: "matmul",
                left: na.shape.clone(),
                right: nb.shape.clone(),
                hint: format!(
                    "the last axis of a ({ka}) must equal the second-to-last axis of b ({kb})"
                ),
            });
        }
        let batch = broadcast_shapes("matmul", &sa[..sa.len() - 2], &sb[..sb.len() - 2])?;
        let a3 = a2.broadcast_to(&[batch.clone(), sa[sa.len() - 2..].to_vec()].concat());
        let b3 = b2.broadcast_to(&[batch.clone(), sb[sb.len() - 2..].to_vec()].concat());
        let mut c = contract(&a3, &b3, batch.len(), 1, 1)?;
        if b1 {
            c = c.squeeze(Some(&[-1]));
        }
        if a1 {
            c = c.squeeze(Some(&[-(if b1 { 1 } else { 2 })]));
        }
        c.check()?;
        Ok(c)
    };
    go().unwrap_or_else(Array::err)
}

impl Array {
    /// Matrix product (`self @ other`), see [`matmul`].
    pub fn matmul(&self, other: &Array) -> Array {
        matmul(self, other)
    }

    /// Same as [`Array::matmul`] (NumPy's `dot` for 1-d and 2-d operands).
    pub fn dot(&self, other: &Array) -> Array {
        matmul(self, other)
    }
}

fn decomp(d: Decomp, input: &Array, shape: Vec<usize>, grid: ChunkGrid) -> Array {
    let dtype = input.dtype();
    Array::new(Op::Decomp(d), vec![input.clone()], shape, dtype, grid)
}

fn tsqr(a: &Array, n: &Node) -> (Array, Array) {
    let (m, c) = (n.shape[0], n.shape[1]);
    let k = m.min(c);
    let q = decomp(
        Decomp::TsqrQ,
        a,
        vec![m, k],
        ChunkGrid::new(vec![n.grid.sizes(0).to_vec(), vec![k]]),
    );
    let r = decomp(
        Decomp::TsqrR,
        a,
        vec![k, c],
        ChunkGrid::new(vec![vec![k], vec![c]]),
    );
    (q, r)
}

/// QR decomposition, lazy `(Q, R)`: TSQR (Benson, Gleich, Demmel; a tree of QRs when
/// there are many row blocks) for arrays chunked along rows only; for one row of blocks,
/// QR of the first column block and `R = [R₁, Qᵀ A₂, …]`.
///
/// ```
/// let a = tessera::random::uniform(&[100, 5], &[30, 5], 3).unwrap();
/// let (q, r) = tessera::linalg::qr(&a);
/// let back = q.matmul(&r).compute::<f64>().unwrap();
/// let orig = a.compute::<f64>().unwrap();
/// assert!(back.iter().zip(orig.iter()).all(|(x, y)| (x - y).abs() < 1e-12));
/// ```
pub fn qr(a: &Array) -> (Array, Array) {
    if stacked_form(a) {
        return super::stacked::qr_mode(a, false);
    }
    let go = || -> Result<(Array, Array)> {
        let n = a.node()?;
        let (m, c) = two_d("qr", n)?;
        float_check("qr", n)?;
        if n.grid.sizes(1).len() == 1 {
            return Ok(tsqr(a, n));
        }
        if n.grid.sizes(0).len() == 1 {
            let c1 = n.grid.sizes(1)[0];
            if c1 < m {
                return Err(Error::InvalidChunks {
                    op: "qr",
                    shape: n.shape.clone(),
                    reason: format!("short-and-fat QR needs the first column chunk ({c1}) to be at least the row count ({m}); use a.rechunk(&[{m}, {m}])"),
                });
            }
            let first = a.slice(&[Index::all(), Index::slice(None, Some(c1 as isize), 1)]);
            let rest = a.slice(&[Index::all(), Index::slice(Some(c1 as isize), None, 1)]);
            let (q, r1) = tsqr(&first, first.node()?);
            let r = super::concatenate(&[&r1, &q.t().matmul(&rest)], 1);
            return Ok((q, r));
        }
        let rc = n.grid.max_chunk()[0];
        Err(Error::InvalidChunks {
            op: "qr",
            shape: n.shape.clone(),
            reason: format!("TSQR needs chunks along rows only (one column chunk) but the array has {} column chunks; use a.rechunk(&[{rc}, {c}])", n.grid.sizes(1).len()),
        })
    };
    match go() {
        Ok(x) => x,
        Err(e) => (Array::err(e.clone()), Array::err(e)),
    }
}

/// A lazy singular value decomposition `A = U · diag(S) · Vt`.
#[derive(Debug, Clone)]
pub struct Svd {
    /// Left singular vectors (`m × k`).
    pub u: Array,
    /// Singular values, largest first (`k`).
    pub s: Array,
    /// Right singular vectors, transposed (`k × n`).
    pub vt: Array,
}

/// Makes the largest-magnitude entry of every column of `u` positive (flipping the
/// matching row of `vt`), so results do not depend on chunking or device.
fn fix_signs(u: &Array, vt: &Array) -> (Array, Array) {
    let sign = super::where_(&u.max_axis(0).ge(-u.min_axis(0)), 1.0, -1.0).astype(u.dtype());
    (u * &sign, vt * &sign.expand_dims(1))
}

fn small_svd(r: &Array) -> Result<(Array, Array, Array)> {
    let rn = r.node()?;
    let (k, c) = two_d("svd", rn)?;
    let rr = k.min(c);
    let single = |s: Vec<usize>| ChunkGrid::new(s.iter().map(|&x| vec![x]).collect());
    let r1 = if rn.grid.num_blocks() == 1 {
        r.clone()
    } else {
        r.rechunk(vec![k, c])
    };
    Ok((
        decomp(Decomp::SmallSvd(0), &r1, vec![k, rr], single(vec![k, rr])),
        decomp(Decomp::SmallSvd(1), &r1, vec![rr], single(vec![rr])),
        decomp(Decomp::SmallSvd(2), &r1, vec![rr, c], single(vec![rr, c])),
    ))
}

fn svd_raw(a: &Array) -> Result<(Array, Array, Array)> {
    let n = a.node()?;
    let (m, c) = two_d("svd", n)?;
    float_check("svd", n)?;
    if n.grid.sizes(1).len() == 1 {
        let (q, r) = tsqr(a, n);
        let (ur, s, vt) = small_svd(&r)?;
        return Ok((q.matmul(&ur), s, vt));
    }
    if n.grid.sizes(0).len() == 1 {
        let (u2, s, vt2) = svd_raw(&a.t())?;
        return Ok((vt2.t(), s, u2.t()));
    }
    let (rc, cc) = (n.grid.max_chunk()[0], n.grid.max_chunk()[1]);
    Err(Error::InvalidChunks {
        op: "svd",
        shape: n.shape.clone(),
        reason: format!("TSQR-based SVD needs one of the axes in a single chunk; use a.rechunk(&[{rc}, {c}]) (tall) or a.rechunk(&[{m}, {cc}]) (wide), or svd_compressed for a low-rank approximation"),
    })
}

/// Thin SVD via TSQR of `A` (tall-and-skinny, row chunks only) or of `Aᵀ` (one row of
/// blocks). Signs are deterministic: the largest-magnitude entry of every left singular
/// vector is positive.
///
/// ```
/// let a = tessera::random::normal(&[200, 6], &[50, 6], 9).unwrap();
/// let svd = tessera::linalg::svd(&a);
/// let s = svd.s.compute::<f64>().unwrap();
/// assert!(s.iter().zip(s.iter().skip(1)).all(|(a, b)| a >= b));
/// ```
pub fn svd(a: &Array) -> Svd {
    if stacked_form(a) {
        return super::stacked::svd_full(a, false);
    }
    match svd_raw(a) {
        Ok((u, s, vt)) => {
            let (u, vt) = fix_signs(&u, &vt);
            Svd { u, s, vt }
        }
        Err(e) => Svd {
            u: Array::err(e.clone()),
            s: Array::err(e.clone()),
            vt: Array::err(e),
        },
    }
}

/// Options of [`svd_compressed`].
#[derive(Debug, Clone, Copy)]
pub struct CompressedSvd {
    /// Extra random directions beyond `k` (default 10).
    pub oversampling: usize,
    /// Power iterations, for slowly decaying spectra (default 0).
    pub n_power_iter: usize,
    /// Seed of the (chunking-invariant) random test matrix.
    pub seed: u64,
}

impl Default for CompressedSvd {
    fn default() -> Self {
        CompressedSvd {
            oversampling: 10,
            n_power_iter: 0,
            seed: 0,
        }
    }
}

/// Randomized rank-`k` SVD (Halko, Martinsson, Tropp): `Y = A Ω`, `Q = qr(Y)` (with
/// optional power iterations), `B = Qᵀ A`, SVD of `B`, `U = Q U_B`.
///
/// ```
/// use tessera::linalg::{svd_compressed, CompressedSvd};
/// let a = tessera::random::uniform(&[300, 200], 100, 4).unwrap();
/// let svd = svd_compressed(&a, 5, CompressedSvd::default());
/// assert_eq!(svd.u.shape(), &[300, 5]);
/// assert_eq!(svd.vt.shape(), &[5, 200]);
/// ```
pub fn svd_compressed(a: &Array, k: usize, opts: CompressedSvd) -> Svd {
    let go = || -> Result<Svd> {
        let n = a.node()?;
        let (m, c) = two_d("svd_compressed", n)?;
        float_check("svd_compressed", n)?;
        if k == 0 || k > m.min(c) {
            return Err(Error::arg(
                "svd_compressed",
                format!(
                    "k = {k} must be between 1 and min(m, n) = {} for shape {:?}",
                    m.min(c),
                    n.shape
                ),
            ));
        }
        let l = (k + opts.oversampling).min(m.min(c));
        let omega = crate::random::normal_with(
            &[c, l],
            Chunks::Explicit(vec![n.grid.sizes(1).to_vec(), vec![l]]),
            opts.seed,
            0.0,
            1.0,
            n.dtype,
        )?;
        let orth = |y: &Array| qr(y).0;
        let mut q = orth(&a.matmul(&omega));
        for _ in 0..opts.n_power_iter {
            let z = orth(&a.t().matmul(&q));
            q = orth(&a.matmul(&z));
        }
        let b = q.t().matmul(a);
        let (ub, s, vt) = svd_raw(&b)?;
        let u = q.matmul(&ub);
        let ks = Index::slice(None, Some(k as isize), 1);
        let (u, vt) = fix_signs(&u.slice(&[Index::all(), ks]), &vt.slice(&[ks]));
        Ok(Svd {
            u,
            s: s.slice(&[ks]),
            vt,
        })
    };
    go().unwrap_or_else(|e| Svd {
        u: Array::err(e.clone()),
        s: Array::err(e.clone()),
        vt: Array::err(e),
    })
}

fn square_chunks(op: &'static str, n: &Node) -> Result<()> {
    let (r, c) = two_d(op, n)?;
    if r != c {
        return Err(Error::ShapeMismatch {
            op,
            left: n.shape.clone(),
            right: vec![c, r],
            hint: "the matrix must be square".into(),
        });
    }
    if n.grid.sizes(0) != n.grid.sizes(1) {
        let s = n.grid.max_chunk()[0];
        return Err(Error::InvalidChunks {
            op,
            shape: n.shape.clone(),
            reason: format!("blocked {op} needs square chunks (the same chunking on both axes); use a.rechunk({s})"),
        });
    }
    Ok(())
}

/// Lower Cholesky factor `L` (`A = L Lᵀ`) of a symmetric positive definite matrix with
/// square chunks, blocked right-looking. A matrix that is not positive definite fails
/// at compute time with a clear error.
///
/// ```
/// let a = tessera::from_ndarray(ndarray::arr2(&[[4.0, 2.0], [2.0, 3.0]]).into_dyn(), 1).unwrap();
/// let l = tessera::linalg::cholesky(&a).compute::<f64>().unwrap();
/// assert_eq!(l[[0, 0]], 2.0);
/// assert_eq!(l[[0, 1]], 0.0);
/// ```
pub fn cholesky(a: &Array) -> Array {
    if stacked_form(a) {
        return super::stacked::cholesky_stack(a);
    }
    a.then(|n| {
        square_chunks("cholesky", n)?;
        float_check("cholesky", n)?;
        Ok(decomp(Decomp::Cholesky, a, n.shape.clone(), n.grid.clone()))
    })
}

/// Solves `T x = b` for triangular `T` (square chunks), blocked forward or backward
/// substitution; `b` is 1-d or 2-d and is re-blocked to `T`'s row chunks.
///
/// ```
/// let t = tessera::from_ndarray(ndarray::arr2(&[[2.0, 0.0], [1.0, 1.0]]).into_dyn(), 1).unwrap();
/// let b = tessera::from_ndarray(ndarray::arr1(&[4.0, 3.0]).into_dyn(), 1).unwrap();
/// let x = tessera::linalg::solve_triangular(&t, &b, true).compute::<f64>().unwrap();
/// assert_eq!(x.as_slice().unwrap(), &[2.0, 1.0]);
/// ```
pub fn solve_triangular(t: &Array, b: &Array, lower: bool) -> Array {
    let go = || -> Result<Array> {
        let tn = t.node()?;
        let bn = b.node()?;
        square_chunks("solve_triangular", tn)?;
        if bn.shape.is_empty() || bn.shape.len() > 2 || bn.shape[0] != tn.shape[0] {
            return Err(Error::ShapeMismatch {
                op: "solve_triangular",
                left: tn.shape.clone(),
                right: bn.shape.clone(),
                hint: "b must be 1-d or 2-d with as many rows as the matrix".into(),
            });
        }
        let dtype = tn.dtype.promote(bn.dtype).to_float();
        let (t, b) = (t.astype(dtype), b.astype(dtype));
        let mut chunks = vec![tn.grid.sizes(0).to_vec()];
        if bn.shape.len() == 2 {
            chunks.push(bn.grid.sizes(1).to_vec());
        }
        Ok(Array::new(
            Op::Decomp(Decomp::TriSolve { lower }),
            vec![t, b],
            bn.shape.clone(),
            dtype,
            ChunkGrid::new(chunks),
        ))
    };
    go().unwrap_or_else(Array::err)
}

/// Chunks that put every column in one chunk (row chunks kept), for TSQR.
fn rows_only(a: &Array, n: &Node) -> Array {
    if n.grid.sizes(1).len() == 1 {
        a.clone()
    } else {
        a.rechunk(Chunks::Explicit(vec![
            n.grid.sizes(0).to_vec(),
            vec![n.shape[1]],
        ]))
    }
}

/// Solves the square system `A x = b` through TSQR: `x = R⁻¹ Qᵀ b` (columns of A are
/// gathered into one chunk first when needed). A singular `A` (numerical rank below
/// its size, NumPy's `matrix_rank` tolerance) is an [`Error::LinAlg`] naming the rank.
///
/// ```
/// let a = tessera::from_ndarray(ndarray::arr2(&[[3.0, 1.0], [1.0, 2.0]]).into_dyn(), 1).unwrap();
/// let b = tessera::from_ndarray(ndarray::arr1(&[9.0, 8.0]).into_dyn(), 1).unwrap();
/// let x = tessera::linalg::solve(&a, &b).compute::<f64>().unwrap();
/// assert!((x[[0]] - 2.0).abs() < 1e-12 && (x[[1]] - 3.0).abs() < 1e-12);
/// ```
pub fn solve(a: &Array, b: &Array) -> Array {
    let b_stack = b
        .node()
        .is_ok_and(|n| n.shape.len() > 2 || !n.dtype.is_float());
    if stacked_form(a) || b_stack {
        return super::stacked::solve_stack(a, b);
    }
    solve_as("solve", a, b)
}

fn solve_as(op: &'static str, a: &Array, b: &Array) -> Array {
    let go = || -> Result<Array> {
        let n = a.node()?;
        let (r, c) = two_d(op, n)?;
        if r != c {
            return Err(Error::ShapeMismatch {
                op,
                left: n.shape.clone(),
                right: b.shape().to_vec(),
                hint: format!("{op} needs a square matrix; use lstsq for least squares"),
            });
        }
        let l = lstsq(a, b);
        let xn = l.x.node()?;
        // The solution passes through a check of A's singular values, so a singular
        // matrix is an error instead of infinities.
        Ok(Array::new(
            Op::Decomp(Decomp::FullRank {
                op,
                rows: r,
                cols: c,
            }),
            vec![l.x.clone(), l.s],
            xn.shape.clone(),
            xn.dtype,
            xn.grid.clone(),
        ))
    };
    go().unwrap_or_else(Array::err)
}

/// Least-squares solution of `A x ≈ b` via TSQR, with NumPy's extras.
#[derive(Debug, Clone)]
pub struct Lstsq {
    /// The least-squares solution.
    pub x: Array,
    /// Squared residual norm per column of b (shape `(1,)` for a 1-d b, as in NumPy).
    pub residuals: Array,
    /// Numerical rank of A (i64, 0-d).
    pub rank: Array,
    /// Singular values of A.
    pub s: Array,
}

/// Least squares `min ‖A x − b‖` for tall `A` (`m ≥ n`) via TSQR: `x = R⁻¹ Qᵀ b`.
///
/// ```
/// let a = tessera::from_ndarray(ndarray::arr2(&[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]).into_dyn(), 2).unwrap();
/// let b = tessera::from_ndarray(ndarray::arr1(&[1.0, 1.0, 3.0]).into_dyn(), 2).unwrap();
/// let l = tessera::linalg::lstsq(&a, &b);
/// let x = l.x.compute::<f64>().unwrap();
/// assert!((x[[0]] - 4.0 / 3.0).abs() < 1e-12);
/// assert_eq!(l.rank.compute_scalar::<i64>().unwrap(), 2);
/// ```
pub fn lstsq(a: &Array, b: &Array) -> Lstsq {
    let go = || -> Result<Lstsq> {
        let n = a.node()?;
        let bn = b.node()?;
        let (m, c) = two_d("lstsq", n)?;
        float_check("lstsq", n)?;
        if m < c {
            return Err(Error::arg("lstsq", format!("needs at least as many rows as columns (shape {:?}); underdetermined systems are not supported yet", n.shape)));
        }
        if bn.shape.is_empty() || bn.shape.len() > 2 || bn.shape[0] != m {
            return Err(Error::ShapeMismatch {
                op: "lstsq",
                left: n.shape.clone(),
                right: bn.shape.clone(),
                hint: "b must be 1-d or 2-d with as many rows as A".into(),
            });
        }
        let a1 = rows_only(a, n);
        let (q, r) = qr(&a1);
        let y = q.t().matmul(b);
        let x = solve_triangular(&r.rechunk(vec![c, c]), &y, false);
        let resid = b - &a.matmul(&x);
        // NumPy and dask give a 1-d b one residual, shape (1,).
        let residuals = (&resid * &resid).sum_axis(0);
        let residuals = if bn.shape.len() == 1 {
            residuals.reshape(&[1])
        } else {
            residuals
        };
        let (_, s, _) = small_svd(&r)?;
        let tol = (m.max(c) as f64) * f64::EPSILON;
        let rank = s.gt(s.max() * tol).astype(DType::I64).sum();
        Ok(Lstsq {
            x,
            residuals,
            rank,
            s,
        })
    };
    go().unwrap_or_else(|e| Lstsq {
        x: Array::err(e.clone()),
        residuals: Array::err(e.clone()),
        rank: Array::err(e.clone()),
        s: Array::err(e),
    })
}

/// Inverse of a square matrix (`solve(A, I)`), for moderate sizes.
///
/// ```
/// let a = tessera::from_ndarray(ndarray::arr2(&[[2.0, 0.0], [0.0, 4.0]]).into_dyn(), 1).unwrap();
/// let i = tessera::linalg::inv(&a).compute::<f64>().unwrap();
/// assert!((i[[1, 1]] - 0.25).abs() < 1e-15);
/// ```
pub fn inv(a: &Array) -> Array {
    if stacked_form(a) {
        return super::stacked::inv_stack(a);
    }
    a.then(|n| {
        let (r, _) = two_d("inv", n)?;
        let eye = crate::eye(
            r,
            None,
            0,
            Chunks::Explicit(vec![n.grid.sizes(0).to_vec(), vec![r]]),
        )?
        .astype(n.dtype.to_float());
        Ok(solve_as("inv", a, &eye))
    })
}

/// Which norm [`norm`] computes (NumPy's `ord`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NormOrd {
    /// Frobenius (matrices; the default) or 2-norm (vectors).
    Default,
    /// Frobenius norm.
    Fro,
    /// Nuclear norm (sum of singular values).
    Nuc,
    /// Vectors: max |x|. Matrices: max row sum of |a|.
    Inf,
    /// Vectors: min |x|. Matrices: min row sum of |a|.
    NegInf,
    /// Vectors: (Σ|x|^p)^(1/p) (p = 0 counts non-zeros). Matrices: p = 1 max column sum,
    /// 2 the largest singular value, -2 the smallest, -1 min column sum.
    P(f64),
}

/// Vector or matrix norm, like `numpy.linalg.norm`: with `axis` (or a 1-d input) a vector
/// norm along it, otherwise a matrix norm of a 2-d input (2-norms via TSQR-based SVD).
///
/// ```
/// use tessera::linalg::{norm, NormOrd};
/// let v = tessera::from_ndarray(ndarray::arr1(&[3.0, -4.0]).into_dyn(), 1).unwrap();
/// assert_eq!(norm(&v, NormOrd::Default, None).compute_scalar::<f64>().unwrap(), 5.0);
/// assert_eq!(norm(&v, NormOrd::Inf, None).compute_scalar::<f64>().unwrap(), 4.0);
/// ```
pub fn norm(a: &Array, ord: NormOrd, axis: Option<isize>) -> Array {
    a.then(|n| {
        let x = a.astype(n.dtype.to_float());
        let vector = axis.is_some() || n.shape.len() == 1;
        if vector {
            let ax = axis.unwrap_or(0);
            let abs = x.abs();
            return Ok(match ord {
                NormOrd::Default | NormOrd::P(2.0) => (&x * &x).sum_axis(ax).sqrt(),
                NormOrd::Inf => abs.max_axis(ax),
                NormOrd::NegInf => abs.min_axis(ax),
                NormOrd::P(0.0) => x.ne(0.0).astype(n.dtype.to_float()).sum_axis(ax),
                NormOrd::P(1.0) => abs.sum_axis(ax),
                NormOrd::P(p) => abs.pow(p).sum_axis(ax).pow(1.0 / p),
                NormOrd::Fro | NormOrd::Nuc => return Err(Error::arg("norm", "Frobenius and nuclear norms are matrix norms; give a 2-d array and no axis")),
            });
        }
        if n.shape.len() != 2 {
            return match ord {
                NormOrd::Default => Ok((&x * &x).sum().sqrt()),
                _ => Err(Error::arg("norm", format!("ord {ord:?} needs a 1-d or 2-d array, got shape {:?}", n.shape))),
            };
        }
        let sv = || svd_raw(&rows_only(&x, n)).map(|(_, s, _)| s);
        Ok(match ord {
            NormOrd::Default | NormOrd::Fro => (&x * &x).sum().sqrt(),
            NormOrd::Inf => x.abs().sum_axis(1).max(),
            NormOrd::NegInf => x.abs().sum_axis(1).min(),
            NormOrd::P(1.0) => x.abs().sum_axis(0).max(),
            NormOrd::P(-1.0) => x.abs().sum_axis(0).min(),
            NormOrd::P(2.0) => sv()?.max(),
            NormOrd::P(-2.0) => sv()?.min(),
            NormOrd::Nuc => sv()?.sum(),
            NormOrd::P(p) => return Err(Error::arg("norm", format!("matrix norm of order {p} is not defined; use 1, -1, 2, -2, Inf, NegInf, Fro or Nuc"))),
        })
    })
}
