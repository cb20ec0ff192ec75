//! Moving chunks between host and device. Every dtype is stored on the device as on the
//! host (bools one byte, f16 and bf16 as their bits), so a transfer is one copy of the
//! element bytes; partials come back in the CPU's layout (`backend/partial.rs`).
//!
//! Both directions go through the lane's pinned staging (`lane.rs`): an upload copies
//! the host bytes into pinned pieces and returns once the last DMA is queued; a download
//! copies pinned pieces straight into the new array's memory.

use super::lane::Lane;
use super::{CuBuf, CudaBackend};
use crate::backend::Buffer;
use crate::dtype::HostArray;
use crate::error::Result;
use crate::kernel::Chunk;
use cudarc::driver::DevicePtr;

impl CudaBackend {
    pub(super) fn download_on(&self, lane: &mut Lane, b: &CuBuf) -> Result<Chunk> {
        if let Some(red) = b.partial {
            let mut bytes = vec![0u8; b.data.len()];
            self.stage_down(lane, b, 0, &mut bytes)?;
            return crate::backend::partial::decode(&bytes, b.dtype, &b.shape, red)
                .map_err(|e| self.fail("download", e));
        }
        let mut parts = vec![];
        for p in 0..=b.more.len() {
            let (shape, off) = b.part(p).expect("every part has a place");
            let part = HostArray::from_element_fill(b.dtype, shape, |dst| {
                self.stage_down(lane, b, off, dst)
            })?;
            parts.push(part);
        }
        Ok(Chunk { parts })
    }

    /// Uploads a dense chunk, or a multi-part one (its parts one after another, of one
    /// dtype), queued on `lane`. Partials are never uploaded: they stay where they were
    /// made.
    pub(super) fn upload_on(&self, lane: &mut Lane, chunk: Chunk) -> Result<Buffer> {
        let dtype = chunk.array().dtype();
        if chunk.parts.iter().any(|p| p.dtype() != dtype) {
            return Err(self.fail("upload", "a chunk whose parts differ in dtype"));
        }
        let total = chunk.nbytes();
        // SAFETY: every byte is written by the copies below (an empty chunk still gets
        // one byte, never read: CUDA refuses size 0).
        let data = unsafe { lane.stream.alloc::<u8>(total.max(1)) }
            .map_err(|e| self.fail("upload", format!("{total} bytes: {e:?}")))?;
        let (base, _) = data.device_ptr(&lane.stream);
        let mut off = 0;
        for p in &chunk.parts {
            let bytes = p.element_bytes();
            if off + bytes.len() > total {
                return Err(self.fail("upload", "parts larger than the chunk's bytes"));
            }
            self.stage_up(lane, &bytes, base + off as u64)?;
            off += bytes.len();
        }
        let shapes: Vec<Vec<usize>> = chunk.parts.iter().map(|p| p.shape().to_vec()).collect();
        Ok(if shapes.len() == 1 {
            self.wrap(
                data,
                dtype,
                shapes.into_iter().next().expect("one part"),
                None,
            )
        } else {
            self.wrap_parts(data, dtype, shapes)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::DType;

    #[test]
    fn every_dtype_round_trips_through_device_bytes() {
        for d in DType::ALL {
            let x = ndarray::arr2(&[[0.0, 1.0, -2.5], [3.0, 0.0, 7.25]]).into_dyn();
            let a = match d {
                DType::Bool => HostArray::Bool(x.mapv(|v| v != 0.0)),
                DType::U32 => HostArray::U32(x.mapv(|v: f64| v.abs() as u32)),
                DType::I32 => HostArray::I32(x.mapv(|v| v as i32)),
                DType::I64 => HostArray::I64(x.mapv(|v| v as i64)),
                DType::I8 => HostArray::I8(x.mapv(|v| v as i8)),
                DType::U8 => HostArray::U8(x.mapv(|v: f64| v.abs() as u8)),
                DType::I16 => HostArray::I16(x.mapv(|v| v as i16)),
                DType::U16 => HostArray::U16(x.mapv(|v: f64| v.abs() as u16)),
                DType::U64 => HostArray::U64(x.mapv(|v: f64| v.abs() as u64)),
                DType::F16 => HostArray::F16(x.mapv(half::f16::from_f64)),
                DType::BF16 => HostArray::BF16(x.mapv(half::bf16::from_f64)),
                DType::F32 => HostArray::F32(x.mapv(|v| v as f32)),
                DType::C64 => {
                    HostArray::C64(x.mapv(|v| num_complex::Complex32::new(v as f32, -v as f32)))
                }
                DType::C128 => HostArray::C128(x.mapv(|v| num_complex::Complex64::new(v, 0.5 * v))),
                DType::F64 => HostArray::F64(x),
            };
            let back = HostArray::from_element_bytes(&a.element_bytes(), d, &[2, 3]).unwrap();
            assert_eq!(back, a, "{d}");
        }
    }
}
