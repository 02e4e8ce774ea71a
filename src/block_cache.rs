//! Chapter 13. A memory allocator that keeps freed large blocks for the next request of the same
//! size: the `gan` command's global allocator.
//!
//! A training step allocates the same large tensors every iteration (each layer's output and
//! gradient), and frees them by the end of it. The system allocator returns large blocks to the
//! operating system when they are freed and maps fresh pages when they are asked for again. The
//! first write to each fresh 4 KiB page then stops the program while the kernel finds the page
//! and fills it with zeros: one such page fault per 4 KiB of every new tensor, several percent of
//! a W28 iteration. PyTorch keeps a cache of freed blocks for the same reason.
//!
//! This allocator passes every request to the system allocator, except that a freed block of at
//! least [`MIN_BLOCK`] bytes is kept (up to [`BUDGET`] bytes in all, the oldest dropped first),
//! and handed out again for the next request of exactly its size and alignment. A kept block is
//! not zeroed: its old contents are only ever seen by code that writes before it reads, as with
//! any allocation (`alloc_zeroed` zeroes it). It changes where values live, never what is
//! computed.
//!
//! Large blocks are also aligned to a cache line ([`LINE`]). The system allocator puts its
//! bookkeeping in front of a large block, so a tensor's first value sits 16 bytes into a line,
//! and every other 32-byte load of a kernel that reads rows in place (`gemm_nt_by_dots`, the
//! direct convolution) would straddle two lines. Only speed depends on it, never a value.
//!
//! The library does not install it (a program that uses the library chooses its own allocator);
//! `src/main.rs` does, for `gan train`, `gan bench` and the rest.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;

/// Blocks below this size are left to the system allocator, which keeps them itself.
pub const MIN_BLOCK: usize = 256 << 10;
/// At most this many bytes of freed blocks are kept.
pub const BUDGET: usize = 512 << 20;
/// At most this many blocks are kept.
const SLOTS: usize = 128;
/// Large blocks start on a cache line of this many bytes.
pub const LINE: usize = 64;

/// The layout a large block is asked of the system with: the caller's, aligned to a line.
/// (The same layout comes back for the same request, so a block is freed as it was asked for.)
fn lined(layout: Layout) -> Layout {
    layout.align_to(LINE).unwrap_or(layout)
}

/// The global allocator of the `gan` command (see the module comment).
pub struct BlockCache;

/// A kept block: its address, size and alignment.
#[derive(Clone, Copy)]
struct Kept {
    addr: usize,
    size: usize,
    align: usize,
}

/// The kept blocks, oldest first, and their total size.
struct Cache {
    blocks: [Kept; SLOTS],
    len: usize,
    bytes: usize,
}

const EMPTY: Kept = Kept {
    addr: 0,
    size: 0,
    align: 0,
};

static KEPT: Mutex<Cache> = Mutex::new(Cache {
    blocks: [EMPTY; SLOTS],
    len: 0,
    bytes: 0,
});

fn kept() -> std::sync::MutexGuard<'static, Cache> {
    // Nothing in this module panics while holding the lock, but never panic inside the allocator.
    KEPT.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Cache {
    /// Takes a kept block of exactly this layout, if there is one.
    fn take(&mut self, layout: Layout) -> Option<*mut u8> {
        let found = self.blocks[..self.len]
            .iter()
            .rposition(|b| b.size == layout.size() && b.align == layout.align())?;
        let block = self.blocks[found];
        self.blocks.copy_within(found + 1..self.len, found);
        self.len -= 1;
        self.bytes -= block.size;
        Some(block.addr as *mut u8)
    }

    /// Keeps a freed block, returning the blocks that no longer fit (to be freed by the caller,
    /// outside the lock).
    fn keep(&mut self, block: Kept, evicted: &mut [Kept; 4]) -> usize {
        let mut n = 0;
        while self.len > 0 && (self.len == SLOTS || self.bytes + block.size > BUDGET) && n < 4 {
            evicted[n] = self.blocks[0];
            self.bytes -= self.blocks[0].size;
            self.blocks.copy_within(1..self.len, 0);
            self.len -= 1;
            n += 1;
        }
        if self.len < SLOTS && self.bytes + block.size <= BUDGET {
            self.blocks[self.len] = block;
            self.len += 1;
            self.bytes += block.size;
        } else {
            evicted[n] = block;
            n += 1;
        }
        n
    }
}

// SAFETY: every block handed out is either fresh from `System` or a block that was allocated by
// `System` with the same size and alignment and has since been freed by its owner; every block
// freed goes either back to `System` with its own layout or into the cache, untouched.
unsafe impl GlobalAlloc for BlockCache {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= MIN_BLOCK {
            if let Some(ptr) = kept().take(layout) {
                return ptr;
            }
            return System.alloc(lined(layout));
        }
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= MIN_BLOCK {
            if let Some(ptr) = kept().take(layout) {
                std::ptr::write_bytes(ptr, 0, layout.size());
                return ptr;
            }
            return System.alloc_zeroed(lined(layout));
        }
        System.alloc_zeroed(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.size() < MIN_BLOCK {
            return System.dealloc(ptr, layout);
        }
        let block = Kept {
            addr: ptr as usize,
            size: layout.size(),
            align: layout.align(),
        };
        let mut evicted = [EMPTY; 4];
        let n = kept().keep(block, &mut evicted);
        for b in &evicted[..n] {
            System.dealloc(
                b.addr as *mut u8,
                lined(Layout::from_size_align_unchecked(b.size, b.align)),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_freed_large_block_is_handed_out_again_and_small_ones_are_not_kept() {
        let big = Layout::from_size_align(MIN_BLOCK + 40, 64).unwrap();
        let cache = BlockCache;
        unsafe {
            let a = cache.alloc(big);
            assert!(!a.is_null());
            a.write(7);
            cache.dealloc(a, big);
            let b = cache.alloc(big);
            assert_eq!(a, b, "the kept block comes back for the same layout");
            let z = {
                cache.dealloc(b, big);
                cache.alloc_zeroed(big)
            };
            assert_eq!(z, a);
            assert!(
                (0..big.size()).all(|i| *z.add(i) == 0),
                "alloc_zeroed zeroes a kept block"
            );
            cache.dealloc(z, big);
            // Another size does not take it.
            let other = Layout::from_size_align(MIN_BLOCK + 80, 64).unwrap();
            let c = cache.alloc(other);
            assert_ne!(c, a);
            cache.dealloc(c, other);
        }
    }

    #[test]
    fn large_blocks_start_on_a_cache_line() {
        let cache = BlockCache;
        for (size, align) in [(MIN_BLOCK, 4), (MIN_BLOCK + 12, 8), (3 * MIN_BLOCK + 4, 4)] {
            let layout = Layout::from_size_align(size, align).unwrap();
            unsafe {
                let (p, z) = (cache.alloc(layout), cache.alloc_zeroed(layout));
                assert!(
                    (p as usize).is_multiple_of(LINE) && (z as usize).is_multiple_of(LINE),
                    "{size} bytes aligned to {align}: blocks at {p:?} and {z:?}, not on {LINE}-byte lines"
                );
                cache.dealloc(p, layout);
                cache.dealloc(z, layout);
            }
        }
    }

    #[test]
    fn the_cache_keeps_at_most_its_budget() {
        let mut k = Cache {
            blocks: [EMPTY; SLOTS],
            len: 0,
            bytes: 0,
        };
        let mut evicted = [EMPTY; 4];
        let size = BUDGET / 3 + 1;
        let mut dropped = 0;
        for i in 0..5 {
            let block = Kept {
                addr: 4096 * (i + 1),
                size,
                align: 64,
            };
            dropped += k.keep(block, &mut evicted);
            assert!(k.bytes <= BUDGET);
        }
        assert_eq!(
            (k.len, dropped),
            (2, 3),
            "two blocks of a third of the budget fit"
        );
        // The oldest went first: the last two are kept.
        assert_eq!(k.blocks[0].addr, 4096 * 4);
    }
}
