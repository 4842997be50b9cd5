//! Buffers for the result frames a run reads back from its workers, kept
//! across shards.
//!
//! A shard's result is a few megabytes compressed and tens of megabytes
//! decoded. Read and decoded into fresh allocations, every shard made the
//! kernel hand out and zero that much new memory (`clear_page_erms` was a
//! tenth of a coordinator's CPU in `perf`); a buffer given back when its
//! shard is committed is written over by the next shard instead.

use std::ops::Deref;
use std::sync::Mutex;

/// Buffers kept for reuse. Each shard's result takes three (the frame as
/// read, its header and its files, decoded), and a run decodes results
/// as they arrive, ahead of the shard it commits: with four kept, most
/// takes still found none big enough. Each may be tens of megabytes, so
/// the count stays small; memory past it goes back to the allocator.
const KEPT: usize = 8;

static POOL: Pool = Pool::new(KEPT);

/// Buffers kept for reuse, up to a count.
struct Pool {
    kept: Mutex<Vec<Vec<u8>>>,
    most: usize,
}

impl Pool {
    const fn new(most: usize) -> Pool {
        Pool { kept: Mutex::new(Vec::new()), most }
    }

    fn take(&self, capacity: usize) -> Vec<u8> {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        // The smallest kept buffer that is big enough. A smaller one is
        // left alone: growing it would move it to fresh memory anyway, and
        // the frames, headers and files of shards come in three sizes.
        let pick = kept
            .iter()
            .enumerate()
            .filter(|(_, b)| b.capacity() >= capacity)
            .min_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i);
        let mut buffer = pick.map(|i| kept.swap_remove(i)).unwrap_or_default();
        drop(kept);
        buffer.clear();
        buffer.reserve(capacity);
        buffer
    }

    fn give_back(&self, buffer: Vec<u8>) {
        if buffer.capacity() == 0 {
            return;
        }
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if kept.len() < self.most {
            kept.push(buffer);
        } else if let Some(smallest) = kept.iter_mut().min_by_key(|b| b.capacity()) {
            // Keep the bigger one: a big buffer serves a small shard too.
            if smallest.capacity() < buffer.capacity() {
                *smallest = buffer;
            }
        }
    }
}

/// Bytes in a buffer that goes back for reuse when dropped.
#[derive(Debug, Default)]
pub struct FrameBuffer(Vec<u8>);

impl FrameBuffer {
    /// Takes `bytes`; they go back for reuse when this is dropped.
    pub fn new(bytes: Vec<u8>) -> FrameBuffer {
        FrameBuffer(bytes)
    }

    /// No bytes yet, with room for `capacity` (a kept buffer when one is big
    /// enough), to be filled through [`Self::as_mut_vec`].
    pub fn with_capacity(capacity: usize) -> FrameBuffer {
        FrameBuffer(POOL.take(capacity))
    }

    /// `len` zero bytes, to be written over whole.
    pub fn overwritten(len: usize) -> FrameBuffer {
        let mut bytes = POOL.take(len);
        // Zeros written over reused memory are a memset of resident
        // pages; what cost was the kernel supplying fresh ones.
        bytes.resize(len, 0);
        FrameBuffer(bytes)
    }

    /// The bytes, writable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.0
    }

    /// The bytes, to append to.
    pub fn as_mut_vec(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }
}

impl Deref for FrameBuffer {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for FrameBuffer {
    fn drop(&mut self) {
        POOL.give_back(std::mem::take(&mut self.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_given_back_serves_the_next_take_that_fits_and_the_pool_keeps_the_biggest() {
        let pool = Pool::new(2);
        let big = pool.take(1 << 20);
        let at = big.as_ptr();
        pool.give_back(big);
        // Too big for none: a smaller request gets the kept buffer.
        let again = pool.take(1000);
        assert_eq!(again.as_ptr(), at, "the kept buffer is reused");
        assert!(again.is_empty() && again.capacity() >= 1 << 20);
        pool.give_back(again);
        // A request bigger than every kept buffer gets fresh memory and
        // leaves the kept one alone.
        let huge = pool.take(4 << 20);
        assert_ne!(huge.as_ptr(), at);
        assert_eq!(pool.kept.lock().unwrap().len(), 1);
        // Full: the smallest makes room for a bigger one, never the reverse.
        pool.give_back(huge);
        pool.give_back(Vec::with_capacity(10));
        let capacities: Vec<usize> = pool.kept.lock().unwrap().iter().map(Vec::capacity).collect();
        assert_eq!(capacities.len(), 2);
        assert!(capacities.iter().all(|c| *c >= 1 << 20), "{capacities:?}");
    }

    #[test]
    fn overwritten_bytes_are_zeros_of_the_length_asked() {
        let mut first = FrameBuffer::overwritten(4096);
        first.as_mut_slice().fill(7);
        drop(first);
        let again = FrameBuffer::overwritten(1000);
        assert_eq!(again.len(), 1000);
        assert!(again.iter().all(|b| *b == 0), "what a buffer held before is never handed out");
    }
}
