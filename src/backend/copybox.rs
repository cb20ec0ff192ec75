//! Take and assemble as rectangular box copies, the form every GPU backend's strided
//! copy kernel (`shaders/copy.wgsl`, `kernels/copy.cu`) takes: one launch per box.
// Used by the GPU backends only; a CPU-only build keeps it compiled and tested.
#![cfg_attr(not(any(feature = "wgpu", feature = "cuda")), allow(dead_code))]

use crate::kernel::{AssembleOp, TakeOp};

/// One rectangular copy from input `slot` (start `src`) to the output (start `dst`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CopyBox {
    pub slot: usize,
    pub src: Vec<usize>,
    pub dst: Vec<usize>,
    pub shape: Vec<usize>,
}

/// The boxes of an assemble (its pieces, as they are).
pub(crate) fn assemble_boxes(op: &AssembleOp) -> Vec<CopyBox> {
    op.pieces
        .iter()
        .map(|p| CopyBox {
            slot: p.slot,
            src: p.src_start.clone(),
            dst: p.dst_start.clone(),
            shape: p.shape.clone(),
        })
        .collect()
}

/// The boxes of a take: runs of consecutive indices from one input become one box each.
pub(crate) fn take_boxes(op: &TakeOp) -> Vec<CopyBox> {
    let (shape, axis) = (&op.shape, op.axis);
    let mut boxes: Vec<CopyBox> = vec![];
    for (i, &(slot, j)) in op.picks.iter().enumerate() {
        if let Some(last) = boxes.last_mut() {
            if last.slot == slot
                && last.src[axis] + last.shape[axis] == j
                && last.dst[axis] + last.shape[axis] == i
            {
                last.shape[axis] += 1;
                continue;
            }
        }
        let mut src = vec![0; shape.len()];
        let mut dst = vec![0; shape.len()];
        let mut bshape = shape.clone();
        src[axis] = j;
        dst[axis] = i;
        bshape[axis] = 1;
        boxes.push(CopyBox {
            slot,
            src,
            dst,
            shape: bshape,
        });
    }
    boxes
}

/// The copy kernels' `cmeta` for box `b` from an input of `src_shape` into an output of
/// `dst_shape` (both C-contiguous): `[ndim, count, shape, src offset, src strides, dst
/// offset, dst strides]`.
pub(crate) fn box_meta(b: &CopyBox, src_shape: &[usize], dst_shape: &[usize]) -> Vec<u32> {
    let ss = crate::chunks::c_strides(src_shape);
    let ds = crate::chunks::c_strides(dst_shape);
    let offset = |start: &[usize], strides: &[i64]| {
        start
            .iter()
            .zip(strides)
            .map(|(&x, &s)| x as i64 * s)
            .sum::<i64>() as u32
    };
    let count: usize = b.shape.iter().product();
    let mut meta: Vec<u32> = vec![dst_shape.len() as u32, count as u32];
    meta.extend(b.shape.iter().map(|&x| x as u32));
    meta.push(offset(&b.src, &ss));
    meta.extend(ss.iter().map(|&x| x as u32));
    meta.push(offset(&b.dst, &ds));
    meta.extend(ds.iter().map(|&x| x as u32));
    meta
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_picks_from_one_input_are_one_box() {
        let op = TakeOp {
            axis: 0,
            picks: vec![(0, 3), (0, 4), (0, 5), (1, 0), (0, 9)],
            shape: vec![5, 2],
            dtype: crate::DType::F32,
        };
        let b = take_boxes(&op);
        assert_eq!(b.len(), 3);
        assert_eq!(
            (b[0].slot, b[0].src.clone(), b[0].shape.clone()),
            (0, vec![3, 0], vec![3, 2])
        );
        assert_eq!((b[1].slot, b[1].dst.clone()), (1, vec![3, 0]));
        // Box 0 from a 10x2 input into the 5x2 output: 3x2 elements from offset 6.
        assert_eq!(
            box_meta(&b[0], &[10, 2], &[5, 2]),
            vec![2, 6, 3, 2, 6, 2, 1, 0, 2, 1]
        );
    }
}
