//! Scratch buffers that hot loops reuse instead of allocating: one free list per thread.
//!
//! A buffer comes back with whatever values it held last, so it is only for work that writes
//! every element before reading it (packing, im2col). That is what makes reuse free: no zeroing,
//! no page faults, no allocator calls on the hot path.

use crate::scalar::Real;
use std::any::Any;
use std::cell::RefCell;

thread_local! {
    static FREE: RefCell<Vec<Box<dyn Any>>> = const { RefCell::new(Vec::new()) };
}

/// A buffer of at least `len` elements (its contents are stale), from this thread's free list.
pub(crate) fn take<T: Real>(len: usize) -> Vec<T> {
    let reused = FREE.with(|free| {
        let mut free = free.borrow_mut();
        let pos = free.iter().position(|b| b.is::<Vec<T>>())?;
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
}
