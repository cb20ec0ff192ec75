//! Index notation over blocks: [`blockwise`] (dask's), `"ij,jk->ik"`-like patterns
//! where every argument names its axes, output indices loop over blocks, and indices
//! only the inputs have are contracted (the function sees them whole: dask's
//! `concatenate=True`).
//!
//! Built on [`super::map_blocks_fn`]: every argument is laid out in one space (the output
//! indices, then the contracted ones), each a transpose plus length-1 axes for the
//! indices it lacks; contracted indices are dropped axes, new ones new axes. The
//! function sees each argument in its own layout.

use super::custom::{loop_grid_of, map_blocks_fn, named};
use super::{AxisChunks, OutSpec};
use crate::dtype::{DType, HostArray};
use crate::error::{Error, Result};
use crate::expr::Array;
use crate::userfn::{BlockFn, BlockInfo};

/// What a blockwise function's output is.
///
/// ```
/// let spec = tessera::array::BlockwiseSpec::new(tessera::DType::F32).new_axis("k", 4);
/// assert_eq!(spec.new_axes, vec![("k".to_string(), 4)]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct BlockwiseSpec {
    /// The output's dtype.
    pub dtype: DType,
    /// Output indices no argument has, with their lengths (one block each).
    pub new_axes: Vec<(String, usize)>,
    /// Output indices whose blocks the function resizes, with their new chunks.
    pub adjust_chunks: Vec<(String, AxisChunks)>,
    /// The function's name.
    pub name: Option<String>,
}

impl BlockwiseSpec {
    /// An output of `dtype`.
    pub fn new(dtype: DType) -> BlockwiseSpec {
        BlockwiseSpec {
            dtype,
            new_axes: vec![],
            adjust_chunks: vec![],
            name: None,
        }
    }

    /// An output index no argument has, of length `len`.
    pub fn new_axis(mut self, index: &str, len: usize) -> BlockwiseSpec {
        self.new_axes.push((index.into(), len));
        self
    }

    /// New chunks for an output index the function resizes.
    pub fn adjust(mut self, index: &str, chunks: AxisChunks) -> BlockwiseSpec {
        self.adjust_chunks.push((index.into(), chunks));
        self
    }
}

/// The indices of a dask-style index string: one character each (`"ij"`).
///
/// ```
/// assert_eq!(tessera::array::indices("ik"), vec!["i".to_string(), "k".to_string()]);
/// ```
pub fn indices(s: &str) -> Vec<String> {
    s.chars().map(String::from).collect()
}

/// Where an argument's axes are in the common space.
struct Layout {
    /// The space positions of its axes, ascending.
    present: Vec<usize>,
    /// Its own axes to that order.
    perm: Vec<usize>,
}

fn permute(h: HostArray, perm: &[usize]) -> HostArray {
    crate::with_host!(h, a => a
        .permuted_axes(ndarray::IxDyn(perm))
        .as_standard_layout()
        .into_owned()
        .into())
}

fn reshape(h: HostArray, shape: &[usize]) -> Result<HostArray> {
    let fail = |e: ndarray::ShapeError| {
        Error::arg("blockwise", format!("block reshape to {shape:?}: {e}"))
    };
    Ok(crate::with_host!(h, a => a
        .into_shape_with_order(ndarray::IxDyn(shape))
        .map_err(fail)?
        .into()))
}

/// Adds index `name` of length `len` to the space, or checks it against the length there
/// (1 broadcasts).
fn add_index(space: &mut Vec<(String, usize)>, name: &str, len: usize) -> Result<()> {
    match space.iter_mut().find(|(s, _)| s == name) {
        Some((_, l)) if *l == len || len == 1 => Ok(()),
        Some((_, l)) if *l == 1 => {
            *l = len;
            Ok(())
        }
        Some((_, l)) => Err(Error::arg(
            "blockwise",
            format!("index {name:?} has length {l} in one argument and {len} in another"),
        )),
        None => {
            space.push((name.to_string(), len));
            Ok(())
        }
    }
}

fn inverse(perm: &[usize]) -> Vec<usize> {
    let mut inv = vec![0; perm.len()];
    for (j, &p) in perm.iter().enumerate() {
        inv[p] = j;
    }
    inv
}

/// `f` on the blocks of `args` matched by index, dask's `blockwise`: output index `i`
/// loops over the blocks of the arguments' axes named `i`; an index only arguments have
/// is contracted (the function sees it whole, its blocks joined); an index of
/// `spec.new_axes` is added. Lengths of one index agree across arguments, or are 1 and
/// broadcast. `f` receives each argument's block in its own axis order and returns the
/// output block in `out`'s order.
///
/// ```
/// use tessera::array::{blockwise, indices, BlockwiseSpec};
/// use tessera::{DType, HostArray};
/// let x = tessera::ones(&[4, 6], &[2, 3]).unwrap();
/// let y = tessera::ones(&[6, 5], &[3, 5]).unwrap();
/// // Each (i, k) block sees x's row block and y's column block whole along j.
/// let p = blockwise(&indices("ik"), &[(&x, indices("ij")), (&y, indices("jk"))], |b, _| {
///     let (HostArray::F64(a), HostArray::F64(c)) = (b[0], b[1]) else { unreachable!() };
///     let (a, c) = (a.view().into_dimensionality::<ndarray::Ix2>().unwrap(), c.view().into_dimensionality::<ndarray::Ix2>().unwrap());
///     Ok(HostArray::F64(a.dot(&c).into_dyn()))
/// }, BlockwiseSpec::new(DType::F64));
/// assert_eq!(p.compute::<f64>().unwrap()[[3, 4]], 6.0);
/// ```
pub fn blockwise<F>(
    out: &[String],
    args: &[(&Array, Vec<String>)],
    f: F,
    spec: BlockwiseSpec,
) -> Array
where
    F: Fn(&[&HostArray], &BlockInfo) -> Result<HostArray> + Send + Sync + 'static,
{
    let f = named(spec.name.as_deref(), f);
    blockwise_fn(out, args, f, spec)
}

/// [`blockwise`] with a function already named (the Python layer's door).
pub fn blockwise_fn(
    out: &[String],
    args: &[(&Array, Vec<String>)],
    f: BlockFn,
    spec: BlockwiseSpec,
) -> Array {
    const OP: &str = "blockwise";
    let go = || -> Result<Array> {
        if args.is_empty() {
            return Err(Error::arg(OP, "no array arguments; pass at least one"));
        }
        let has_dups = |v: &[String]| (1..v.len()).any(|i| v[..i].contains(&v[i]));
        if has_dups(out) {
            return Err(Error::arg(
                OP,
                format!("output indices {out:?} repeat an index"),
            ));
        }
        let mut nodes = vec![];
        for (a, ind) in args {
            let n = a.node()?;
            if ind.len() != n.shape.len() || has_dups(ind) {
                return Err(Error::arg(
                    OP,
                    format!("indices {ind:?} for an array of shape {:?}: give one distinct index per axis", n.shape),
                ));
            }
            nodes.push(n);
        }
        // The space: output indices the arguments have, then contracted ones; with
        // each index's length.
        let mut space: Vec<(String, usize)> = vec![];
        for name in out {
            for (n, (_, ind)) in nodes.iter().zip(args) {
                if let Some(k) = ind.iter().position(|i| i == name) {
                    add_index(&mut space, name, n.shape[k])?;
                }
            }
        }
        let kept = space.len();
        for (n, (_, ind)) in nodes.iter().zip(args) {
            for (k, name) in ind.iter().enumerate() {
                if !out.contains(name) {
                    add_index(&mut space, name, n.shape[k])?;
                }
            }
        }
        let pos = |name: &str| space.iter().position(|(s, _)| s == name);
        // Each argument in the space: a transpose, then length-1 axes where it lacks
        // an index.
        let mut spaced = vec![];
        let mut layouts = vec![];
        for ((a, ind), _) in args.iter().zip(&nodes) {
            let mut order: Vec<usize> = (0..ind.len()).collect();
            order.sort_by_key(|&k| pos(&ind[k]));
            let present: Vec<usize> = order.iter().filter_map(|&k| pos(&ind[k])).collect();
            let mut x = a.permute_axes(&order);
            let missing: Vec<isize> = (0..space.len())
                .filter(|p| !present.contains(p))
                .map(|p| p as isize)
                .collect();
            if !missing.is_empty() {
                x = x.expand_dims_axes(&missing);
            }
            spaced.push(x);
            layouts.push(Layout {
                present,
                perm: order,
            });
        }
        let refs: Vec<&Array> = spaced.iter().collect();
        let lg = loop_grid_of(OP, &refs)?;
        // The output: the kept indices in `out`'s order (the space's), new ones where
        // `out` puts them.
        let mut chunks = vec![];
        let mut new_axis = vec![];
        for (j, name) in out.iter().enumerate() {
            if let Some(p) = pos(name).filter(|&p| p < kept) {
                let c = spec
                    .adjust_chunks
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, c)| c.clone())
                    .unwrap_or_else(|| AxisChunks::Sizes(lg.sizes(p).to_vec()));
                chunks.push(c);
            } else {
                let len = spec
                    .new_axes
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|&(_, l)| l)
                    .ok_or_else(|| {
                        Error::arg(
                            OP,
                            format!("output index {name:?} is in no argument; give its length (new_axes)"),
                        )
                    })?;
                chunks.push(AxisChunks::Each(len));
                new_axis.push(j);
            }
        }
        let drop: Vec<usize> = (kept..space.len()).collect();
        let user = f.clone();
        let wrapped = f.with_body(move |blocks: &[&HostArray], info: &BlockInfo| {
            // Back to each argument's own layout.
            let mut own = Vec::with_capacity(blocks.len());
            for (b, l) in blocks.iter().zip(&layouts) {
                let s = b.shape();
                let shape: Vec<usize> = l.present.iter().map(|&p| s[p]).collect();
                own.push(permute(reshape((*b).clone(), &shape)?, &inverse(&l.perm)));
            }
            let refs: Vec<&HostArray> = own.iter().collect();
            user.call(OP, &refs, info)
        });
        Ok(map_blocks_fn(
            &refs,
            wrapped,
            OutSpec::new(spec.dtype)
                .chunks(chunks)
                .drop_axis(&drop)
                .new_axis(&new_axis),
        ))
    };
    go().unwrap_or_else(Array::err)
}
