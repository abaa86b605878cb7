//! Everything that differs between native and wasm32 lives here (the one place with
//! `cfg(target_arch = "wasm32")`).

/// Parallelism for the CPU backend's GEMM: all cores natively for big products, one thread in
/// wasm (no threads without cross-origin isolation).
pub fn gemm_parallelism(work: usize) -> gemm::Parallelism {
    #[cfg(not(target_arch = "wasm32"))]
    {
        if work >= 1 << 16 {
            return gemm::Parallelism::Rayon(0);
        }
        gemm::Parallelism::None
    }
    #[cfg(target_arch = "wasm32")]
    {
        let _ = work;
        gemm::Parallelism::None
    }
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
