//! Everything that differs between native and wasm32 lives here (the one place with
//! `cfg(target_arch = "wasm32")`).

/// Parallelism for the CPU backend's GEMM: all cores natively for big products, one thread in
/// wasm (no threads without cross-origin isolation).
pub fn gemm_parallelism(work: usize) -> gemm_common::Parallelism {
    #[cfg(not(target_arch = "wasm32"))]
    {
        if work >= 1 << 16 {
            return gemm_common::Parallelism::Rayon(0);
        }
        gemm_common::Parallelism::None
    }
    #[cfg(target_arch = "wasm32")]
    {
        let _ = work;
        gemm_common::Parallelism::None
    }
}

/// Elements below which the CPU backend's elementwise loops stay on one thread (a parallel
/// dispatch costs a few microseconds).
#[cfg(not(target_arch = "wasm32"))]
const PAR_MIN: usize = 1 << 15;

/// Runs `f(index, chunk)` over `data` cut into chunks of `chunk` elements (the last may be
/// shorter): on all cores natively (rayon), in order on one thread in wasm or for small data.
/// Chunks are fixed by `chunk`, not by the thread count, so results never depend on it.
pub fn par_chunks<T: Send>(data: &mut [T], chunk: usize, f: impl Fn(usize, &mut [T]) + Sync + Send) {
    let chunk = chunk.max(1);
    #[cfg(not(target_arch = "wasm32"))]
    if data.len() > chunk && data.len() >= PAR_MIN {
        use rayon::prelude::*;
        data.par_chunks_mut(chunk).enumerate().for_each(|(i, c)| f(i, c));
        return;
    }
    data.chunks_mut(chunk).enumerate().for_each(|(i, c)| f(i, c));
}

/// `f(0..n)` on all cores natively (one task per index; results in index order), in order in
/// wasm. `work` (elements touched in all) below [`PAR_MIN`] keeps it on one thread.
pub fn par_map<R: Send>(n: usize, work: usize, f: impl Fn(usize) -> R + Sync + Send) -> Vec<R> {
    #[cfg(not(target_arch = "wasm32"))]
    if n > 1 && work >= PAR_MIN {
        use rayon::prelude::*;
        return (0..n).into_par_iter().map(f).collect();
    }
    let _ = work;
    (0..n).map(f).collect()
}

/// `f(item)` for every item, on all cores natively (results in item order), in order in wasm.
pub fn par_items<I: Send, R: Send>(items: Vec<I>, f: impl Fn(I) -> R + Sync + Send) -> Vec<R> {
    #[cfg(not(target_arch = "wasm32"))]
    if items.len() > 1 {
        use rayon::prelude::*;
        return items.into_par_iter().map(f).collect();
    }
    items.into_iter().map(f).collect()
}

/// Threads the CPU backend's parallel loops use (1 in wasm).
pub fn threads() -> usize {
    #[cfg(not(target_arch = "wasm32"))]
    {
        rayon::current_num_threads()
    }
    #[cfg(target_arch = "wasm32")]
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
