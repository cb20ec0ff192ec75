//! Shape manipulation: `expand_dims`, `squeeze`, `broadcast_to` (views that fuse into
//! consumers) and `concatenate` / `stack` (no copy until a consumer needs data).

use super::elementwise::broadcast_shapes;
use super::indexing::norm_axis;
use super::{Array, Op};
use crate::chunks::ChunkGrid;
use crate::error::{Error, Result};

impl Array {
    /// Inserts a length-1 axis at `axis` (`-1` appends).
    ///
    /// ```
    /// let x = tessera::zeros(&[3, 4], 2).unwrap();
    /// assert_eq!(x.expand_dims(1).shape(), &[3, 1, 4]);
    /// assert_eq!(x.expand_dims(-1).shape(), &[3, 4, 1]);
    /// ```
    pub fn expand_dims(&self, axis: isize) -> Array {
        self.then(|n| {
            let d = n.shape.len() as isize + 1;
            let a = if axis < 0 { axis + d } else { axis };
            if a < 0 || a >= d {
                return Err(Error::AxisOutOfRange {
                    op: "expand_dims",
                    axis,
                    ndim: d as usize,
                    shape: n.shape.clone(),
                });
            }
            let a = a as usize;
            let mut shape = n.shape.clone();
            shape.insert(a, 1);
            let mut chunks = n.grid.all().to_vec();
            chunks.insert(a, vec![1]);
            Ok(Array::new(
                Op::ExpandDims(a),
                vec![self.clone()],
                shape,
                n.dtype,
                ChunkGrid::new(chunks),
            ))
        })
    }

    /// Inserts length-1 axes at each of `axes`, positions in the result (negative ones
    /// count from its end), like `numpy.expand_dims` with a tuple.
    ///
    /// ```
    /// let x = tessera::zeros(&[3, 4], 2).unwrap();
    /// assert_eq!(x.expand_dims_axes(&[0, -1]).shape(), &[1, 3, 4, 1]);
    /// assert!(x.expand_dims_axes(&[1, 1]).check().is_err());
    /// ```
    pub fn expand_dims_axes(&self, axes: &[isize]) -> Array {
        self.then(|n| {
            let d = n.shape.len() + axes.len();
            let mut norm = axes
                .iter()
                .map(|&a| norm_axis("expand_dims", a, &vec![1; d]))
                .collect::<Result<Vec<usize>>>()?;
            norm.sort_unstable();
            if norm.windows(2).any(|w| w[0] == w[1]) {
                return Err(Error::arg(
                    "expand_dims",
                    format!("repeated axis in {axes:?}; name each new axis once"),
                ));
            }
            // Ascending: each insertion leaves the positions before it in place.
            Ok(norm
                .into_iter()
                .fold(self.clone(), |x, a| x.expand_dims(a as isize)))
        })
    }

    /// Drops length-1 axes: the given ones, or all when `axes` is `None`.
    ///
    /// ```
    /// let x = tessera::zeros(&[1, 3, 1], 2).unwrap();
    /// assert_eq!(x.squeeze(None).shape(), &[3]);
    /// assert_eq!(x.squeeze(Some(&[0])).shape(), &[3, 1]);
    /// assert!(x.squeeze(Some(&[1])).check().is_err());
    /// ```
    pub fn squeeze(&self, axes: Option<&[isize]>) -> Array {
        self.then(|n| {
            let mut ax: Vec<usize> = match axes {
                None => (0..n.shape.len()).filter(|&k| n.shape[k] == 1).collect(),
                Some(a) => a
                    .iter()
                    .map(|&a| norm_axis("squeeze", a, &n.shape))
                    .collect::<Result<_>>()?,
            };
            ax.sort_unstable();
            ax.dedup();
            if let Some(&k) = ax.iter().find(|&&k| n.shape[k] != 1) {
                // A value error, as NumPy and the array API standard raise: the axis
                // exists, its length is what is wrong.
                return Err(Error::arg(
                    "squeeze",
                    format!(
                        "cannot squeeze axis {k} of shape {:?}: its length is {}, not 1",
                        n.shape, n.shape[k]
                    ),
                ));
            }
            let keep: Vec<usize> = (0..n.shape.len()).filter(|k| !ax.contains(k)).collect();
            let shape = keep.iter().map(|&k| n.shape[k]).collect();
            let grid = ChunkGrid::new(keep.iter().map(|&k| n.grid.sizes(k).to_vec()).collect());
            Ok(Array::new(
                Op::Squeeze(ax),
                vec![self.clone()],
                shape,
                n.dtype,
                grid,
            ))
        })
    }

    /// Broadcasts to `shape` (NumPy rules); broadcast axes are one chunk each.
    ///
    /// ```
    /// let x = tessera::arange(0.0, 3.0, 1.0, 2).unwrap();
    /// let b = x.broadcast_to(&[2, 3]);
    /// assert_eq!(b.compute::<f64>().unwrap()[[1, 2]], 2.0);
    /// ```
    pub fn broadcast_to(&self, shape: &[usize]) -> Array {
        self.then(|n| {
            let out = broadcast_shapes("broadcast_to", &n.shape, shape)?;
            if out != shape {
                return Err(Error::ShapeMismatch {
                    op: "broadcast_to",
                    left: n.shape.clone(),
                    right: shape.to_vec(),
                    hint: "the target shape must contain the array's shape (axes equal or the array's of length 1)".into(),
                });
            }
            if out == n.shape {
                return Ok(self.clone());
            }
            let lead = out.len() - n.shape.len();
            let chunks = (0..out.len())
                .map(|j| if j < lead || n.shape[j - lead] != out[j] { vec![out[j]] } else { n.grid.sizes(j - lead).to_vec() })
                .collect();
            Ok(Array::new(Op::BroadcastTo, vec![self.clone()], out, n.dtype, ChunkGrid::new(chunks)))
        })
    }
}

/// Pairs of input and output axis ranges with equal products (C-order reshape groups).
fn reshape_groups(
    inp: &[usize],
    out: &[usize],
) -> Vec<(std::ops::Range<usize>, std::ops::Range<usize>)> {
    let (mut i, mut j) = (0, 0);
    let mut groups = vec![];
    while i < inp.len() || j < out.len() {
        let (si, sj) = (i, j);
        let (mut pi, mut pj) = (1usize, 1usize);
        if i < inp.len() {
            pi *= inp[i];
            i += 1;
        }
        if j < out.len() {
            pj *= out[j];
            j += 1;
        }
        while pi != pj {
            if (pi < pj && i < inp.len()) || j >= out.len() {
                pi *= inp[i];
                i += 1;
            } else {
                pj *= out[j];
                j += 1;
            }
        }
        // Length-1 axes at the head of a group map to nothing on the other side, so
        // they need not be whole: `(1, 12)` in `(1, 4)` chunks reshapes blockwise.
        let (mut gi, mut gj) = (si..i, sj..j);
        while gi.len() > 1 && inp[gi.start] == 1 {
            groups.push((gi.start..gi.start + 1, gj.start..gj.start));
            gi.start += 1;
        }
        while gj.len() > 1 && out[gj.start] == 1 {
            groups.push((gi.start..gi.start, gj.start..gj.start + 1));
            gj.start += 1;
        }
        groups.push((gi, gj));
    }
    groups
}

/// Chunks of `shape` that make a reshape in `groups` blockwise, near the current ones
/// (dask's `reshape_rechunk`): in each group the axes after the first are whole, and the
/// first is cut in multiples of what makes each chunk a whole number of output rows,
/// with about as many elements per chunk as before.
fn reshape_chunks(
    shape: &[usize],
    grid: &ChunkGrid,
    out: &[usize],
    groups: &[(std::ops::Range<usize>, std::ops::Range<usize>)],
) -> Vec<usize> {
    let mut want = grid.max_chunk();
    for (gi, gj) in groups {
        if gi.is_empty() {
            continue;
        }
        let rest_in: usize = shape[gi.start + 1..gi.end].iter().product();
        let rest_out: usize = if gj.is_empty() {
            1
        } else {
            out[gj.start + 1..gj.end].iter().product()
        };
        let step = (rest_out / gcd(rest_out, rest_in).max(1)).max(1);
        let before: usize = gi.clone().map(|k| want[k].max(1)).product();
        let lead = (before / rest_in.max(1)) / step * step;
        want[gi.start] = lead.max(step).min(shape[gi.start]).max(1);
        want[gi.start + 1..gi.end].copy_from_slice(&shape[gi.start + 1..gi.end]);
    }
    want
}

impl Array {
    /// C-order reshape (one length may be `-1`); every reshape NumPy accepts works.
    /// Blockwise when, in every group of axes that merge or split, only the first axis
    /// is chunked (and split chunks divide evenly); otherwise the input is first
    /// rechunked to such chunks of about the same size, as dask does.
    ///
    /// ```
    /// let x = tessera::arange(0.0, 24.0, 1.0, 6).unwrap();
    /// let y = x.reshape(&[4, -1]);
    /// assert_eq!(y.shape(), &[4, 6]);
    /// assert_eq!(y.compute::<f64>().unwrap()[[2, 1]], 13.0);
    /// ```
    pub fn reshape(&self, shape: &[isize]) -> Array {
        self.then(|n| {
            let total: usize = n.shape.iter().product();
            let known: usize = shape.iter().filter(|&&s| s >= 0).map(|&s| s as usize).product();
            let unknown = shape.iter().filter(|&&s| s < 0).count();
            if unknown > 1 || shape.iter().any(|&s| s < -1) {
                return Err(Error::arg("reshape", format!("at most one length may be -1, got {shape:?}")));
            }
            let out: Vec<usize> = shape
                .iter()
                .map(|&s| if s < 0 { total.checked_div(known).unwrap_or(0) } else { s as usize })
                .collect();
            if out.iter().product::<usize>() != total {
                return Err(Error::ShapeMismatch { op: "reshape", left: n.shape.clone(), right: out, hint: format!("the new shape must hold the same {total} elements") });
            }
            if out == n.shape {
                return Ok(self.clone());
            }
            if total == 0 {
                // Nothing to move: an empty array of the new shape (lowering a reshape of
                // no elements indexed blocks that do not exist).
                let grid = ChunkGrid::regular(&out, &out);
                let zero = crate::dtype::Scalar::I64(0).cast(n.dtype);
                return Ok(Array::new(Op::Const(zero), vec![], out, n.dtype, grid));
            }
            let groups = reshape_groups(&n.shape, &out);
            let mut chunks: Vec<Vec<usize>> = vec![vec![]; out.len()];
            let mut ok = true;
            for (gi, gj) in &groups {
                let rest_in: usize = n.shape[gi.start + 1.min(gi.len())..gi.end].iter().product();
                let rest_out: usize = out[gj.start + 1.min(gj.len())..gj.end].iter().product();
                if gi.is_empty() {
                    for k in gj.clone() {
                        chunks[k] = vec![out[k]];
                    }
                    continue;
                }
                let trailing_whole = (gi.start + 1..gi.end).all(|k| n.grid.sizes(k).len() == 1);
                let flat: Vec<usize> = n.grid.sizes(gi.start).iter().map(|&c| c * rest_in).collect();
                let divides = flat.iter().all(|&f| f % rest_out.max(1) == 0);
                if !(trailing_whole && divides) {
                    ok = false;
                    continue;
                }
                if gj.is_empty() {
                    continue;
                }
                chunks[gj.start] = flat.iter().map(|&f| f / rest_out.max(1)).collect();
                for k in gj.start + 1..gj.end {
                    chunks[k] = vec![out[k]];
                }
            }
            if !ok {
                // As dask does: rechunk so that every output block is one input block,
                // then reshape blockwise.
                let target = reshape_chunks(&n.shape, &n.grid, &out, &groups);
                let r = self.rechunk(target.clone());
                // The target always differs from chunks that fail (it is regular, with whole
                // trailing axes); the check only rules out a loop if that ever changed.
                if r.node()?.grid == n.grid {
                    return Err(Error::InvalidChunks {
                        op: "reshape",
                        shape: n.shape.clone(),
                        reason: format!(
                            "chunks {:?} would need data from several chunks per output chunk; rechunk first, e.g. x.rechunk(&{target:?})",
                            n.grid.max_chunk()
                        ),
                    });
                }
                return Ok(r.reshape(shape));
            }
            Ok(Array::new(Op::Reshape { groups }, vec![self.clone()], out, n.dtype, ChunkGrid::new(chunks)))
        })
    }
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Joins arrays along an existing axis (dtypes promote; other axes must match; chunks on
/// the other axes are unified).
///
/// ```
/// let a = tessera::ones(&[2, 3], 2).unwrap();
/// let b = tessera::zeros(&[4, 3], 3).unwrap();
/// let c = tessera::concatenate(&[&a, &b], 0);
/// assert_eq!(c.shape(), &[6, 3]);
/// assert_eq!(c.sum().compute_scalar::<f64>().unwrap(), 6.0);
/// ```
pub fn concatenate(arrays: &[&Array], axis: isize) -> Array {
    let go = || -> Result<Array> {
        let first = arrays
            .first()
            .ok_or_else(|| Error::arg("concatenate", "needs at least one array"))?
            .node()?;
        let ax = norm_axis("concatenate", axis, &first.shape)?;
        let mut dtype = first.dtype;
        let mut len = 0;
        for a in arrays {
            let n = a.node()?;
            let same = n.shape.len() == first.shape.len()
                && (0..n.shape.len()).all(|k| k == ax || n.shape[k] == first.shape[k]);
            if !same {
                return Err(Error::ShapeMismatch {
                    op: "concatenate",
                    left: first.shape.clone(),
                    right: n.shape.clone(),
                    hint: format!("all axes but {ax} must have equal lengths"),
                });
            }
            dtype = dtype.promote(n.dtype);
            len += n.shape[ax];
        }
        let inputs: Vec<Array> = arrays.iter().map(|a| a.astype(dtype)).collect();
        let nodes: Vec<&super::Node> = inputs.iter().map(|a| a.node()).collect::<Result<_>>()?;
        let mut shape = first.shape.clone();
        shape[ax] = len;
        let chunks = (0..shape.len())
            .map(|k| {
                if k == ax {
                    let c: Vec<usize> = nodes
                        .iter()
                        .flat_map(|n| n.grid.sizes(k).iter().copied().filter(|&c| c > 0))
                        .collect();
                    if c.is_empty() {
                        vec![0]
                    } else {
                        c
                    }
                } else {
                    let mut b: Vec<usize> = nodes
                        .iter()
                        .flat_map(|n| n.grid.boundaries(k).iter().copied())
                        .collect();
                    b.sort_unstable();
                    b.dedup();
                    if shape[k] == 0 {
                        vec![0]
                    } else {
                        b.windows(2).map(|w| w[1] - w[0]).collect()
                    }
                }
            })
            .collect();
        Ok(Array::new(
            Op::Concat(ax),
            inputs,
            shape,
            dtype,
            ChunkGrid::new(chunks),
        ))
    };
    go().unwrap_or_else(Array::err)
}

/// Joins arrays of one shape along a new axis.
///
/// ```
/// let a = tessera::ones(&[3], 2).unwrap();
/// let s = tessera::stack(&[&a, &a, &a], 0);
/// assert_eq!(s.shape(), &[3, 3]);
/// ```
pub fn stack(arrays: &[&Array], axis: isize) -> Array {
    let Some(first) = arrays.first() else {
        return Array::err(Error::arg("stack", "needs at least one array"));
    };
    for a in arrays {
        if a.shape() != first.shape() {
            if let Err(e) = a.check() {
                return Array::err(e);
            }
            return Array::err(Error::ShapeMismatch {
                op: "stack",
                left: first.shape().to_vec(),
                right: a.shape().to_vec(),
                hint: "stacked arrays must have one shape".into(),
            });
        }
    }
    let expanded: Vec<Array> = arrays.iter().map(|a| a.expand_dims(axis)).collect();
    let refs: Vec<&Array> = expanded.iter().collect();
    concatenate(&refs, axis)
}
