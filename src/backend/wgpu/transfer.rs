//! Moving chunks between host and device: uploads, batched downloads (one wait for
//! many buffers), and the byte layouts of each dtype on the device.

use super::pool::PooledBuffer;
use super::{GpuBuf, WgpuBackend};
use crate::backend::Buffer;
use crate::dtype::{DType, HostArray};
use crate::error::Result;
use crate::kernel::Chunk;

impl WgpuBackend {
    /// Copies every buffer into a staging buffer in one submit, waits once, and decodes.
    pub(in crate::backend::wgpu) fn download_now(&self, bufs: &[&Buffer]) -> Result<Vec<Chunk>> {
        let gbufs: Vec<&GpuBuf> = bufs.iter().map(|b| self.buf(b)).collect::<Result<_>>()?;
        self.reclaim();
        let mut enc = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        let staged: Vec<(PooledBuffer, u64)> = gbufs
            .iter()
            .map(|b| {
                let parts = b.partial.map_or(1, |r| r.partial_parts());
                let n: usize = b.shape.iter().product::<usize>() * parts;
                // Bools are stored as u32; everything else at its own width.
                let width = if b.dtype == DType::Bool {
                    4
                } else {
                    b.dtype.size()
                };
                let size = (n * width).next_multiple_of(4).max(4) as u64;
                let staging = self.pool.take(
                    &self.device,
                    size,
                    wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                );
                enc.copy_buffer_to_buffer(&b.buffer, 0, &staging, 0, size);
                (staging, size)
            })
            .collect();
        self.enqueue(enc.finish());
        self.flush();
        let (tx, rx) = std::sync::mpsc::channel();
        for (staging, size) in &staged {
            let tx = tx.clone();
            staging
                .slice(..*size)
                .map_async(wgpu::MapMode::Read, move |r| {
                    let _ = tx.send(r);
                });
        }
        drop(tx);
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| self.fail("download", e.to_string()))?;
        for r in rx.iter() {
            r.map_err(|e| self.fail("download", e.to_string()))?;
        }
        gbufs
            .iter()
            .zip(&staged)
            .map(|(b, (staging, size))| {
                let bytes = staging
                    .slice(..*size)
                    .get_mapped_range()
                    .map_err(|e| self.fail("download", format!("{e:?}")))?
                    .to_vec();
                staging.unmap();
                self.decode(b, bytes)
            })
            .collect()
    }

    /// A downloaded buffer's bytes as a host chunk (partials in the CPU's f64 layout).
    pub(in crate::backend::wgpu) fn decode(&self, b: &GpuBuf, bytes: Vec<u8>) -> Result<Chunk> {
        let Some(red) = b.partial else {
            let arr =
                from_bytes(&bytes, b.dtype, &b.shape).map_err(|e| self.fail("download", e))?;
            return Ok(Chunk::dense(arr));
        };
        crate::backend::partial::decode(&bytes, b.dtype, &b.shape, red)
            .map_err(|e| self.fail("download", e))
    }

    pub(in crate::backend::wgpu) fn upload_now(&self, chunk: Chunk) -> Result<Buffer> {
        if chunk.parts.len() != 1 {
            return Err(self.fail("upload", "only dense chunks live on wgpu devices"));
        }
        let a = chunk.array();
        let bytes = host_bytes(a).map_err(|e| self.fail("upload", e))?;
        let buffer = self.alloc_init(&bytes);
        Ok(self.wrap(buffer, a.dtype(), a.shape().to_vec()))
    }
}

pub(in crate::backend::wgpu) fn host_bytes(a: &HostArray) -> std::result::Result<Vec<u8>, String> {
    let std = a.clone().into_standard();
    Ok(match &std {
        HostArray::F32(x) => bytemuck::cast_slice(x.as_slice().unwrap()).to_vec(),
        HostArray::F64(x) => bytemuck::cast_slice(x.as_slice().unwrap()).to_vec(),
        HostArray::F16(x) => bytemuck::cast_slice(x.as_slice().unwrap()).to_vec(),
        HostArray::I32(x) => bytemuck::cast_slice(x.as_slice().unwrap()).to_vec(),
        HostArray::I64(x) => bytemuck::cast_slice(x.as_slice().unwrap()).to_vec(),
        HostArray::U64(x) => bytemuck::cast_slice(x.as_slice().unwrap()).to_vec(),
        HostArray::U32(x) => bytemuck::cast_slice(x.as_slice().unwrap()).to_vec(),
        HostArray::C64(x) => bytemuck::cast_slice(x.as_slice().unwrap()).to_vec(),
        // Packed four or two to a word, as the host lays them out.
        HostArray::I8(x) => bytemuck::cast_slice(x.as_slice().unwrap()).to_vec(),
        HostArray::U8(x) => x.as_slice().unwrap().to_vec(),
        HostArray::I16(x) => bytemuck::cast_slice(x.as_slice().unwrap()).to_vec(),
        HostArray::U16(x) => bytemuck::cast_slice(x.as_slice().unwrap()).to_vec(),
        HostArray::C128(x) => bytemuck::cast_slice(x.as_slice().unwrap()).to_vec(),
        HostArray::Bool(x) => {
            bytemuck::cast_slice(&x.iter().map(|&b| b as u32).collect::<Vec<u32>>()).to_vec()
        }
        other => {
            return Err(format!(
                "dtype {} is not stored on wgpu devices yet",
                other.dtype()
            ))
        }
    })
}

pub(in crate::backend::wgpu) fn from_bytes(
    bytes: &[u8],
    dtype: DType,
    shape: &[usize],
) -> std::result::Result<HostArray, String> {
    let n: usize = shape.iter().product();
    fn arr<T: bytemuck::Pod>(
        bytes: &[u8],
        n: usize,
        shape: &[usize],
    ) -> std::result::Result<ndarray::ArrayD<T>, String> {
        let v = bytemuck::pod_collect_to_vec::<u8, T>(bytes);
        ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(shape), v[..n].to_vec())
            .map_err(|e| e.to_string())
    }
    Ok(match dtype {
        DType::F32 => HostArray::F32(arr(bytes, n, shape)?),
        DType::F64 => HostArray::F64(arr(bytes, n, shape)?),
        DType::F16 => HostArray::F16(arr::<half::f16>(bytes, n, shape)?),
        DType::I32 => HostArray::I32(arr(bytes, n, shape)?),
        DType::I64 => HostArray::I64(arr(bytes, n, shape)?),
        DType::U64 => HostArray::U64(arr(bytes, n, shape)?),
        DType::U32 => HostArray::U32(arr(bytes, n, shape)?),
        DType::Bool => HostArray::Bool(arr::<u32>(bytes, n, shape)?.mapv(|v| v != 0)),
        DType::C64 => HostArray::C64(arr(bytes, n, shape)?),
        DType::I8 => HostArray::I8(arr(bytes, n, shape)?),
        DType::U8 => HostArray::U8(arr(bytes, n, shape)?),
        DType::I16 => HostArray::I16(arr(bytes, n, shape)?),
        DType::U16 => HostArray::U16(arr(bytes, n, shape)?),
        DType::C128 => HostArray::C128(arr(bytes, n, shape)?),
        other => return Err(format!("dtype {other} is not stored on wgpu devices yet")),
    })
}
