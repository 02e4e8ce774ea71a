//! Scratch buffers that hot loops reuse instead of allocating: one free list per thread.
//!
//! A buffer comes back with whatever values it held last, so it is only for work that writes
//! every element before reading it (packing, im2col). That is what makes reuse free: no zeroing,
//! no page faults, no allocator calls on the hot path.

use crate::scalar::Real;
use std::any::Any;
use std::cell::RefCell;
use std::ops::{Deref, DerefMut};

thread_local! {
    static FREE: RefCell<Vec<Box<dyn Any>>> = const { RefCell::new(Vec::new()) };
}

/// A buffer of at least `len` elements (its contents are stale), from this thread's free list.
///
/// It is the smallest free buffer that is long enough, or else the longest one, grown: several
/// buffers of different sizes are in use at once (im2col columns, GEMM packing), and taking the
/// first one that comes would keep growing small buffers while large ones sit idle.
pub(crate) fn take<T: Real>(len: usize) -> Vec<T> {
    let reused = FREE.with(|free| {
        let mut free = free.borrow_mut();
        let capacity = |b: &Box<dyn Any>| b.downcast_ref::<Vec<T>>().map(Vec::len);
        let fits = (0..free.len())
            .filter(|&i| capacity(&free[i]).is_some_and(|c| c >= len))
            .min_by_key(|&i| capacity(&free[i]));
        let pos = fits.or_else(|| (0..free.len()).max_by_key(|&i| capacity(&free[i])))?;
        free.swap_remove(pos).downcast::<Vec<T>>().ok()
    });
    let mut buffer = reused.map_or_else(Vec::new, |b| *b);
    if buffer.len() < len {
        buffer.resize(len, T::ZERO);
    }
    buffer
}

/// Returns a buffer to this thread's free list.
pub(crate) fn give_back<T: Real>(buffer: Vec<T>) {
    FREE.with(|free| free.borrow_mut().push(Box::new(buffer)));
}

/// A buffer starts on a cache line of this many bytes: kernels that read rows in place then
/// load whole vectors that never straddle two lines.
const LINE: usize = 64;

/// A scratch buffer of exactly `len` elements, with stale contents, starting on a cache line,
/// that goes back to the free list when it is dropped.
pub(crate) fn buffer<T: Real>(len: usize) -> Buffer<T> {
    let size = std::mem::size_of::<T>();
    let data = take::<T>(len + LINE / size);
    let start = (LINE - data.as_ptr() as usize % LINE) % LINE / size;
    Buffer { data, start, len }
}

/// See [`buffer`].
pub(crate) struct Buffer<T: Real> {
    data: Vec<T>,
    start: usize,
    len: usize,
}

impl<T: Real> Deref for Buffer<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.data[self.start..self.start + self.len]
    }
}

impl<T: Real> DerefMut for Buffer<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.data[self.start..self.start + self.len]
    }
}

impl<T: Real> Drop for Buffer<T> {
    fn drop(&mut self) {
        give_back(std::mem::take(&mut self.data));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn buffers_are_reused() {
        let mut a = super::take::<f32>(100);
        a[7] = 3.0;
        let ptr = a.as_ptr();
        super::give_back(a);
        let b = super::take::<f32>(50);
        assert_eq!(b.as_ptr(), ptr);
        assert!(b.len() >= 50);
        let c = super::take::<f64>(10); // another type gets its own buffer
        assert_eq!(c.len(), 10);
    }

    #[test]
    fn the_smallest_buffer_that_fits_is_taken() {
        let (big, small) = (super::take::<f32>(1000), super::take::<f32>(10));
        let (big_ptr, small_ptr) = (big.as_ptr(), small.as_ptr());
        super::give_back(big);
        super::give_back(small);
        let (for_small, for_big) = (super::take::<f32>(5), super::take::<f32>(500));
        assert_eq!(for_small.as_ptr(), small_ptr);
        assert_eq!(for_big.as_ptr(), big_ptr);
        let guard = super::buffer::<f32>(7);
        assert_eq!(guard.len(), 7);
        assert_eq!(guard.as_ptr() as usize % super::LINE, 0, "on a cache line");
    }
}
