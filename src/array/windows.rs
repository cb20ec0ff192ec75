//! Sliding windows as a view: `x.sliding_window(axis, w)` is NumPy's
//! `sliding_window_view(x, w, axis)`, with no copy of the windows. A consumer sees each
//! window element through a strided view of the input (the window axis steps like the
//! windowed one), so `x.sliding_window(0, 7).sum_axis(-1)` reads each input block and
//! its next `w - 1` rows once and never holds the `w`-times larger array.

use super::indexing::norm_axis;
use crate::chunks::ChunkGrid;
use crate::error::Error;
use crate::expr::{Array, Op};

impl Array {
    /// Every window of `window` consecutive elements along `axis`: the result has
    /// `n - window + 1` positions there and a new last axis of length `window`
    /// (`numpy.lib.stride_tricks.sliding_window_view(x, window, axis)`). Its chunks along
    /// `axis` are the input's, the last ones shortened by `window - 1`; the window axis
    /// is one chunk.
    ///
    /// ```
    /// let x = tessera::arange(0.0, 6.0, 1.0, 4).unwrap();
    /// let w = x.sliding_window(0, 3);
    /// assert_eq!(w.shape(), &[4, 3]);
    /// let m = w.sum_axis(1).compute::<f64>().unwrap();
    /// assert_eq!(m.as_slice().unwrap(), &[3.0, 6.0, 9.0, 12.0]);
    /// assert!(x.sliding_window(0, 7).check().is_err()); // longer than the axis
    /// ```
    pub fn sliding_window(&self, axis: isize, window: usize) -> Array {
        self.sliding_window_with(axis, window, None)
    }

    /// [`Array::sliding_window`] with the result's chunks along `axis` given (they sum to
    /// `n - window + 1`): regular ones for a Zarr store, whatever the input's. Any
    /// chunking stays a view.
    ///
    /// ```
    /// let x = tessera::arange(0.0, 10.0, 1.0, vec![vec![2, 4, 4]]).unwrap();
    /// let w = x.sliding_window_with(0, 3, Some(&[4, 4]));
    /// assert_eq!(w.chunks().unwrap().all()[0], vec![4, 4]);
    /// assert!(x.sliding_window_with(0, 3, Some(&[4, 3])).check().is_err());
    /// ```
    pub fn sliding_window_with(
        &self,
        axis: isize,
        window: usize,
        chunks: Option<&[usize]>,
    ) -> Array {
        const OP: &str = "sliding_window_view";
        self.then(|n| {
            let a = norm_axis(OP, axis, &n.shape)?;
            let len = n.shape[a];
            if window == 0 || window > len {
                return Err(Error::arg(
                    OP,
                    format!(
                        "window {window} along axis {a} of shape {:?}: a window holds 1 to {len} elements",
                        n.shape
                    ),
                ));
            }
            let mut shape = n.shape.clone();
            shape[a] = len - window + 1;
            shape.push(window);
            let mut grid = n.grid.all().to_vec();
            grid[a] = match chunks {
                None => shortened(&grid[a], window - 1),
                Some(c) if c.iter().sum::<usize>() == shape[a] => c.to_vec(),
                Some(c) => {
                    return Err(Error::arg(
                        OP,
                        format!(
                            "chunks {c:?} along axis {a} sum to {}, not the {} window positions of shape {:?}",
                            c.iter().sum::<usize>(),
                            shape[a],
                            n.shape
                        ),
                    ))
                }
            };
            grid.push(vec![window]);
            Ok(Array::new(
                Op::Window { axis: a, window },
                vec![self.clone()],
                shape,
                n.dtype,
                ChunkGrid::new(grid),
            ))
        })
    }
}

/// Chunk lengths with `cut` elements taken from the end (emptied chunks dropped; one
/// empty chunk when nothing is left).
fn shortened(chunks: &[usize], mut cut: usize) -> Vec<usize> {
    let mut out = chunks.to_vec();
    while cut > 0 {
        let Some(last) = out.last_mut() else { break };
        let take = cut.min(*last);
        *last -= take;
        cut -= take;
        if *last == 0 && out.len() > 1 {
            out.pop();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn shortening_drops_emptied_chunks() {
        assert_eq!(super::shortened(&[4, 4, 2], 3), vec![4, 3]);
        assert_eq!(super::shortened(&[4, 4, 2], 0), vec![4, 4, 2]);
        assert_eq!(super::shortened(&[3], 2), vec![1]);
    }
}
