//! The CPU backend's thread pool in the page's threaded wasm build (feature `wasm-threads`).
//!
//! Why not rayon's own scheduler: in the browser a thread that sleeps waits in `Atomics.wait`,
//! and waking it costs far more than natively; rayon puts idle threads to sleep within
//! microseconds, so each of the hundreds of parallel loops of one CPU run paid wake-ups on every
//! fork and join, and two threads ran slower than one (face model, batch 1: 83-95 ms against
//! 55-57; batch 16: 1,138-1,187 against 870-898; `benches/web/threads-run.mjs`). Here the
//! helpers spin on an atomic ticket for a while after each job (as ONNX Runtime's pool does)
//! and only then sleep, and the caller takes part in every job.
//!
//! The helpers are web workers that wasm-bindgen-rayon starts (`initThreadPool`); [`start`]
//! parks one endless helper loop on each of them, so rayon itself runs nothing afterwards.
//! Natively the pool is compiled for its tests only (`tests/web_pool.rs`; helpers on std threads).
//!
//! A job is `count` tasks `f(0..count)`; [`run`] publishes it under a new epoch and returns when
//! every task has finished. Tasks are claimed by compare-and-swap on `ticket` = `epoch << 32 |
//! next task`: a claim only succeeds while its epoch is current and tasks remain, and the caller
//! waits for all of them before it publishes the next job (moving the epoch on before it touches
//! the job's fields), so a claimed task's closure is alive and its own.
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Condvar, Mutex, OnceLock};

/// A job's tasks, as the caller lends them.
type Task<'a> = &'a (dyn Fn(usize) + Sync);

/// Spins of an idle helper before it sleeps (about a millisecond or two): long enough to bridge
/// the sequential stretches between the parallel loops of one run, short enough not to burn a
/// core for long after the page's call has finished.
const SPINS: u32 = 1 << 20;

struct Pool {
    /// `epoch << 32 | index of the next task to claim`.
    ticket: AtomicU64,
    /// The current job's task count.
    count: AtomicUsize,
    /// The current job's finished tasks.
    done: AtomicUsize,
    /// The current job: points at the caller's `Task` (on its stack while the job runs).
    job: AtomicPtr<Task<'static>>,
    /// Helpers asleep (or about to be), so the caller knows when to notify.
    sleepers: AtomicUsize,
    lock: Mutex<()>,
    wake: Condvar,
    /// One caller at a time (the model's worker is the only one; this keeps it sound anyway).
    caller: Mutex<()>,
    helpers: usize,
}

static POOL: OnceLock<Pool> = OnceLock::new();

thread_local! {
    /// Set on a thread while it runs a task: a parallel loop inside a task runs in order.
    static IN_TASK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A ticket's task index while its job is being published: above every task count.
const CLOSED: u64 = u32::MAX as u64;

const fn epoch(t: u64) -> u32 {
    (t >> 32) as u32
}

impl Pool {
    /// Claims and runs tasks of `ep` until none is left (or the epoch has moved on).
    fn work(&self, ep: u32) {
        loop {
            let t = self.ticket.load(SeqCst);
            if epoch(t) != ep {
                return;
            }
            if t & CLOSED == CLOSED {
                // the caller is publishing this epoch's job: it opens in a moment
                std::hint::spin_loop();
                continue;
            }
            let i = (t & CLOSED) as usize;
            if i >= self.count.load(SeqCst) {
                return;
            }
            let job = self.job.load(SeqCst);
            if self.ticket.compare_exchange(t, t + 1, SeqCst, SeqCst).is_err() {
                continue;
            }
            // SAFETY: the claim of task `i < count` succeeded in epoch `ep`, so that job has an
            // unfinished task and its caller is still inside `run`, keeping `*job` alive; `job`
            // was loaded after `ticket` showed `ep`, and the caller stores a job's pointer
            // before its epoch (all SeqCst), so it is this epoch's.
            let f: Task = unsafe { *job };
            IN_TASK.with(|c| c.set(true));
            f(i);
            IN_TASK.with(|c| c.set(false));
            self.done.fetch_add(1, SeqCst);
        }
    }

    /// A helper's life: wait for each new epoch (spinning, then asleep), work on it.
    fn helper(&self) -> ! {
        let mut seen = epoch(self.ticket.load(SeqCst));
        loop {
            let mut spins = 0;
            while epoch(self.ticket.load(SeqCst)) == seen {
                if spins < SPINS {
                    spins += 1;
                    std::hint::spin_loop();
                    continue;
                }
                let mut g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
                self.sleepers.fetch_add(1, SeqCst);
                while epoch(self.ticket.load(SeqCst)) == seen {
                    g = self.wake.wait(g).unwrap_or_else(|e| e.into_inner());
                }
                self.sleepers.fetch_sub(1, SeqCst);
            }
            seen = epoch(self.ticket.load(SeqCst));
            self.work(seen);
        }
    }
}

/// Starts the pool on rayon's `helpers` web workers (wasm-bindgen-rayon's `initThreadPool` has
/// built them); once only. Returns the threads that take part in a job, the caller included.
pub fn start(helpers: usize) -> usize {
    let mut started = false;
    let pool = POOL.get_or_init(|| {
        started = true;
        Pool {
            ticket: AtomicU64::new(0),
            count: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            job: AtomicPtr::new(std::ptr::null_mut()),
            sleepers: AtomicUsize::new(0),
            lock: Mutex::new(()),
            wake: Condvar::new(),
            caller: Mutex::new(()),
            helpers,
        }
    });
    if started {
        for _ in 0..helpers {
            let helper = || POOL.get().expect("pool").helper();
            // each loop never returns, so each lands on its own worker
            #[cfg(target_arch = "wasm32")]
            rayon::spawn(helper);
            #[cfg(not(target_arch = "wasm32"))]
            std::thread::spawn(helper);
        }
    }
    pool.helpers + 1
}

/// Threads a job runs on (1 before [`start`]).
pub fn threads() -> usize {
    POOL.get().map_or(1, |p| p.helpers + 1)
}

/// `f(i)` for every `i < count`, on the pool's threads and the caller's; returns when all have
/// run. In order on this thread when there is no pool, one task, or when called from a task.
pub fn run(count: usize, f: &(dyn Fn(usize) + Sync)) {
    let pool = match POOL.get() {
        Some(p) if p.helpers > 0 && count > 1 && count < u32::MAX as usize && !IN_TASK.with(|c| c.get()) => p,
        _ => return (0..count).for_each(f),
    };
    let _one = pool.caller.lock().unwrap_or_else(|e| e.into_inner());
    let task: Task = f;
    // SAFETY: only the lifetime is erased; `run` returns only after every task of this job has
    // finished (`done == count` below), and no helper can claim a task of it after that.
    let task: Task<'static> = unsafe { std::mem::transmute::<Task<'_>, Task<'static>>(task) };
    let ep = epoch(pool.ticket.load(SeqCst)).wrapping_add(1);
    // Close the last job's epoch first: a helper still inside `work` for it may have read its
    // ticket and be about to read `count`; once the epoch has moved, its claim fails whatever
    // count it reads. (Storing the new count first let such a helper claim a task of the new
    // job under the old epoch: `tests/web_pool.rs` caught that as a job that ran 9 of 8 tasks.)
    pool.ticket.store((ep as u64) << 32 | CLOSED, SeqCst);
    pool.job.store(&task as *const Task<'static> as *mut Task<'static>, SeqCst);
    pool.count.store(count, SeqCst);
    pool.done.store(0, SeqCst);
    pool.ticket.store((ep as u64) << 32, SeqCst);
    if pool.sleepers.load(SeqCst) > 0 {
        let _g = pool.lock.lock().unwrap_or_else(|e| e.into_inner());
        pool.wake.notify_all();
    }
    pool.work(ep);
    while pool.done.load(SeqCst) < count {
        std::hint::spin_loop();
    }
}
