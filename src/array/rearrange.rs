//! Rearranging values without computing new ones: `flip`, `roll`, `moveaxis`, `repeat`,
//! `tile`, `pad`, the triangles `tril`/`triu` and `diagonal`. Each is a view (slices with negative
//! steps, concatenations, broadcasts, a gather) that fuses into its consumer, so a flip
//! or roll of generated data generates the moved region instead of copying it.

use super::indexing::norm_axis;
use super::{concatenate, where_, Array, Index};
use crate::chunks::Chunks;
use crate::dtype::{DType, Scalar};
use crate::error::{Error, Result};

/// The smallest value of `d` (-inf for floats), which never wins a maximum.
fn lowest(d: DType) -> Scalar {
    match d {
        DType::Bool => Scalar::Bool(false),
        d => match d.int_bounds() {
            // i64 holds every integer dtype's minimum (u64's is 0).
            Some((lo, _)) => Scalar::I64(lo as i64).cast(d),
            None => Scalar::F64(f64::NEG_INFINITY).cast(d),
        },
    }
}

/// How `pad` fills the new border (NumPy's `mode=`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PadMode {
    /// A constant value.
    Constant(Scalar),
    /// The edge value repeated.
    Edge,
    /// Mirrored without the edge value (`[3 2 | 1 2 3 | 2 1]`).
    Reflect,
    /// Mirrored with the edge value (`[2 1 | 1 2 3 | 3 2]`).
    Symmetric,
    /// The other end's values (`[2 3 | 1 2 3 | 1 2]`).
    Wrap,
    /// A straight line from the value (at the outer end) to the edge value, NumPy's
    /// `linear_ramp` with `end_values` (`[0 0.5 | 1 2 3 | 1.5 0]` for 0).
    LinearRamp(Scalar),
}

impl Array {
    fn along(&self, axis: usize, from: isize, to: Option<isize>, step: isize) -> Array {
        let mut ix = vec![Index::all(); axis];
        ix.push(Index::slice(Some(from), to, step));
        self.slice(&ix)
    }

    /// Reverses the order along `axes` (all when `None`), like `numpy.flip`.
    ///
    /// ```
    /// let x = tessera::arange(0.0, 4.0, 1.0, 3).unwrap();
    /// assert_eq!(x.flip(None).compute::<f64>().unwrap().as_slice().unwrap(), &[3.0, 2.0, 1.0, 0.0]);
    /// ```
    pub fn flip(&self, axes: Option<&[isize]>) -> Array {
        self.then(|n| {
            let nd = n.shape.len();
            let mut ix = vec![Index::all(); nd];
            let all: Vec<isize> = (0..nd as isize).collect();
            for &a in axes.unwrap_or(&all) {
                ix[norm_axis("flip", a, &n.shape)?] = Index::slice(None, None, -1);
            }
            Ok(self.slice(&ix))
        })
    }

    /// Shifts values by `shift` along `axis`, those falling off one end coming back at
    /// the other, like `numpy.roll` (the flattened array when `axis` is `None`).
    pub fn roll(&self, shift: isize, axis: Option<isize>) -> Array {
        self.then(|n| {
            let Some(axis) = axis else {
                let shape: Vec<isize> = n.shape.iter().map(|&s| s as isize).collect();
                return Ok(self.reshape(&[-1]).roll(shift, Some(0)).reshape(&shape));
            };
            let ax = norm_axis("roll", axis, &n.shape)?;
            let len = n.shape[ax] as isize;
            if len == 0 {
                return Ok(self.clone());
            }
            let s = shift.rem_euclid(len);
            if s == 0 {
                return Ok(self.clone());
            }
            let tail = self.along(ax, len - s, None, 1);
            let head = self.along(ax, 0, Some(len - s), 1);
            Ok(concatenate(&[&tail, &head], ax as isize))
        })
    }

    /// Moves axes `source` to positions `destination`, the others keeping their order,
    /// like `numpy.moveaxis`.
    pub fn moveaxis(&self, source: &[isize], destination: &[isize]) -> Array {
        self.then(|n| {
            if source.len() != destination.len() {
                return Err(Error::arg(
                    "moveaxis",
                    format!(
                        "source {source:?} and destination {destination:?} must name as many axes"
                    ),
                ));
            }
            let norm = |v: &[isize]| -> Result<Vec<usize>> {
                v.iter()
                    .map(|&a| norm_axis("moveaxis", a, &n.shape))
                    .collect()
            };
            let (src, dst) = (norm(source)?, norm(destination)?);
            let mut order: Vec<usize> = (0..n.shape.len()).filter(|a| !src.contains(a)).collect();
            let mut pairs: Vec<(usize, usize)> = dst.into_iter().zip(src).collect();
            pairs.sort_unstable();
            for (d, s) in pairs {
                order.insert(d.min(order.len()), s);
            }
            Ok(self.permute_axes(&order))
        })
    }

    /// Each element repeated `repeats` times along `axis` (the flattened array when
    /// `None`), like `numpy.repeat` with one count.
    pub fn repeat(&self, repeats: usize, axis: Option<isize>) -> Array {
        self.then(|_| {
            let (x, ax) = match axis {
                None => (self.reshape(&[-1]), 0),
                Some(a) => (self.clone(), a),
            };
            let len = x.node()?.shape[norm_axis("repeat", ax, &x.node()?.shape)?];
            let idx: Vec<isize> = (0..len as isize)
                .flat_map(|i| std::iter::repeat_n(i, repeats))
                .collect();
            Ok(x.take(ax, &idx))
        })
    }

    /// Element `i` along `axis` repeated `counts[i]` times (one count for all when
    /// `counts` has one), like `numpy.repeat` with an array of repeats; flattened when
    /// `axis` is `None`.
    ///
    /// ```
    /// let x = tessera::arange(0.0, 3.0, 1.0, 2).unwrap();
    /// let r = x.repeat_counts(&[2, 0, 1], Some(0));
    /// assert_eq!(r.compute::<f64>().unwrap().as_slice().unwrap(), &[0.0, 0.0, 2.0]);
    /// ```
    pub fn repeat_counts(&self, counts: &[usize], axis: Option<isize>) -> Array {
        self.then(|_| {
            let (x, ax) = match axis {
                None => (self.reshape(&[-1]), 0),
                Some(a) => (self.clone(), a),
            };
            let shape = x.node()?.shape.clone();
            let k = norm_axis("repeat", ax, &shape)?;
            let len = shape[k];
            if counts.len() != 1 && counts.len() != len {
                return Err(Error::ShapeMismatch {
                    op: "repeat",
                    left: shape.clone(),
                    right: vec![counts.len()],
                    hint: format!("give one count, or one per element along axis {k} ({len})"),
                });
            }
            let count = |i: usize| counts[if counts.len() == 1 { 0 } else { i }];
            let idx: Vec<isize> = (0..len)
                .flat_map(|i| std::iter::repeat_n(i as isize, count(i)))
                .collect();
            Ok(x.take(ax, &idx))
        })
    }

    /// [`Array::repeat_counts`] with the counts in an integer array: the counts decide
    /// the result's shape, so they are computed when this is called (a 1-d array of
    /// counts is small; the array it repeats stays lazy). Negative counts are an error.
    pub fn repeat_by(&self, counts: &Array, axis: Option<isize>) -> Array {
        let go = || -> Result<Array> {
            let d = counts.node()?.dtype;
            if !d.is_int() && d != DType::Bool {
                return Err(Error::UnsupportedDType {
                    op: "repeat",
                    dtype: d,
                    device: "any device".into(),
                    hint: "repeat counts are integers".into(),
                });
            }
            let c = counts.astype(DType::I64).reshape(&[-1]).compute::<i64>()?;
            if let Some(bad) = c.iter().find(|&&v| v < 0) {
                return Err(Error::arg(
                    "repeat",
                    format!("a negative count {bad}; counts are at least 0"),
                ));
            }
            let c: Vec<usize> = c.iter().map(|&v| v as usize).collect();
            Ok(self.repeat_counts(&c, axis))
        };
        go().unwrap_or_else(Array::err)
    }

    /// The array repeated `reps[k]` times along each axis, like `numpy.tile` (leading
    /// axes are added when `reps` is longer than the array's dimensions).
    pub fn tile(&self, reps: &[usize]) -> Array {
        self.then(|n| {
            let mut x = self.clone();
            for _ in n.shape.len()..reps.len() {
                x = x.expand_dims(0);
            }
            let nd = x.node()?.shape.len();
            let reps: Vec<usize> = std::iter::repeat_n(1, nd - reps.len().min(nd))
                .chain(reps.iter().copied())
                .collect();
            for (ax, &r) in reps.iter().enumerate() {
                if r != 1 {
                    let copies: Vec<&Array> = std::iter::repeat_n(&x, r).collect();
                    x = if r == 0 {
                        x.along(ax, 0, Some(0), 1)
                    } else {
                        concatenate(&copies, ax as isize)
                    };
                }
            }
            Ok(x)
        })
    }

    /// Pads axis `k` with `widths[k] = (before, after)` values filled by `mode`, like
    /// `numpy.pad`; the reflecting and wrapping modes take widths up to the axis length
    /// (`reflect`: one less).
    ///
    /// ```
    /// use tessera::array::PadMode;
    /// let x = tessera::arange(1.0, 4.0, 1.0, 2).unwrap();
    /// let p = x.pad(&[(2, 1)], PadMode::Reflect);
    /// assert_eq!(p.compute::<f64>().unwrap().as_slice().unwrap(), &[3.0, 2.0, 1.0, 2.0, 3.0, 2.0]);
    /// ```
    pub fn pad(&self, widths: &[(usize, usize)], mode: PadMode) -> Array {
        self.then(|n| {
            if widths.len() != n.shape.len() {
                return Err(Error::arg(
                    "pad",
                    format!(
                        "{} (before, after) pairs for an array of shape {:?}; give one per axis",
                        widths.len(),
                        n.shape
                    ),
                ));
            }
            let mut x = self.clone();
            for (ax, &(before, after)) in widths.iter().enumerate() {
                if before == 0 && after == 0 {
                    continue;
                }
                x = pad_axis(&x, ax, before, after, mode)?;
            }
            Ok(x)
        })
    }

    /// Zeros above the `k`-th diagonal of the last two axes, like `numpy.tril`.
    pub fn tril(&self, k: i64) -> Array {
        self.triangle(k, true)
    }

    /// Zeros below the `k`-th diagonal of the last two axes, like `numpy.triu`.
    pub fn triu(&self, k: i64) -> Array {
        self.triangle(k, false)
    }

    /// The `offset`-th diagonal of axes `axis1` and `axis2`, as the last axis of the
    /// result, like `numpy.diagonal` (a new array; NumPy's is a read-only view).
    ///
    /// Each row block of the band is sliced once: its diagonal is the maximum of each
    /// row with everything off the diagonal replaced by the dtype's lowest value, so the
    /// diagonal's own bits (NaN, -0.0) come out unchanged.
    ///
    /// ```
    /// let x = tessera::from_ndarray(ndarray::arr2(&[[1.0, 2.0], [3.0, 4.0]]).into_dyn(), 1).unwrap();
    /// assert_eq!(x.diagonal(0, 0, 1).compute::<f64>().unwrap().as_slice().unwrap(), &[1.0, 4.0]);
    /// assert_eq!(x.diagonal(1, 0, 1).compute::<f64>().unwrap().as_slice().unwrap(), &[2.0]);
    /// ```
    pub fn diagonal(&self, offset: i64, axis1: isize, axis2: isize) -> Array {
        self.then(|n| {
            let nd = n.shape.len();
            if nd < 2 {
                return Err(Error::arg(
                    "diagonal",
                    format!("needs at least 2 dimensions, got shape {:?}", n.shape),
                ));
            }
            let a1 = norm_axis("diagonal", axis1, &n.shape)?;
            let a2 = norm_axis("diagonal", axis2, &n.shape)?;
            if a1 == a2 {
                return Err(Error::arg(
                    "diagonal",
                    format!("axis1 and axis2 are both {a1}; name two different axes"),
                ));
            }
            let x = self.moveaxis(&[a1 as isize, a2 as isize], &[-2, -1]);
            let (r, c) = (n.shape[a1], n.shape[a2]);
            let (rs, cs) = if offset >= 0 {
                (0, offset as usize)
            } else {
                (offset.unsigned_abs() as usize, 0)
            };
            let len = r.saturating_sub(rs).min(c.saturating_sub(cs));
            let mut lead: Vec<isize> = n
                .shape
                .iter()
                .enumerate()
                .filter(|&(k, _)| k != a1 && k != a2)
                .map(|(_, &s)| s as isize)
                .collect();
            if len == 0 {
                lead.push(0);
                let mut sel = vec![Index::all(); nd - 2];
                sel.extend([Index::from(0..0), Index::from(0..0)]);
                return Ok(x.slice(&sel).reshape(&lead));
            }
            // Segments of the diagonal that start at the row blocks' boundaries.
            let mut cuts: Vec<usize> = n
                .grid
                .boundaries(a1)
                .iter()
                .filter(|&&b| b > rs && b < rs + len)
                .map(|&b| b - rs)
                .collect();
            cuts.insert(0, 0);
            cuts.push(len);
            let never = lowest(n.dtype);
            let mut parts = vec![];
            for w in cuts.windows(2) {
                let (k0, k1) = (w[0] as isize, w[1] as isize);
                let mut sel = vec![Index::all(); nd - 2];
                sel.push(Index::from(rs as isize + k0..rs as isize + k1));
                sel.push(Index::from(cs as isize + k0..cs as isize + k1));
                let band = x.slice(&sel);
                let h = (k1 - k0) as usize;
                let on = super::eye(h, None, 0, Chunks::Explicit(vec![vec![h], vec![h]]))?
                    .astype(DType::Bool);
                let kept = where_(&on, &band, never).astype(n.dtype);
                parts.push(kept.reduce(
                    crate::kernel::Reduction::Max,
                    Some(&[-1]),
                    false,
                    super::SPLIT_EVERY,
                ));
            }
            let parts: Vec<&Array> = parts.iter().collect();
            Ok(concatenate(&parts, -1))
        })
    }

    fn triangle(&self, k: i64, lower: bool) -> Array {
        self.then(|n| {
            let nd = n.shape.len();
            if nd < 2 {
                return Err(Error::arg(
                    if lower { "tril" } else { "triu" },
                    format!("needs at least 2 dimensions, got shape {:?}", n.shape),
                ));
            }
            let (r, c) = (n.shape[nd - 2], n.shape[nd - 1]);
            let rows = super::arange(
                0.0,
                r as f64,
                1.0,
                Chunks::Explicit(vec![n.grid.sizes(nd - 2).to_vec()]),
            )?
            .astype(DType::I64)
            .expand_dims(1);
            let cols = super::arange(
                0.0,
                c as f64,
                1.0,
                Chunks::Explicit(vec![n.grid.sizes(nd - 1).to_vec()]),
            )?
            .astype(DType::I64);
            let offset = &cols - &rows;
            let keep = if lower { offset.le(k) } else { offset.ge(k) };
            Ok(where_(&keep, self, Scalar::F64(0.0).cast(n.dtype)).astype(n.dtype))
        })
    }
}

fn pad_axis(x: &Array, ax: usize, before: usize, after: usize, mode: PadMode) -> Result<Array> {
    let node = x.node()?;
    let len = node.shape[ax];
    let l = len as isize;
    // A backwards slice's exclusive stop; past the start is "no stop", not -1.
    let down_to = |v: isize| (v >= 0).then_some(v);
    let limit = match mode {
        PadMode::Reflect => len.saturating_sub(1),
        PadMode::Constant(_) | PadMode::LinearRamp(_) => usize::MAX,
        _ => len,
    };
    if before.max(after) > limit {
        return Err(Error::arg(
            "pad",
            format!("width {} on axis {ax} of length {len} is more than mode {mode:?} takes here ({limit}); pad in several steps", before.max(after)),
        ));
    }
    let edge_block = |w: usize, first: bool| -> Result<Array> {
        let mut shape = node.shape.clone();
        shape[ax] = w;
        Ok(match mode {
            PadMode::Constant(v) => {
                let mut chunks = node.grid.all().to_vec();
                chunks[ax] = vec![w];
                super::full(&shape, v.cast(node.dtype), Chunks::Explicit(chunks))?
            }
            PadMode::Edge => {
                let at = if first { 0 } else { l - 1 };
                x.along(ax, at, Some(at + 1), 1).broadcast_to(&shape)
            }
            PadMode::Reflect if first => x.along(ax, w as isize, Some(0), -1),
            PadMode::Reflect => x.along(ax, l - 2, down_to(l - 2 - w as isize), -1),
            PadMode::Symmetric if first => x.along(ax, w as isize - 1, None, -1),
            PadMode::Symmetric => x.along(ax, l - 1, down_to(l - 1 - w as isize), -1),
            PadMode::Wrap if first => x.along(ax, l - w as isize, None, 1),
            PadMode::Wrap => x.along(ax, 0, Some(w as isize), 1),
            PadMode::LinearRamp(end) => {
                // NumPy's linspace(end, edge, w, endpoint=False): i * step + end with
                // step = (edge - end) / w, in f64, then the array's dtype (integers
                // floored first, as NumPy 2's linspace does); the after side runs
                // outwards. NumPy switches to (i / w) * (edge - end) + end when any step
                // of the whole side is 0, a data-dependent choice not copied here: the
                // values then differ from NumPy's in the last bit or so.
                let at = if first { 0 } else { l - 1 };
                let edge = x.along(ax, at, Some(at + 1), 1).astype(DType::F64);
                let mut rshape = vec![1isize; shape.len()];
                rshape[ax] = w as isize;
                let (from, step) = if first {
                    (0.0, 1.0)
                } else {
                    (w as f64 - 1.0, -1.0)
                };
                let i = super::arange(from, from + step * w as f64, step, w.max(1))?
                    .astype(DType::F64)
                    .reshape(&rshape);
                let end = end.as_f64();
                let step = (edge - end) / w as f64;
                let v = ((i * &step) + end).broadcast_to(&shape);
                if node.dtype.is_float() {
                    v.astype(node.dtype)
                } else {
                    v.floor().astype(node.dtype)
                }
            }
        })
    };
    let mut parts = vec![];
    if before > 0 {
        parts.push(edge_block(before, true)?);
    }
    parts.push(x.clone());
    if after > 0 {
        parts.push(edge_block(after, false)?);
    }
    let refs: Vec<&Array> = parts.iter().collect();
    Ok(concatenate(&refs, ax as isize))
}
