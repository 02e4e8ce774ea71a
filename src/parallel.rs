//! Chapter 2. The only place where threads are made: a small persistent pool of std threads.
//!
//! Work is split into numbered tasks, and each task writes its own part of the output. Which
//! thread runs a task never changes what the task computes, so a result is bitwise the same for
//! 1, 2, 3, ... threads. No reduction is ever split across threads.
//!
//! The thread count is, in order of precedence: [`set_threads`] (the `--threads` flag), the
//! environment variable `GAN_THREADS`, and `std::thread::available_parallelism`.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};

/// The thread count chosen by [`set_threads`]; 0 means "not chosen yet".
static THREADS: AtomicUsize = AtomicUsize::new(0);

/// Sets how many threads (the calling one included) parallel work may use. `n = 0` means the
/// default (`GAN_THREADS`, else all cores).
pub fn set_threads(n: usize) {
    THREADS.store(n, Ordering::Relaxed);
}

/// The number of threads parallel work started from this thread uses.
pub fn threads() -> usize {
    if let Some(n) = OVERRIDE.with(Cell::get) {
        return n;
    }
    match THREADS.load(Ordering::Relaxed) {
        0 => default_threads(),
        n => n,
    }
}

/// Runs `f` with parallel work started from this thread using `n` threads, whatever the global
/// setting. Tests use it to compare thread counts while other tests run beside them.
pub fn with_threads<R>(n: usize, f: impl FnOnce() -> R) -> R {
    let before = OVERRIDE.with(|o| o.replace(Some(n.max(1))));
    let result = f();
    OVERRIDE.with(|o| o.set(before));
    result
}

fn default_threads() -> usize {
    static DEFAULT: OnceLock<usize> = OnceLock::new();
    *DEFAULT.get_or_init(|| {
        if let Ok(text) = std::env::var("GAN_THREADS") {
            match text.trim().parse::<usize>() {
                Ok(n) if n > 0 => return n,
                _ => eprintln!(
                    "warning: GAN_THREADS={text:?} is not a positive integer; using all cores"
                ),
            }
        }
        std::thread::available_parallelism().map_or(1, |n| n.get())
    })
}

/// Runs `task(0)`, `task(1)`, ..., `task(n_tasks - 1)`, spread over the pool, and returns when all
/// have finished. Tasks must write disjoint parts of any shared output.
///
/// Called from inside a task, it runs its tasks one after another on the calling thread (nested
/// parallelism would only fight over the same cores).
pub fn for_each_task<F: Fn(usize) + Sync>(n_tasks: usize, task: F) {
    let threads = threads().min(n_tasks);
    if threads <= 1 || IN_TASK.with(Cell::get) {
        (0..n_tasks).for_each(task);
        return;
    }
    pool().run(n_tasks, threads, &task);
}

thread_local! {
    /// A thread count set by [`with_threads`] for work started from this thread.
    static OVERRIDE: Cell<Option<usize>> = const { Cell::new(None) };
    /// True while this thread is running a task of the pool.
    static IN_TASK: Cell<bool> = const { Cell::new(false) };
}

/// A job as the workers see it: a task function whose lifetime has been erased. `Pool::run`
/// does not return until every worker is done with it, which is what makes the erasure sound.
#[derive(Clone, Copy)]
struct Job {
    task: *const (dyn Fn(usize) + Sync + 'static),
    n_tasks: usize,
    /// Workers 0..helpers take part (the caller is the remaining participant).
    helpers: usize,
}

// SAFETY: the task behind the pointer is `Sync`, and it outlives the job (see `Job`).
unsafe impl Send for Job {}

struct State {
    job: Option<Job>,
    /// A task of the current job panicked.
    panicked: bool,
    /// Worker threads spawned so far.
    workers: usize,
}

struct Pool {
    state: Mutex<State>,
    /// Bumped (under the `state` lock) for every job, so that a worker never runs a job twice.
    generation: AtomicU64,
    /// Workers that have finished the current job.
    finished: AtomicUsize,
    /// The next task index to hand out.
    next_task: AtomicUsize,
    /// Workers sleep here when no job came while they spun.
    job_posted: Condvar,
    /// The caller sleeps here when the workers did not finish while it spun.
    job_done: Condvar,
    /// Only one job at a time (independent callers, e.g. parallel tests, take turns).
    caller: Mutex<()>,
}

/// How long a waiting thread spins before it sleeps. Jobs in a training step come back to back,
/// microseconds apart; waking a sleeping thread costs tens of microseconds.
const SPIN: std::time::Duration = std::time::Duration::from_micros(50);

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool {
        state: Mutex::new(State {
            job: None,
            panicked: false,
            workers: 0,
        }),
        generation: AtomicU64::new(0),
        finished: AtomicUsize::new(0),
        next_task: AtomicUsize::new(0),
        job_posted: Condvar::new(),
        job_done: Condvar::new(),
        caller: Mutex::new(()),
    })
}

/// Spins until `done()` or until `SPIN` has passed; returns `done()`.
fn spin_until(done: impl Fn() -> bool) -> bool {
    let start = std::time::Instant::now();
    while !done() {
        if start.elapsed() > SPIN {
            return false;
        }
        for _ in 0..64 {
            std::hint::spin_loop();
        }
    }
    true
}

impl Pool {
    fn run(&'static self, n_tasks: usize, threads: usize, task: &(dyn Fn(usize) + Sync)) {
        let _turn = self.caller.lock().unwrap_or_else(|e| e.into_inner());
        let helpers = threads - 1;
        // SAFETY: only the lifetime is changed; we wait below until no worker uses the pointer.
        let task: *const (dyn Fn(usize) + Sync + 'static) = unsafe { std::mem::transmute(task) };
        {
            let mut state = self.state.lock().unwrap();
            while state.workers < helpers {
                let index = state.workers;
                std::thread::Builder::new()
                    .name(format!("gan-worker-{index}"))
                    .spawn(move || self.worker(index))
                    .expect("could not spawn a worker thread");
                state.workers += 1;
            }
            self.next_task.store(0, Ordering::SeqCst);
            self.finished.store(0, Ordering::SeqCst);
            state.job = Some(Job {
                task,
                n_tasks,
                helpers,
            });
            state.panicked = false;
            self.generation.fetch_add(1, Ordering::SeqCst);
        }
        self.job_posted.notify_all();

        // The caller works too.
        let caller_result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // SAFETY: `task` is alive for the whole of this call.
            self.work_on(unsafe { &*task }, n_tasks)
        }));

        let all_done = || self.finished.load(Ordering::SeqCst) >= helpers;
        if !spin_until(all_done) {
            let mut state = self.state.lock().unwrap();
            while !all_done() {
                state = self.job_done.wait(state).unwrap();
            }
        }
        let mut state = self.state.lock().unwrap();
        state.job = None;
        let worker_panicked = state.panicked;
        drop(state);
        if let Err(payload) = caller_result {
            std::panic::resume_unwind(payload);
        }
        assert!(
            !worker_panicked,
            "a parallel task panicked on a worker thread"
        );
    }

    fn work_on(&self, task: &(dyn Fn(usize) + Sync), n_tasks: usize) {
        IN_TASK.with(|t| t.set(true));
        loop {
            let i = self.next_task.fetch_add(1, Ordering::SeqCst);
            if i >= n_tasks {
                break;
            }
            task(i);
        }
        IN_TASK.with(|t| t.set(false));
    }

    fn worker(&self, index: usize) {
        let mut seen = 0u64;
        loop {
            // Wait for a job this worker has not seen: spin first, then sleep.
            let posted = || self.generation.load(Ordering::SeqCst) != seen;
            spin_until(posted);
            let job = {
                let mut state = self.state.lock().unwrap();
                while !posted() {
                    state = self.job_posted.wait(state).unwrap();
                }
                seen = self.generation.load(Ordering::SeqCst);
                state.job
            };
            let Some(job) = job.filter(|j| index < j.helpers) else {
                continue;
            };
            // SAFETY: `Pool::run` keeps the task alive until this worker reports `finished`.
            let task = unsafe { &*job.task };
            let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.work_on(task, job.n_tasks)
            }))
            .is_ok();
            if !ok {
                IN_TASK.with(|t| t.set(false));
                self.state.lock().unwrap().panicked = true;
            }
            // Count ourselves done under the lock, so a caller about to sleep cannot miss it.
            let state = self.state.lock().unwrap();
            self.finished.fetch_add(1, Ordering::SeqCst);
            drop(state);
            self.job_done.notify_all();
        }
    }
}

/// A raw pointer that tasks may share, for writing disjoint parts of one output buffer.
/// Every use states, at its split point, why the parts are disjoint.
#[derive(Clone, Copy)]
pub(crate) struct SharedMut<T>(pub(crate) *mut T);

impl<T> SharedMut<T> {
    /// The pointer (a method, so that closures capture the whole `Sync` wrapper).
    #[inline(always)]
    pub(crate) fn get(self) -> *mut T {
        self.0
    }
}

// SAFETY: a `SharedMut` is only dereferenced at indices that one task alone owns.
unsafe impl<T: Send> Send for SharedMut<T> {}
unsafe impl<T: Send> Sync for SharedMut<T> {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    #[test]
    fn every_task_runs_once() {
        for n in [0, 1, 2, 3, 17, 1000] {
            let counts: Vec<AtomicU64> = (0..n).map(|_| AtomicU64::new(0)).collect();
            for_each_task(n, |i| {
                counts[i].fetch_add(1, Ordering::Relaxed);
            });
            assert!(counts.iter().all(|c| c.load(Ordering::Relaxed) == 1));
        }
    }

    #[test]
    fn nested_calls_run_inline() {
        let total = AtomicU64::new(0);
        for_each_task(4, |_| {
            for_each_task(4, |_| {
                total.fetch_add(1, Ordering::Relaxed);
            })
        });
        assert_eq!(total.load(Ordering::Relaxed), 16);
    }
}
