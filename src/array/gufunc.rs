//! Generalised ufuncs of your own: [`apply_gufunc`] (dask's), a function over core
//! dimensions (`"(i),(i)->()"`, `"(m,n),(n,p)->(m,p)"`) looped over the others.
//!
//! Built on [`super::blockwise_fn`]: the loop dimensions get index names of their own
//! (aligned from the right), core dimensions are made one chunk and keep theirs; core
//! dimensions the output lacks are contracted, new ones added. The function sees each
//! input in its own layout and returns the output in the signature's.

use super::blockwise::{blockwise_fn, BlockwiseSpec};
use super::custom::named;
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
        // Core dimensions are exact (NumPy's gufuncs never broadcast them).
        let mut lengths: Vec<(&String, usize)> = vec![];
        for (n, core) in nodes.iter().zip(&cores) {
            if n.shape.len() < core.len() {
                return Err(Error::arg(
                    OP,
                    format!("an input of shape {:?} has fewer dimensions than its core dimensions {core:?}", n.shape),
                ));
            }
            let lead = n.shape.len() - core.len();
            for (k, name) in core.iter().enumerate() {
                let len = n.shape[lead + k];
                match lengths.iter().find(|(u, _)| *u == name) {
                    Some((_, l)) if *l != len => {
                        return Err(Error::arg(
                            OP,
                            format!("core dimension {name:?} has length {l} in one input and {len} in another"),
                        ));
                    }
                    Some(_) => {}
                    None => lengths.push((name, len)),
                }
            }
        }
        let mut new_axes = vec![];
        for name in &out_core {
            if !lengths.iter().any(|(u, _)| *u == name) {
                let len = spec
                    .output_sizes
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|&(_, l)| l)
                    .ok_or_else(|| {
                        Error::arg(
                            OP,
                            format!("output core dimension {name:?} is in no input; give its length (output_sizes)"),
                        )
                    })?;
                new_axes.push((name.clone(), len));
            }
        }
        // Loop dimensions get names no signature can spell, aligned from the right.
        let loop_nd = nodes
            .iter()
            .zip(&cores)
            .map(|(n, c)| n.shape.len() - c.len())
            .max()
            .unwrap_or(0);
        let label = |k: usize| format!("#loop{k}");
        let mut arrays = vec![];
        let mut indices = vec![];
        for ((x, n), core) in inputs.iter().zip(&nodes).zip(&cores) {
            let lead = n.shape.len() - core.len();
            let chunks: Vec<Vec<usize>> = (0..n.shape.len())
                .map(|k| {
                    if k < lead {
                        n.grid.sizes(k).to_vec()
                    } else {
                        vec![n.shape[k]]
                    }
                })
                .collect();
            arrays.push(x.rechunk(Chunks::Explicit(chunks)));
            let mut ind: Vec<String> = (loop_nd - lead..loop_nd).map(label).collect();
            ind.extend(core.iter().cloned());
            indices.push(ind);
        }
        let mut out: Vec<String> = (0..loop_nd).map(label).collect();
        out.extend(out_core.iter().cloned());
        let args: Vec<(&Array, Vec<String>)> = arrays.iter().zip(indices).collect();
        let mut bspec = BlockwiseSpec::new(spec.dtype);
        bspec.new_axes = new_axes;
        Ok(blockwise_fn(&out, &args, f, bspec))
    };
    go().unwrap_or_else(Array::err)
}
