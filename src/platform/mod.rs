//! Everything that differs between native and wasm32 lives here (the one place with
//! `cfg(target_arch = "wasm32")`).
//!
//! The CPU backend's parallel loops run on rayon natively, on [`web_pool`] in the page's
//! threaded wasm build (feature `wasm-threads`, `src/web.rs`'s `startThreads`), and in order on
//! one thread in the plain wasm build. A loop whose tasks' results are combined is cut by its
//! own sizes, never by the thread count; only loops over independent pixels adapt their cut to
//! it ([`pixels_per_task`]). So results do not depend on where or on how many threads it runs.
#[cfg(any(not(target_arch = "wasm32"), feature = "wasm-threads"))]
pub mod web_pool;

/// Natively: rayon.
macro_rules! native {
    ($($item:tt)*) => {
        #[cfg(not(target_arch = "wasm32"))]
        { $($item)* }
    };
}

/// In the threaded wasm build: the web pool.
macro_rules! web_threads {
    ($($item:tt)*) => {
        #[cfg(all(target_arch = "wasm32", feature = "wasm-threads"))]
        { $($item)* }
    };
}

/// Parallelism inside one gemm call: natively all of rayon's threads for big products (gemm
/// splits them itself); one thread in wasm, where [`gemm_parts`] splits instead.
pub fn gemm_parallelism(work: usize) -> gemm_common::Parallelism {
    native! {
        if work >= 1 << 16 {
            return gemm_common::Parallelism::Rayon(0);
        }
    }
    let _ = work;
    gemm_common::Parallelism::None
}

/// Row blocks a big product of `m` rows is cut into, each one gemm call on its own thread: the
/// web pool's threads in the threaded wasm build (gemm's block sizes depend on `k` only, so the
/// cut changes no result), 1 elsewhere.
pub fn gemm_parts(m: usize, work: usize) -> usize {
    web_threads! {
        if work >= 1 << 16 {
            return web_pool::threads().min(m / 4).max(1);
        }
    }
    let _ = (m, work);
    1
}

/// Elements below which the CPU backend's elementwise loops stay on one thread: a parallel
/// dispatch costs a few microseconds on rayon, about a microsecond on the web pool (its helpers
/// spin between jobs).
#[cfg(not(target_arch = "wasm32"))]
const PAR_MIN: usize = 1 << 15;
#[cfg(target_arch = "wasm32")]
const PAR_MIN: usize = 1 << 13;

/// Pixels per task of a loop over `pixels` rows of `row` elements whose rows are independent
/// (so the cut changes no result): `most`, or fewer when that would leave a thread without work
/// on a loop big enough to split (a batch of one image has few pixels at the lower levels).
pub fn pixels_per_task(pixels: usize, row: usize, most: usize) -> usize {
    let t = threads();
    if t == 1 || pixels * row < PAR_MIN {
        return most.max(1);
    }
    most.min(pixels.div_ceil(2 * t)).max(1)
}

/// Runs `f(index, chunk)` over `data` cut into chunks of `chunk` elements (the last may be
/// shorter), on all threads there are (in order for small data).
pub fn par_chunks<T: Send>(data: &mut [T], chunk: usize, f: impl Fn(usize, &mut [T]) + Sync + Send) {
    let chunk = chunk.max(1);
    if data.len() > chunk && data.len() >= PAR_MIN {
        native! {
            use rayon::prelude::*;
            data.par_chunks_mut(chunk).enumerate().for_each(|(i, c)| f(i, c));
            return;
        }
        web_threads! {
            let parts: Vec<std::sync::Mutex<&mut [T]>> = data.chunks_mut(chunk).map(std::sync::Mutex::new).collect();
            web_pool::run(parts.len(), &|i| f(i, &mut parts[i].lock().unwrap_or_else(|e| e.into_inner())));
            return;
        }
    }
    data.chunks_mut(chunk).enumerate().for_each(|(i, c)| f(i, c));
}

/// [`par_chunks`] whose tasks each borrow a part of `scratch` for their duration: `scratch` is
/// cut into [`threads`] equal parts (no more run at once), so a task's scratch is one a task
/// before it on this thread just left in cache. `f(index, chunk, part)`.
pub fn par_chunks_scratch<T: Send, S: Send>(
    data: &mut [T],
    chunk: usize,
    scratch: &mut [S],
    f: impl Fn(usize, &mut [T], &mut [S]) + Sync + Send,
) {
    use std::sync::{Mutex, TryLockError};
    if scratch.is_empty() {
        return par_chunks(data, chunk, |i, c| f(i, c, &mut []));
    }
    let slots = threads().clamp(1, scratch.len());
    let per = scratch.len() / slots;
    let parts: Vec<Mutex<&mut [S]>> = scratch.chunks_mut(per).take(slots).map(Mutex::new).collect();
    par_chunks(data, chunk, |i, c| {
        // at most `threads()` tasks run at once, so one part is always free or about to be
        let mut j = i;
        loop {
            match parts[j % parts.len()].try_lock() {
                Ok(mut part) => return f(i, c, &mut part),
                Err(TryLockError::Poisoned(e)) => return f(i, c, &mut e.into_inner()),
                Err(TryLockError::WouldBlock) => {
                    j += 1;
                    std::hint::spin_loop();
                }
            }
        }
    });
}

/// `f(0..n)` on all threads there are (one task per index; results in index order). `work`
/// (elements touched in all) below [`PAR_MIN`] keeps it on one thread.
pub fn par_map<R: Send>(n: usize, work: usize, f: impl Fn(usize) -> R + Sync + Send) -> Vec<R> {
    if n > 1 && work >= PAR_MIN {
        native! {
            use rayon::prelude::*;
            return (0..n).into_par_iter().map(f).collect();
        }
        web_threads! {
            return par_slots((0..n).collect(), &f);
        }
    }
    (0..n).map(f).collect()
}

/// `f(item)` for every item, on all threads there are (results in item order).
pub fn par_items<I: Send, R: Send>(items: Vec<I>, f: impl Fn(I) -> R + Sync + Send) -> Vec<R> {
    if items.len() > 1 {
        native! {
            use rayon::prelude::*;
            return items.into_par_iter().map(f).collect();
        }
        web_threads! {
            return par_slots(items, &f);
        }
    }
    items.into_iter().map(f).collect()
}

/// `f` over `items` on the web pool, results in item order (each item and result in its own slot).
#[cfg(all(target_arch = "wasm32", feature = "wasm-threads"))]
fn par_slots<I: Send, R: Send>(items: Vec<I>, f: &(impl Fn(I) -> R + Sync)) -> Vec<R> {
    use std::sync::Mutex;
    let n = items.len();
    let slots: Vec<Mutex<(Option<I>, Option<R>)>> = items.into_iter().map(|i| Mutex::new((Some(i), None))).collect();
    web_pool::run(n, &|i| {
        let mut s = slots[i].lock().unwrap_or_else(|e| e.into_inner());
        let item = s.0.take().expect("each task runs once");
        s.1 = Some(f(item));
    });
    slots.into_iter().map(|s| s.into_inner().unwrap_or_else(|e| e.into_inner()).1.expect("every task ran")).collect()
}

/// Runs `f` on one of rayon's threads natively, so that the parallel loops inside it fork from
/// within the pool (the pool's other threads steal their parts at once, and the caller is woken
/// once at the end instead of once per loop through rayon's injector); elsewhere just `f()`.
pub fn in_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    native! {
        if rayon::current_thread_index().is_none() && rayon::current_num_threads() > 1 {
            return rayon::scope(|_| f());
        }
    }
    f()
}

/// Threads the CPU backend's parallel loops use (1 in the plain wasm build).
pub fn threads() -> usize {
    native! {
        return rayon::current_num_threads();
    }
    web_threads! {
        return web_pool::threads();
    }
    #[allow(unreachable_code)]
    1
}

/// Waits for a buffer mapping: natively by polling the device, in the browser by yielding to
/// the event loop until the callback fires.
pub async fn wait_mapped(
    device: &wgpu::Device,
    rx: futures_channel::oneshot::Receiver<Result<(), wgpu::BufferAsyncError>>,
) -> Result<(), String> {
    #[cfg(not(target_arch = "wasm32"))]
    device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| format!("device poll failed: {e}"))?;
    #[cfg(target_arch = "wasm32")]
    let _ = device;
    match rx.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("buffer mapping failed: {e}")),
        Err(_) => Err("buffer mapping was cancelled (device lost?)".into()),
    }
}

/// Runs a future to completion natively (tests, CLI); the browser uses async end to end.
#[cfg(not(target_arch = "wasm32"))]
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    pollster::block_on(f)
}

/// A progress callback `(done, total)` (the GPU backend's pipeline builds, see
/// `GpuBackend::set_on_pipeline`): shareable across threads natively; in the browser it may hold
/// a JS function, which is neither `Send` nor `Sync` (as wgpu's own types there).
#[cfg(not(target_arch = "wasm32"))]
pub type ProgressFn = std::sync::Arc<dyn Fn(usize, usize) + Send + Sync>;
#[cfg(target_arch = "wasm32")]
pub type ProgressFn = std::rc::Rc<dyn Fn(usize, usize)>;
