//! Chapter 13. Where the time of a training step goes: a per-layer stopwatch.
//!
//! [`Sequential`](crate::layers::sequential::Sequential) asks [`enabled`] before each layer's
//! forward and backward pass. Normally it is off and costs one thread-local read per layer. While
//! [`collect`] runs a closure, every pass is timed and recorded with its network, its layer and the
//! multiply-adds it did, so that `gan bench --profile` can add them up. The layers run on the
//! calling thread (their kernels fan out to the pool and come back), so a thread-local record
//! sees every pass.

use std::cell::{Cell, RefCell};
use std::time::Instant;

/// One timed pass of one layer.
#[derive(Clone, Debug)]
pub struct Span {
    /// The network's name, e.g. "generator".
    pub net: String,
    /// The layer's index in its network.
    pub index: usize,
    /// The layer's description, e.g. "Conv2d(3, 64, k4, s2, p1, no bias)".
    pub layer: String,
    /// "forward", "backward" (both gradients), "backward-input" or "backward-params".
    pub pass: &'static str,
    /// Multiply-adds done by this pass (0 for layers that are not products).
    pub multiply_adds: u64,
    pub seconds: f64,
}

thread_local! {
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
    static SPANS: RefCell<Vec<Span>> = const { RefCell::new(Vec::new()) };
}

/// Whether passes are being recorded on this thread.
pub fn enabled() -> bool {
    ACTIVE.with(Cell::get)
}

/// A pass that has started: what it is, and when it started.
pub struct Started {
    net: String,
    index: usize,
    layer: String,
    pass: &'static str,
    multiply_adds: u64,
    at: Instant,
}

/// Starts timing a pass (call only when [`enabled`]).
pub fn start(
    net: &str,
    index: usize,
    layer: String,
    pass: &'static str,
    multiply_adds: u64,
) -> Started {
    Started {
        net: net.to_string(),
        index,
        layer,
        pass,
        multiply_adds,
        at: Instant::now(),
    }
}

/// Stops timing a pass and records it.
pub fn finish(started: Started) {
    let seconds = started.at.elapsed().as_secs_f64();
    SPANS.with(|spans| {
        spans.borrow_mut().push(Span {
            net: started.net,
            index: started.index,
            layer: started.layer,
            pass: started.pass,
            multiply_adds: started.multiply_adds,
            seconds,
        })
    });
}

/// Runs `f` with recording on and returns its result with every pass it timed, in order.
pub fn collect<R>(f: impl FnOnce() -> R) -> (R, Vec<Span>) {
    let was = ACTIVE.with(|a| a.replace(true));
    let outer = SPANS.with(|s| std::mem::take(&mut *s.borrow_mut()));
    let result = f();
    ACTIVE.with(|a| a.set(was));
    let spans = SPANS.with(|s| std::mem::replace(&mut *s.borrow_mut(), outer));
    (result, spans)
}
