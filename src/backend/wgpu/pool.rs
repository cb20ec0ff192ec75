//! A per-device pool of wgpu buffers, reused by size class.
//!
//! Creating a buffer costs a driver allocation (and on some drivers zero-filling); most
//! chunk tasks of one graph ask for the same few sizes, so a freed buffer is kept and
//! handed to the next request of its class. Classes are four per power of two (at most
//! 25% slack), from 256 bytes.
//!
//! Reuse must not race the GPU. A buffer is given back when its last handle drops, which
//! happens after every kernel that reads it was *encoded* — but encoded kernels wait in
//! the backend's pending list until the next submit, and `Queue::write_buffer` runs at
//! the start of the next submit, before that submit's kernels. So a returned buffer goes
//! into quarantine, and only the backend's submit (holding its pending lock) moves the
//! quarantine into the free lists: every kernel that could read the old contents is then
//! ahead of any later write in queue order.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Idle bytes the pool keeps; buffers returned beyond this are destroyed.
const IDLE_LIMIT: u64 = 512 << 20;

/// The size class a request of `size` bytes is served from (e.g. 1 → 256, 1025 → 1280).
pub(super) fn size_class(size: u64) -> u64 {
    let size = size.max(256);
    let top = 63 - size.leading_zeros() as u64; // 2^top <= size < 2^(top+1)
    let quarter = 1u64 << (top - 2);
    size.div_ceil(quarter) * quarter
}

#[derive(Default)]
struct Lists {
    free: HashMap<(u64, u32), Vec<wgpu::Buffer>>,
    quarantine: Vec<(u64, u32, wgpu::Buffer)>,
    idle_bytes: u64,
    created: u64,
}

/// Buffers of one device waiting to be reused.
#[derive(Default)]
pub(super) struct Pool {
    lists: Mutex<Lists>,
}

impl Pool {
    /// A buffer of at least `size` bytes with exactly `usage`, reused when one is free.
    pub(super) fn take(
        self: &Arc<Self>,
        device: &wgpu::Device,
        size: u64,
        usage: wgpu::BufferUsages,
    ) -> PooledBuffer {
        let class = size_class(size);
        let key = (class, usage.bits());
        let reused = {
            let mut l = self.lists.lock().unwrap_or_else(|p| p.into_inner());
            let b = l.free.get_mut(&key).and_then(|v| v.pop());
            if b.is_some() {
                l.idle_bytes -= class;
            } else {
                l.created += 1;
            }
            b
        };
        let buffer = reused.unwrap_or_else(|| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("tessera-pooled"),
                size: class,
                usage,
                mapped_at_creation: false,
            })
        });
        PooledBuffer {
            buffer: Some(buffer),
            class,
            usage: usage.bits(),
            pool: self.clone(),
        }
    }

    /// Makes quarantined buffers reusable; called right after a submit, under the
    /// backend's pending lock (see the module docs).
    pub(super) fn release_quarantine(&self) {
        let mut l = self.lists.lock().unwrap_or_else(|p| p.into_inner());
        let q = std::mem::take(&mut l.quarantine);
        for (class, usage, b) in q {
            if l.idle_bytes + class > IDLE_LIMIT {
                drop(b); // wgpu frees it once submitted work no longer uses it
                continue;
            }
            l.idle_bytes += class;
            l.free.entry((class, usage)).or_default().push(b);
        }
    }

    fn give_back(&self, class: u64, usage: u32, buffer: wgpu::Buffer) {
        let mut l = self.lists.lock().unwrap_or_else(|p| p.into_inner());
        l.quarantine.push((class, usage, buffer));
    }

    /// Bytes idle in the free lists.
    pub(super) fn idle_bytes(&self) -> u64 {
        self.lists.lock().map(|l| l.idle_bytes).unwrap_or(0)
    }

    /// Buffers created so far (requests the free lists could not serve).
    pub(super) fn created(&self) -> u64 {
        self.lists.lock().map(|l| l.created).unwrap_or(0)
    }
}

/// A buffer on loan from the pool; dropping it gives it back.
pub(super) struct PooledBuffer {
    buffer: Option<wgpu::Buffer>,
    class: u64,
    usage: u32,
    pool: Arc<Pool>,
}

impl std::ops::Deref for PooledBuffer {
    type Target = wgpu::Buffer;
    fn deref(&self) -> &wgpu::Buffer {
        self.buffer
            .as_ref()
            .expect("a pooled buffer is present until dropped")
    }
}

impl Drop for PooledBuffer {
    fn drop(&mut self) {
        if let Some(b) = self.buffer.take() {
            self.pool.give_back(self.class, self.usage, b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::size_class;

    #[test]
    fn classes_have_at_most_a_quarter_of_slack() {
        assert_eq!(size_class(0), 256);
        assert_eq!(size_class(256), 256);
        assert_eq!(size_class(257), 320);
        assert_eq!(size_class(1025), 1280);
        assert_eq!(size_class(1 << 20), 1 << 20);
        for s in [300u64, 4097, 1_000_000, 123_456_789] {
            let c = size_class(s);
            assert!(c >= s && (c - s) * 4 <= s, "{s} -> {c}");
            assert_eq!(size_class(c), c, "a class is its own class");
        }
    }
}
