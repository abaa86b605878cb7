//! The browser API of the web page (`index.html`, `www/app.js`), built with
//! `scripts/build-page.sh` (a release cdylib for wasm32 plus wasm-bindgen's ES-module glue).
//!
//! [`GlowApp`] holds one loaded model on WebGPU ([`GpuBackend`]) or, when there is no adapter
//! (or the page asks for it), on the f32 CPU backend. Every fallible call rejects with a JS
//! `Error` carrying the library's message; nothing here panics on bad input.
//!
//! Pixel layout: images go out as **RGBA** bytes (`h·w·4` per image, row-major, alpha 255, grey
//! models replicate their one channel), ready for `ImageData`; images come in as RGBA (`h·w·4`,
//! alpha ignored, converted to grey with Rec. 601 luma for one-channel models) or in the model's
//! own layout (`h·w·c`). Latents are flat `Float64Array`s of one image (levels concatenated in
//! encode order, see [`Latents::flat`]).
//!
//! Calls on one `GlowApp` must not overlap: await each promise before the next call (an
//! overlapping call rejects with a "busy" error instead of corrupting state).
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once};

use wasm_bindgen::prelude::*;

use crate::latent::{lerp, Latents};
use crate::{load_weights, AnyBackend, CpuBackend, Error, Glow, GlowConfig, GpuBackend, Params};

/// The threaded build's pool (feature `wasm-threads`, `src/platform/web_pool.rs`): `await
/// startThreads(n)` once after the module is instantiated, before any model call, gives the CPU
/// backend `n` threads (the caller and `n - 1` web workers sharing the module's memory);
/// resolves to the thread count. Needs a cross-origin-isolated page and a worker.
#[cfg(feature = "wasm-threads")]
#[wasm_bindgen(js_name = startThreads)]
pub async fn start_threads(threads: usize) -> Result<usize, JsError> {
    if !(1..=64).contains(&threads) {
        return Err(input_err(format!("startThreads needs 1..=64 threads, got {threads}")));
    }
    if threads > 1 && crate::platform::threads() == 1 {
        let started = wasm_bindgen_rayon::init_thread_pool(threads - 1);
        wasm_bindgen_futures::JsFuture::from(started)
            .await
            .map_err(|e| JsError::new(&format!("web workers for the CPU threads did not start: {e:?}")))?;
        return Ok(crate::platform::web_pool::start(threads - 1));
    }
    Ok(crate::platform::threads())
}

/// Most images one `sample` / `decode_many` call takes (bounds the memory a page can ask for).
pub const MAX_BATCH: usize = 64;

/// The model on whichever backend the page got.
type Model = Box<Glow<AnyBackend>>;

fn js_err(e: Error) -> JsError {
    JsError::new(&e.to_string())
}

fn input_err(m: String) -> JsError {
    js_err(Error::Input(m))
}

/// Logs panics to the console (they abort the module; the page reports that as a crash).
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| web_sys::console::error_1(&format!("glowgpu panic: {info}").into())));
    });
}

/// A Glow model loaded in the page.
#[wasm_bindgen]
pub struct GlowApp {
    /// `None` while an async call has the model (see the module docs).
    model: RefCell<Option<Model>>,
    cfg: GlowConfig,
    /// Why the GPU was not used (`None` when it is, or when the CPU was asked for).
    gpu_error: Option<String>,
    /// WebGPU errors and device loss reported by the browser outside any call.
    device_errors: ErrorSink,
    /// The GPU device's loss, as it happens (`lost`), and the device (for `debug_destroy_device`).
    loss: Option<Loss>,
    /// The adapter's description, or the CPU's.
    backend: String,
    is_gpu: bool,
    /// Attribute directions for the edit sliders (`load_attributes`).
    attributes: RefCell<crate::attributes::Directions>,
    /// Whether the WebGPU adapter is a software renderer (SwiftShader, llvmpipe, WARP...).
    software: bool,
    /// Number of parameters of the model.
    n_params: usize,
}

#[wasm_bindgen]
impl GlowApp {
    /// Parses a glowgpu `.safetensors` file and builds the model on WebGPU, falling back to the
    /// CPU when there is no adapter or the GPU fails to take the model; `force_cpu` skips WebGPU.
    pub async fn load(bytes: Vec<u8>, force_cpu: bool) -> Result<GlowApp, JsError> {
        install_panic_hook();
        enable_simd();
        let (cfg, params) = load_weights(&bytes).map_err(js_err)?;
        let n_params = params.map.values().map(|t| t.data.len()).sum();
        drop(bytes);
        let mut gpu_error = None;
        let gpu = if force_cpu {
            None
        } else {
            match gpu_model(&cfg, &params).await {
                Ok(m) => Some(m),
                Err(e) => {
                    gpu_error = Some(e.to_string());
                    None
                }
            }
        };
        let (model, device_errors, loss) = match gpu {
            Some((m, e, l)) => (m, e, Some(l)),
            None => (
                Box::new(Glow::from_params(cfg.clone(), params, CpuBackend::<f32>::new().into()).map_err(js_err)?),
                Arc::default(),
                None,
            ),
        };
        let (backend, is_gpu, software) = match model.backend().gpu() {
            Some(g) => (describe_adapter(&g.info), true, is_software(&g.info)),
            None => (format!("CPU (f32, wasm{})", simd_label()), false, false),
        };
        Ok(GlowApp {
            model: RefCell::new(Some(model)),
            cfg,
            gpu_error,
            device_errors,
            loss,
            backend,
            is_gpu,
            attributes: Default::default(),
            software,
            n_params,
        })
    }

    /// A promise that resolves with a message when the WebGPU device is lost (the browser's
    /// `GPUDevice.lost`, including `debug_destroy_device`), or with `null` when the model is freed
    /// first or runs on the CPU. Only the first call gets the loss; later calls resolve `null`.
    pub fn lost(&self) -> js_sys::Promise {
        let rx = self.loss.as_ref().and_then(|l| l.rx.lock().ok().and_then(|mut r| r.take()));
        wasm_bindgen_futures::future_to_promise(async move {
            Ok(match rx {
                Some(rx) => rx.await.map(JsValue::from).unwrap_or(JsValue::NULL),
                None => JsValue::NULL,
            })
        })
    }

    /// Test hook: destroys the WebGPU device as a real loss would (`lost` resolves, calls fail
    /// with "WebGPU device lost"). Returns whether there was a device to destroy.
    pub fn debug_destroy_device(&self) -> bool {
        match &self.loss {
            Some(l) => {
                l.simulated.store(true, Ordering::SeqCst);
                l.device.destroy();
                true
            }
            None => false,
        }
    }

    /// Calls `f(built, total)` as the GPU backend builds each new pipeline of a plan (shader
    /// compilation); plans are built on the first call of each kind (sample, encode, decode of a
    /// batch size). `null` removes it. No-op on the CPU.
    pub fn set_progress(&self, f: Option<js_sys::Function>) -> Result<(), JsError> {
        let mut m = self.take()?;
        if let Some(g) = m.backend_mut().gpu_mut() {
            let cb: Option<crate::platform::ProgressFn> = f.map(|f| {
                std::rc::Rc::new(move |done: usize, total: usize| {
                    let _ = f.call2(&JsValue::NULL, &JsValue::from(done as u32), &JsValue::from(total as u32));
                }) as crate::platform::ProgressFn
            });
            g.set_on_pipeline(cb);
        }
        self.put(m);
        Ok(())
    }

    /// GPU compute pipelines built so far (0 on the CPU).
    pub fn pipeline_count(&self) -> usize {
        self.model.borrow().as_ref().and_then(|m| m.backend().gpu()).map_or(0, |g| g.pipeline_count())
    }

    /// The device running the model: the WebGPU adapter, or the CPU.
    pub fn backend(&self) -> String {
        self.backend.clone()
    }

    /// Whether the model runs on WebGPU.
    pub fn is_gpu(&self) -> bool {
        self.is_gpu
    }

    /// Whether the model runs on a software WebGPU adapter (a CPU renderer such as SwiftShader:
    /// `GPUAdapterInfo.isFallbackAdapter`, or a known software renderer's name), where the wasm
    /// CPU path may be faster; the page then times both (`www/engine.js`).
    pub fn is_software_adapter(&self) -> bool {
        self.software
    }

    /// Number of parameters (weights) of the model.
    pub fn param_count(&self) -> usize {
        self.n_params
    }

    /// Whether this module was built with WebAssembly SIMD128 (gemm's SIMD kernels on).
    pub fn simd128(&self) -> bool {
        simd()
    }

    /// Threads the CPU backend runs on: the pool's size in the threaded build, 1 in the plain one.
    pub fn cpu_threads(&self) -> usize {
        crate::platform::threads()
    }

    /// Why WebGPU is not used (no adapter, device error), if it was tried and failed.
    pub fn gpu_error(&self) -> Option<String> {
        self.gpu_error.clone()
    }

    /// The model's [`GlowConfig`] as JSON.
    pub fn config_json(&self) -> String {
        serde_json::to_string(&self.cfg).unwrap_or_default()
    }

    pub fn width(&self) -> usize {
        self.cfg.image_width
    }
    pub fn height(&self) -> usize {
        self.cfg.image_height
    }
    /// 1 (greyscale) or 3 (RGB).
    pub fn channels(&self) -> usize {
        self.cfg.image_channels
    }
    pub fn n_bits(&self) -> u32 {
        self.cfg.n_bits
    }
    /// Length of one image's flat latent.
    pub fn latent_len(&self) -> usize {
        self.cfg.latent_sizes().iter().sum()
    }

    /// `n` samples (at most [`MAX_BATCH`]) at `temperature` from `seed`: `n` RGBA images one
    /// after another.
    pub async fn sample(&self, n: usize, temperature: f32, seed: u32) -> Result<Vec<u8>, JsError> {
        self.check_class_free()?;
        if !(1..=MAX_BATCH).contains(&n) {
            return Err(input_err(format!("sample count must be in 1..={MAX_BATCH}, got {n}")));
        }
        let mut m = self.take()?;
        let r = m.sample(n, temperature, seed as u64, None).await;
        self.put(m);
        let img = self.checked(r)?;
        Ok(to_rgba(&img, self.cfg.image_channels))
    }

    /// The flat latents that `sample(n, temperature, seed)` decodes, for images `start ..
    /// start + count` of that batch (the same counter-based noise, `T · N(0, 1)`, stream
    /// `100 + level`, index `image · level_len + j`): `decode_many` of them gives exactly those
    /// samples, so a batch can be split over several workers. `count` latents end to end.
    pub fn sample_latents(&self, start: u32, count: usize, temperature: f32, seed: u32) -> Result<Vec<f64>, JsError> {
        if !(1..=MAX_BATCH).contains(&count) || !temperature.is_finite() || temperature < 0.0 {
            return Err(input_err(format!(
                "sample_latents needs 1..={MAX_BATCH} images and a finite temperature >= 0 (got {count}, T={temperature})"
            )));
        }
        let sizes = self.cfg.latent_sizes();
        let t = temperature as f64;
        let mut out = Vec::with_capacity(count * sizes.iter().sum::<usize>());
        for k in start..start + count as u32 {
            for (l, &len) in sizes.iter().enumerate() {
                let base = k as usize * len;
                out.extend((0..len).map(|j| {
                    // rounded to f32 as the backends store the noise
                    (t * crate::rng::gaussian(seed as u64, 100 + l as u32, (base + j) as u32)) as f32 as f64
                }));
            }
        }
        Ok(out)
    }

    /// Bits per dimension of one image (RGBA or the model's layout) with the dequantisation
    /// noise of `seed`, as `trainer eval` measures the test split.
    pub async fn bits_per_dim(&self, image: Vec<u8>, seed: u32) -> Result<f64, JsError> {
        self.check_class_free()?;
        let img = self.model_pixels(&image)?;
        let mut m = self.take()?;
        let r = m.bits_per_dim(&img, 1, None, seed as u64).await;
        self.put(m);
        Ok(self.checked(r)?[0])
    }

    /// Exact encode of one image (RGBA or the model's layout, see the module docs): its flat latent.
    pub async fn encode(&self, image: Vec<u8>) -> Result<Vec<f64>, JsError> {
        self.check_class_free()?;
        let img = self.model_pixels(&image)?;
        let mut m = self.take()?;
        let r = m.encode(&img, 1, None).await;
        self.put(m);
        Ok(self.checked(r)?.latents.flat(0))
    }

    /// Encodes one image (RGBA or the model's layout) and decodes it again: `[mismatched,
    /// compared, max_diff]`, the bytes that came back in another bin, the bytes compared and the
    /// largest difference in bins ([`crate::Glow::reconstruct_check`]); `mismatched == 0` means the
    /// round trip was exact. A decode to non-finite values is an error.
    pub async fn reconstruct_check(&self, image: Vec<u8>) -> Result<Vec<usize>, JsError> {
        self.check_class_free()?;
        let img = self.model_pixels(&image)?;
        let mut m = self.take()?;
        let r = m.reconstruct_check(&img, 1, None).await;
        self.put(m);
        let r = self.checked(r)?;
        Ok(vec![r.mismatched, r.bytes, r.max_diff as usize])
    }

    /// Decodes one flat latent to an RGBA image.
    pub async fn decode(&self, flat: Vec<f64>) -> Result<Vec<u8>, JsError> {
        self.decode_many(flat, 1).await
    }

    /// Decodes `n` (at most [`MAX_BATCH`]) flat latents laid end to end to `n` RGBA images one
    /// after another.
    pub async fn decode_many(&self, flats: Vec<f64>, n: usize) -> Result<Vec<u8>, JsError> {
        self.check_class_free()?;
        let len = self.latent_len();
        if !(1..=MAX_BATCH).contains(&n) || flats.len() != n * len {
            return Err(input_err(format!("expected {n} latents of {len} values, got {} values", flats.len())));
        }
        let per: Vec<Vec<f64>> = flats.chunks(len).map(<[f64]>::to_vec).collect();
        let lat = Latents::from_flat(&self.cfg, &per).map_err(js_err)?;
        lat.check(&self.cfg).map_err(js_err)?;
        let mut m = self.take()?;
        let r = m.decode(&lat, None).await;
        self.put(m);
        let img = self.checked(r)?;
        Ok(to_rgba(&img, self.cfg.image_channels))
    }

    /// One image (RGBA or the model's layout) as the model sees it, back as RGBA: grey models get
    /// the luma the encoder uses, so the page can show the exact input beside its reconstruction.
    pub fn prepare_image(&self, image: Vec<u8>) -> Result<Vec<u8>, JsError> {
        Ok(to_rgba(&self.model_pixels(&image)?, self.cfg.image_channels))
    }

    /// Loads attribute directions (`trainer attributes` output) for this model; returns their
    /// names, in slider order. A bad file is an error and keeps the previous directions.
    pub fn load_attributes(&self, bytes: Vec<u8>) -> Result<Vec<String>, JsError> {
        let d = crate::attributes::Directions::load(&bytes, self.latent_len()).map_err(js_err)?;
        let names = d.names.clone();
        *self.attributes.borrow_mut() = d;
        Ok(names)
    }

    /// `z + Σ αᵢ·dᵢ` over the loaded attribute directions (one weight per attribute).
    pub fn edit(&self, flat: Vec<f64>, alphas: Vec<f64>) -> Result<Vec<f64>, JsError> {
        self.attributes.borrow().edit(&flat, &alphas).map_err(js_err)
    }

    /// `(1 − t)·a + t·b` of two flat latents.
    pub fn interpolate(&self, a: Vec<f64>, b: Vec<f64>, t: f64) -> Result<Vec<f64>, JsError> {
        let len = self.latent_len();
        if a.len() != len || b.len() != len {
            return Err(input_err(format!("latents must have {len} values, got {} and {}", a.len(), b.len())));
        }
        if !t.is_finite() {
            return Err(input_err(format!("interpolation weight must be finite, got {t}")));
        }
        Ok(lerp(&a, &b, t))
    }
}

impl GlowApp {
    fn take(&self) -> Result<Model, JsError> {
        self.model
            .borrow_mut()
            .take()
            .ok_or_else(|| JsError::new("busy: another call on this model is still running (await it first)"))
    }

    fn put(&self, m: Model) {
        *self.model.borrow_mut() = Some(m);
    }

    /// Turns a library result into a JS one, preferring a WebGPU error reported meanwhile.
    fn checked<T>(&self, r: crate::Result<T>) -> Result<T, JsError> {
        let reported: Vec<String> = self.device_errors.lock().map(|mut v| v.drain(..).collect()).unwrap_or_default();
        if !reported.is_empty() {
            return Err(js_err(Error::Gpu(reported.join("; "))));
        }
        r.map_err(js_err)
    }

    fn check_class_free(&self) -> Result<(), JsError> {
        if self.cfg.n_classes > 0 {
            return Err(input_err(format!(
                "this model is class-conditional ({} classes); the page supports unconditional models only",
                self.cfg.n_classes
            )));
        }
        Ok(())
    }

    /// One image in the model's layout from RGBA or native bytes.
    fn model_pixels(&self, px: &[u8]) -> Result<Vec<u8>, JsError> {
        let (h, w, c) = (self.cfg.image_height, self.cfg.image_width, self.cfg.image_channels);
        if px.len() == h * w * c {
            return Ok(px.to_vec());
        }
        if px.len() != h * w * 4 {
            return Err(input_err(format!(
                "expected one {w}x{h} image as RGBA ({} bytes) or {c} channel(s) ({} bytes), got {} bytes",
                h * w * 4,
                h * w * c,
                px.len()
            )));
        }
        let mut out = Vec::with_capacity(h * w * c);
        for p in px.chunks_exact(4) {
            if c == 1 {
                out.push((0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64).round() as u8);
            } else {
                out.extend_from_slice(&p[..3]);
            }
        }
        Ok(out)
    }
}

type ErrorSink = Arc<Mutex<Vec<String>>>;

/// The device's loss as a one-shot message, and what `debug_destroy_device` needs.
struct Loss {
    rx: Mutex<Option<futures_channel::oneshot::Receiver<String>>>,
    /// Set by `debug_destroy_device`: that `Destroyed` is a loss, not the model being dropped.
    simulated: Arc<AtomicBool>,
    device: wgpu::Device,
}

/// Builds the model on the browser's WebGPU adapter, routing WebGPU errors and an unexpected
/// device loss into the returned sink (wgpu's default handler would panic).
async fn gpu_model(cfg: &GlowConfig, params: &Params) -> crate::Result<(Model, ErrorSink, Loss)> {
    let errors = ErrorSink::default();
    let backend = GpuBackend::new().await?;
    let sink = errors.clone();
    backend.device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
        web_sys::console::error_1(&format!("WebGPU error: {e}").into());
        if let Ok(mut v) = sink.lock() {
            v.push(format!("WebGPU error: {e}"));
        }
    }));
    let sink = errors.clone();
    let simulated = Arc::new(AtomicBool::new(false));
    let sim = simulated.clone();
    let (tx, rx) = futures_channel::oneshot::channel::<String>();
    let tx = Mutex::new(Some(tx));
    backend.device.set_device_lost_callback(move |reason, msg| {
        if reason == wgpu::DeviceLostReason::Destroyed && !sim.load(Ordering::SeqCst) {
            return; // the model was dropped
        }
        let text = format!("WebGPU device lost ({reason:?}): {msg}");
        web_sys::console::warn_1(&text.clone().into());
        if let Ok(mut v) = sink.lock() {
            v.push(text.clone());
        }
        if let Some(tx) = tx.lock().ok().and_then(|mut t| t.take()) {
            let _ = tx.send(text);
        }
    });
    let device = backend.device.clone();
    let glow = Glow::from_params(cfg.clone(), params.clone(), backend.into())?;
    Ok((Box::new(glow), errors, Loss { rx: Mutex::new(Some(rx)), simulated, device }))
}

/// Whether the module was built with `+simd128` (`.cargo/config.toml`).
const fn simd() -> bool {
    cfg!(target_feature = "simd128")
}

/// The module's SIMD, as the page names it: the threaded build adds relaxed SIMD's fused
/// multiply-add (`scripts/build-page.sh`, `vendor/gemm-f32`).
const fn simd_label() -> &'static str {
    match (simd(), cfg!(target_feature = "relaxed-simd")) {
        (true, true) => " SIMD128 + relaxed SIMD",
        (true, false) => " SIMD128",
        (false, _) => "",
    }
}

/// Turns on gemm's SIMD128 kernels (it leaves them off by default in wasm) when the module is
/// built with SIMD128.
fn enable_simd() {
    if simd() {
        gemm_common::set_wasm_simd128(true);
    }
}

/// A software renderer: the browser's fallback adapter, or a known CPU rasteriser by name.
fn is_software(info: &wgpu::AdapterInfo) -> bool {
    let name = format!("{} {}", info.name, info.driver).to_lowercase();
    info.device_type == wgpu::DeviceType::Cpu
        || ["swiftshader", "llvmpipe", "lavapipe", "softpipe", "warp", "basic render"].iter().any(|n| name.contains(n))
}

/// "WebGPU, <adapter> (<kind>)"; browsers often hide the adapter's name.
fn describe_adapter(info: &wgpu::AdapterInfo) -> String {
    let kind = match info.device_type {
        wgpu::DeviceType::Cpu => "software",
        wgpu::DeviceType::DiscreteGpu => "discrete GPU",
        wgpu::DeviceType::IntegratedGpu => "integrated GPU",
        wgpu::DeviceType::VirtualGpu => "virtual GPU",
        wgpu::DeviceType::Other => "adapter",
    };
    let name = [info.name.as_str(), info.driver.as_str()].into_iter().find(|s| !s.is_empty());
    match name {
        Some(n) => format!("WebGPU, {n} ({kind})"),
        None => format!("WebGPU ({kind} adapter)"),
    }
}

/// Model-layout images (1 or 3 channels) to RGBA.
fn to_rgba(img: &[u8], c: usize) -> Vec<u8> {
    img.chunks_exact(c).flat_map(|p| if c == 1 { [p[0], p[0], p[0], 255] } else { [p[0], p[1], p[2], 255] }).collect()
}
