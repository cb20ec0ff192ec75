//! Moving chunks between host and device. Every dtype is stored on the device as on the
//! host (bools one byte, f16 and bf16 as their bits), so a transfer is one copy of the
//! element bytes; partials come back in the CPU's layout (`backend/partial.rs`).
//!
//! Copies are synchronous from pageable memory today; pinned staging buffers, which let
//! them overlap kernels, are the next step and need a GPU to measure.

use super::{CuBuf, CudaBackend};
use crate::backend::Buffer;
use crate::dtype::HostArray;
use crate::error::Result;
use crate::kernel::Chunk;

impl CudaBackend {
    pub(super) fn download_now(&self, b: &CuBuf) -> Result<Chunk> {
        let bytes = self
            .stream
            .clone_dtoh(&b.data)
            .map_err(|e| self.fail("download", format!("{e:?}")))?;
        if let Some(red) = b.partial {
            return crate::backend::partial::decode(&bytes, b.dtype, &b.shape, red)
                .map_err(|e| self.fail("download", e));
        }
        let mut parts = vec![];
        for p in 0..=b.more.len() {
            let (shape, off) = b.part(p).expect("every part has a place");
            let len = shape.iter().product::<usize>() * b.dtype.size();
            let part = bytes
                .get(off..off + len)
                .ok_or_else(|| self.fail("download", "a part beyond the buffer"))?;
            parts.push(
                HostArray::from_element_bytes(part, b.dtype, shape)
                    .map_err(|e| self.fail("download", e))?,
            );
        }
        Ok(Chunk { parts })
    }

    /// Uploads a dense chunk, or a multi-part one (its parts one after another, of one
    /// dtype). Partials are never uploaded: they stay where they were made.
    pub(super) fn upload_now(&self, chunk: Chunk) -> Result<Buffer> {
        let dtype = chunk.array().dtype();
        if chunk.parts.iter().any(|p| p.dtype() != dtype) {
            return Err(self.fail("upload", "a chunk whose parts differ in dtype"));
        }
        let mut bytes = Vec::with_capacity(chunk.nbytes());
        for p in &chunk.parts {
            bytes.extend_from_slice(&p.element_bytes());
        }
        // An empty chunk still gets an allocation (of one byte): CUDA refuses size 0.
        let data = if bytes.is_empty() {
            self.alloc(1)?
        } else {
            self.stream
                .clone_htod(&bytes[..])
                .map_err(|e| self.fail("upload", format!("{} bytes: {e:?}", bytes.len())))?
        };
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
                DType::F16 => HostArray::F16(x.mapv(half::f16::from_f64)),
                DType::BF16 => HostArray::BF16(x.mapv(half::bf16::from_f64)),
                DType::F32 => HostArray::F32(x.mapv(|v| v as f32)),
                DType::F64 => HostArray::F64(x),
            };
            let back = HostArray::from_element_bytes(&a.element_bytes(), d, &[2, 3]).unwrap();
            assert_eq!(back, a, "{d}");
        }
    }
}
