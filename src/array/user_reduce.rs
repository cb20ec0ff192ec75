//! Reductions and scans of your own (dask's `reduction` and `cumreduction`), made of
//! user-function blocks ([`super::map_blocks_fn`]) in the shapes of the built-in ones: a
//! tree of combines over the reduced axes, and a chain along the scanned axis.

use super::{map_blocks_fn, AxisChunks, Index, OutSpec};
use crate::chunks::Chunks;
use crate::dtype::{DType, HostArray};
use crate::error::{Error, Result};
use crate::expr::Array;
use crate::userfn::{BlockFn, BlockInfo};

/// How a user reduction runs and what it gives.
///
/// ```
/// let spec = tessera::array::ReductionSpec::new(&[0], tessera::DType::F64);
/// assert_eq!(spec.split_every, tessera::array::SPLIT_EVERY);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ReductionSpec {
    /// The axes reduced.
    pub axes: Vec<usize>,
    /// Whether the reduced axes stay, with length 1.
    pub keepdims: bool,
    /// The result's dtype (what `aggregate` returns).
    pub dtype: DType,
    /// The partials' dtype (what `chunk` and `combine` return); the result's by default.
    pub partial_dtype: Option<DType>,
    /// Partials combined at once (dask's `split_every`), over all reduced axes together.
    pub split_every: usize,
    /// The name of the functions (`NAME-chunk`, `NAME-combine`, `NAME-aggregate`).
    pub name: String,
}

impl ReductionSpec {
    /// A reduction of `axes` to `dtype`, fan-in [`super::SPLIT_EVERY`].
    pub fn new(axes: &[usize], dtype: DType) -> ReductionSpec {
        ReductionSpec {
            axes: axes.to_vec(),
            keepdims: false,
            dtype,
            partial_dtype: None,
            split_every: super::SPLIT_EVERY,
            name: "reduction".into(),
        }
    }
}

/// A reduction of your own over `spec.axes`, dask's `reduction`: `chunk` turns each block
/// into a partial whose reduced axes have length 1 (NumPy's `keepdims=True`); `combine`
/// turns the partials of up to `split_every` neighbouring blocks, joined along the
/// reduced axes, into one such partial, level after level, until one is left along
/// them; `aggregate` turns that into the result's block (still with the reduced axes
/// of length 1; they are dropped after unless `keepdims`). Every step is one task per
/// block, as the built-in reduction trees are.
///
/// ```
/// use tessera::array::{reduction, ReductionSpec};
/// use tessera::{DType, HostArray};
/// let x = tessera::arange(0.0, 10.0, 1.0, 3).unwrap();
/// let sum = |b: &[&HostArray], _: &_| {
///     let HostArray::F64(a) = b[0] else { unreachable!() };
///     Ok(HostArray::F64(a.sum_axis(ndarray::Axis(0)).insert_axis(ndarray::Axis(0))))
/// };
/// let s = reduction(&x, sum, sum, sum, ReductionSpec::new(&[0], DType::F64));
/// assert_eq!(s.compute_scalar::<f64>().unwrap(), 45.0);
/// ```
pub fn reduction<C, M, A>(
    x: &Array,
    chunk: C,
    combine: M,
    aggregate: A,
    spec: ReductionSpec,
) -> Array
where
    C: Fn(&[&HostArray], &BlockInfo) -> Result<HostArray> + Send + Sync + 'static,
    M: Fn(&[&HostArray], &BlockInfo) -> Result<HostArray> + Send + Sync + 'static,
    A: Fn(&[&HostArray], &BlockInfo) -> Result<HostArray> + Send + Sync + 'static,
{
    let name = spec.name.clone();
    reduction_fn(
        x,
        BlockFn::new(format!("{name}-chunk"), chunk),
        BlockFn::new(format!("{name}-combine"), combine),
        BlockFn::new(format!("{name}-aggregate"), aggregate),
        spec,
    )
}

/// [`reduction`] with functions already named (the Python layer's door).
pub fn reduction_fn(
    x: &Array,
    chunk: BlockFn,
    combine: BlockFn,
    aggregate: BlockFn,
    spec: ReductionSpec,
) -> Array {
    const OP: &str = "reduction";
    let go = || -> Result<Array> {
        let n = x.node()?;
        let d = n.shape.len();
        let mut axes = spec
            .axes
            .iter()
            .map(|&a| super::indexing::norm_axis(OP, a as isize, &n.shape))
            .collect::<Result<Vec<_>>>()?;
        axes.sort_unstable();
        axes.dedup();
        if axes.len() != spec.axes.len() {
            return Err(Error::arg(
                OP,
                format!("axes {:?} repeat an axis; give each once", spec.axes),
            ));
        }
        if spec.split_every < 2 {
            return Err(Error::arg(
                OP,
                format!(
                    "split_every={} combines nothing; give 2 or more",
                    spec.split_every
                ),
            ));
        }
        let partial = spec.partial_dtype.unwrap_or(spec.dtype);
        // Each step keeps the loop's blocks and makes the reduced axes length 1 per block.
        let one_per_block = |a: &Array| -> Result<Vec<AxisChunks>> {
            let g = a.node()?.grid.clone();
            Ok((0..d)
                .map(|k| {
                    if axes.contains(&k) {
                        AxisChunks::Each(1)
                    } else {
                        AxisChunks::Sizes(g.sizes(k).to_vec())
                    }
                })
                .collect())
        };
        let step = |a: &Array, f: &BlockFn, dtype: DType| -> Result<Array> {
            let spec = OutSpec::new(dtype).chunks(one_per_block(a)?);
            let r = map_blocks_fn(&[a], f.clone(), spec);
            r.check()?;
            Ok(r)
        };
        let mut p = step(x, &chunk, partial)?;
        let fan = ((spec.split_every as f64)
            .powf(1.0 / axes.len().max(1) as f64)
            .floor() as usize)
            .max(2);
        while axes
            .iter()
            .any(|&k| p.node().map(|m| m.grid.sizes(k).len() > 1).unwrap_or(false))
        {
            let g = p.node()?.grid.clone();
            let chunks: Vec<Vec<usize>> = (0..d)
                .map(|k| {
                    let len: usize = g.sizes(k).iter().sum();
                    if axes.contains(&k) {
                        (0..len).step_by(fan).map(|s| fan.min(len - s)).collect()
                    } else {
                        g.sizes(k).to_vec()
                    }
                })
                .collect();
            p = step(&p.rechunk(Chunks::Explicit(chunks)), &combine, partial)?;
        }
        let r = step(&p, &aggregate, spec.dtype)?;
        if spec.keepdims || axes.is_empty() {
            return Ok(r);
        }
        let squeeze: Vec<isize> = axes.iter().map(|&a| a as isize).collect();
        Ok(r.squeeze(Some(&squeeze)))
    };
    go().unwrap_or_else(Array::err)
}

/// A running reduction of your own along `axis`, dask's `cumreduction` (its
/// "sequential" method): `func` scans each block on its own; `binop(carry, scanned)`
/// then continues it from `carry`, the last slice (length 1 along `axis`) of the
/// previous block's result. The first block is `func`'s alone. Blocks along the axis
/// form a chain, blocks elsewhere run in parallel.
///
/// ```
/// use tessera::array::cumreduction;
/// use tessera::{DType, HostArray};
/// let x = tessera::arange(1.0, 7.0, 1.0, 2).unwrap();
/// let f64s = |a: &HostArray| match a { HostArray::F64(a) => a.clone(), _ => unreachable!() };
/// let scan = move |b: &[&HostArray], _: &_| {
///     let mut a = f64s(b[0]);
///     a.accumulate_axis_inplace(ndarray::Axis(0), |&p, c| *c += p);
///     Ok(HostArray::F64(a))
/// };
/// let add = move |b: &[&HostArray], _: &_| Ok(HostArray::F64(f64s(b[1]) + f64s(b[0]))); // carry + block
/// let c = cumreduction(&x, scan, add, 0, DType::F64, "cumsum");
/// assert_eq!(c.compute::<f64>().unwrap().as_slice().unwrap(), &[1.0, 3.0, 6.0, 10.0, 15.0, 21.0]);
/// ```
pub fn cumreduction<F, B>(
    x: &Array,
    func: F,
    binop: B,
    axis: usize,
    dtype: DType,
    name: &str,
) -> Array
where
    F: Fn(&[&HostArray], &BlockInfo) -> Result<HostArray> + Send + Sync + 'static,
    B: Fn(&[&HostArray], &BlockInfo) -> Result<HostArray> + Send + Sync + 'static,
{
    cumreduction_fn(
        x,
        BlockFn::new(format!("{name}-scan"), func),
        BlockFn::new(format!("{name}-carry"), binop),
        axis,
        dtype,
    )
}

/// [`cumreduction`] with functions already named (the Python layer's door); `binop`
/// gets `[carry, scanned]`.
pub fn cumreduction_fn(
    x: &Array,
    func: BlockFn,
    binop: BlockFn,
    axis: usize,
    dtype: DType,
) -> Array {
    const OP: &str = "cumreduction";
    let go = || -> Result<Array> {
        let n = x.node()?;
        let axis = super::indexing::norm_axis(OP, axis as isize, &n.shape)?;
        let bounds = n.grid.boundaries(axis).to_vec();
        let along = |a: &Array, from: usize, to: usize| -> Array {
            let mut ix = vec![Index::all(); axis];
            ix.push(Index::slice(Some(from as isize), Some(to as isize), 1));
            a.slice(&ix)
        };
        let mut parts: Vec<Array> = Vec::with_capacity(bounds.len());
        for w in bounds.windows(2) {
            let scanned =
                map_blocks_fn(&[&along(x, w[0], w[1])], func.clone(), OutSpec::new(dtype));
            let y = match parts.last() {
                None => scanned,
                Some(prev) => {
                    let len = prev.node()?.shape[axis];
                    let carry = along(prev, len - 1, len);
                    map_blocks_fn(&[&carry, &scanned], binop.clone(), OutSpec::new(dtype))
                }
            };
            y.check()?;
            parts.push(y);
        }
        if parts.is_empty() {
            return Ok(x.astype(dtype));
        }
        let refs: Vec<&Array> = parts.iter().collect();
        Ok(super::concatenate(&refs, axis as isize))
    };
    go().unwrap_or_else(Array::err)
}
