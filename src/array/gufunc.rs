//! Generalised ufuncs of your own: [`apply_gufunc`] (dask's), a function over core
//! dimensions (`"(i),(i)->()"`, `"(m,n),(n,p)->(m,p)"`) looped over the others.
//!
//! Built on [`super::map_blocks_fn`]: every input is laid out in one space (the loop
//! dimensions, then every core dimension once), core dimensions in one chunk; core
//! dimensions the output lacks are dropped axes, new ones new axes. The function sees
//! each input in its own layout and returns the output in the signature's.

use super::custom::{loop_grid_of, map_blocks_fn, named};
use super::{AxisChunks, OutSpec};
use crate::chunks::Chunks;
use crate::dtype::{DType, HostArray};
use crate::error::{Error, Result};
use crate::expr::Array;
use crate::userfn::{BlockFn, BlockInfo};

/// What a gufunc's output is.
///
/// ```
/// let spec = tessera::array::GufuncSpec::new(tessera::DType::F64).size("k", 3);
/// assert_eq!(spec.output_sizes, vec![("k".to_string(), 3)]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct GufuncSpec {
    /// The output's dtype.
    pub dtype: DType,
    /// Lengths of output core dimensions no input has.
    pub output_sizes: Vec<(String, usize)>,
    /// The function's name.
    pub name: Option<String>,
}

impl GufuncSpec {
    /// An output of `dtype`.
    pub fn new(dtype: DType) -> GufuncSpec {
        GufuncSpec {
            dtype,
            output_sizes: vec![],
            name: None,
        }
    }

    /// The length of a new output core dimension.
    pub fn size(mut self, dim: &str, len: usize) -> GufuncSpec {
        self.output_sizes.push((dim.into(), len));
        self
    }
}

/// The core dimension names of each input and of the one output.
fn parse(sig: &str) -> Result<(Vec<Vec<String>>, Vec<String>)> {
    let bad = |why: &str| {
        Error::arg(
            "apply_gufunc",
            format!("signature {sig:?}: {why}; write it as NumPy does, e.g. \"(i),(i)->()\""),
        )
    };
    let compact: String = sig.chars().filter(|c| !c.is_whitespace()).collect();
    let (ins, out) = compact.split_once("->").ok_or_else(|| bad("no \"->\""))?;
    let groups = |s: &str| -> Result<Vec<Vec<String>>> {
        let s = s
            .strip_prefix('(')
            .and_then(|s| s.strip_suffix(')'))
            .ok_or_else(|| bad("a group is not in parentheses"))?;
        s.split("),(")
            .map(|g| {
                let names: Vec<String> = g
                    .split(',')
                    .filter(|n| !n.is_empty())
                    .map(String::from)
                    .collect();
                if names
                    .iter()
                    .any(|n| !n.chars().all(|c| c.is_alphanumeric() || c == '_'))
                {
                    return Err(bad("a dimension name is not a word"));
                }
                Ok(names)
            })
            .collect()
    };
    let outs = groups(out)?;
    if outs.len() != 1 {
        return Err(bad(
            "more than one output is not supported yet (call it once per output)",
        ));
    }
    Ok((groups(ins)?, outs.into_iter().next().unwrap_or_default()))
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
        Error::arg("apply_gufunc", format!("block reshape to {shape:?}: {e}"))
    };
    Ok(crate::with_host!(h, a => a
        .into_shape_with_order(ndarray::IxDyn(shape))
        .map_err(fail)?
        .into()))
}

/// Where an input's axes are in the common space.
struct Layout {
    /// Its own loop axes (the last `lead` of the space's loop axes).
    lead: usize,
    /// The union positions of its core axes, in union order.
    present: Vec<usize>,
    /// Its own axes to the permuted order (core axes in union order).
    perm: Vec<usize>,
}

/// The inverse of a permutation.
fn inverse(perm: &[usize]) -> Vec<usize> {
    let mut inv = vec![0; perm.len()];
    for (j, &p) in perm.iter().enumerate() {
        inv[p] = j;
    }
    inv
}

/// `f` over the core dimensions of `signature`, looped (in parallel over blocks) over the
/// inputs' other, leading dimensions, which broadcast together; dask's `apply_gufunc`
/// with one output. Core dimensions are made one chunk each (dask asks for
/// `allow_rechunk=True` to do that). `f` receives each input block in the input's own
/// layout and returns the output block: the broadcast loop dimensions, then the output's
/// core dimensions in the signature's order.
///
/// ```
/// use tessera::array::{apply_gufunc, GufuncSpec};
/// use tessera::{DType, HostArray};
/// let x = tessera::arange(0.0, 12.0, 1.0, 2).unwrap().reshape(&[4, 3]).rechunk(&[2, 3][..]);
/// let norms = apply_gufunc("(i)->()", &[&x], |b, _| {
///     let HostArray::F64(a) = b[0] else { unreachable!() };
///     Ok(HostArray::F64(a.map_axis(ndarray::Axis(1), |r| r.dot(&r).sqrt())))
/// }, GufuncSpec::new(DType::F64));
/// assert_eq!(norms.shape(), &[4]);
/// ```
pub fn apply_gufunc<F>(signature: &str, inputs: &[&Array], f: F, spec: GufuncSpec) -> Array
where
    F: Fn(&[&HostArray], &BlockInfo) -> Result<HostArray> + Send + Sync + 'static,
{
    let f = named(spec.name.as_deref(), f);
    apply_gufunc_fn(signature, inputs, f, spec)
}

/// [`apply_gufunc`] with a function already named (the Python layer's door).
pub fn apply_gufunc_fn(signature: &str, inputs: &[&Array], f: BlockFn, spec: GufuncSpec) -> Array {
    const OP: &str = "apply_gufunc";
    let go = || -> Result<Array> {
        let (cores, out_core) = parse(signature)?;
        if cores.len() != inputs.len() {
            return Err(Error::arg(
                OP,
                format!(
                    "signature {signature:?} has {} inputs but {} arrays were given",
                    cores.len(),
                    inputs.len()
                ),
            ));
        }
        let nodes = inputs
            .iter()
            .map(|a| a.node())
            .collect::<Result<Vec<_>>>()?;
        // Every core dimension once, in order of first appearance, with its length.
        let mut union: Vec<(String, usize)> = vec![];
        for (n, core) in nodes.iter().zip(&cores) {
            if n.shape.len() < core.len() {
                return Err(Error::arg(OP, format!("an input of shape {:?} has fewer dimensions than its core dimensions {core:?}", n.shape)));
            }
            let lead = n.shape.len() - core.len();
            for (k, name) in core.iter().enumerate() {
                let len = n.shape[lead + k];
                match union.iter().find(|(u, _)| u == name) {
                    Some((_, l)) if *l != len => {
                        return Err(Error::arg(OP, format!("core dimension {name:?} has length {l} in one input and {len} in another")));
                    }
                    Some(_) => {}
                    None => union.push((name.clone(), len)),
                }
            }
        }
        let loop_nd = nodes
            .iter()
            .zip(&cores)
            .map(|(n, c)| n.shape.len() - c.len())
            .max()
            .unwrap_or(0);
        let uidx = |name: &str| union.iter().position(|(u, _)| u == name);
        // Each input in the common space: its core axes in union order (a transpose),
        // one chunk each, and length-1 axes for the loop axes and core names it lacks.
        let mut spaced = vec![];
        let mut layouts = vec![];
        for ((x, n), core) in inputs.iter().zip(&nodes).zip(&cores) {
            let lead = n.shape.len() - core.len();
            let mut order: Vec<usize> = (0..core.len()).collect();
            order.sort_by_key(|&k| uidx(&core[k]));
            let perm: Vec<usize> = (0..lead).chain(order.iter().map(|&k| lead + k)).collect();
            let chunks: Vec<Vec<usize>> = (0..n.shape.len())
                .map(|k| {
                    if k < lead {
                        n.grid.sizes(k).to_vec()
                    } else {
                        vec![n.shape[k]]
                    }
                })
                .collect();
            let mut a = x.rechunk(Chunks::Explicit(chunks)).permute_axes(&perm);
            let present: Vec<usize> = order.iter().filter_map(|&k| uidx(&core[k])).collect();
            let mut missing: Vec<isize> = (0..loop_nd - lead).map(|k| k as isize).collect();
            missing.extend(
                (0..union.len())
                    .filter(|u| !present.contains(u))
                    .map(|u| (loop_nd + u) as isize),
            );
            if !missing.is_empty() {
                a = a.expand_dims_axes(&missing);
            }
            spaced.push(a);
            layouts.push(Layout {
                lead,
                present,
                perm,
            });
        }
        // The output: the loop axes, the core names it keeps (union order), new ones.
        let drop: Vec<usize> = (0..union.len())
            .filter(|&u| !out_core.contains(&union[u].0))
            .map(|u| loop_nd + u)
            .collect();
        let kept: Vec<String> = union
            .iter()
            .filter(|(u, _)| out_core.contains(u))
            .map(|(u, _)| u.clone())
            .collect();
        let mut new_names = vec![];
        let mut new_sizes = vec![];
        for name in &out_core {
            if uidx(name).is_none() {
                let len = spec.output_sizes.iter().find(|(n, _)| n == name).map(|&(_, l)| l).ok_or_else(|| {
                    Error::arg(OP, format!("output core dimension {name:?} is in no input; give its length (output_sizes)"))
                })?;
                new_names.push(name.clone());
                new_sizes.push(len);
            }
        }
        let refs: Vec<&Array> = spaced.iter().collect();
        let lg = loop_grid_of(OP, &refs)?;
        let mut chunks: Vec<AxisChunks> = (0..loop_nd)
            .map(|k| AxisChunks::Sizes(lg.sizes(k).to_vec()))
            .collect();
        chunks.extend(
            kept.iter()
                .map(|k| AxisChunks::Each(union[uidx(k).unwrap_or(0)].1)),
        );
        chunks.extend(new_sizes.iter().map(|&l| AxisChunks::Each(l)));
        let o = kept.len() + new_names.len();
        let new_axis: Vec<usize> = (loop_nd + kept.len()..loop_nd + o).collect();
        // Where the function's output (signature order) goes in the block's layout.
        let block_order: Vec<String> = kept.iter().chain(&new_names).cloned().collect();
        let to_block: Vec<usize> = (0..loop_nd)
            .chain(
                block_order
                    .iter()
                    .map(|n| loop_nd + out_core.iter().position(|m| m == n).unwrap_or(0)),
            )
            .collect();
        let user = f.clone();
        let sig_out = out_core.clone();
        let wrapped = BlockFn::new(
            f.name().to_string(),
            move |blocks: &[&HostArray], info: &BlockInfo| {
                // Back to each input's own layout: its axes without the inserted ones, its
                // core axes in its own order.
                let mut own = Vec::with_capacity(blocks.len());
                for (b, l) in blocks.iter().zip(&layouts) {
                    let s = b.shape();
                    let mut shape: Vec<usize> = s[loop_nd - l.lead..loop_nd].to_vec();
                    shape.extend(l.present.iter().map(|&u| s[loop_nd + u]));
                    let h = reshape((*b).clone(), &shape)?;
                    own.push(permute(h, &inverse(&l.perm)));
                }
                let refs: Vec<&HostArray> = own.iter().collect();
                let out = user.call("apply_gufunc", &refs, info)?;
                if out.shape().len() != to_block.len() {
                    return Err(Error::arg(
                    "apply_gufunc",
                    format!("the function returned {} dimensions but the output has {} (loop dimensions, then {sig_out:?})", out.shape().len(), to_block.len()),
                ));
                }
                Ok(permute(out, &to_block))
            },
        );
        let mb = map_blocks_fn(
            &refs,
            wrapped,
            OutSpec::new(spec.dtype)
                .chunks(chunks)
                .drop_axis(&drop)
                .new_axis(&new_axis),
        );
        // From the block's layout to the signature's order.
        let back: Vec<usize> = (0..loop_nd)
            .chain(
                out_core
                    .iter()
                    .map(|n| loop_nd + block_order.iter().position(|m| m == n).unwrap_or(0)),
            )
            .collect();
        Ok(mb.permute_axes(&back))
    };
    go().unwrap_or_else(Array::err)
}
