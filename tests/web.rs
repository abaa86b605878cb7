//! Browser tests (WebGPU in headless Chromium): run with `scripts/test-web.sh`.
//!
//! The GPU backend must find a WebGPU adapter (a missing one is a failure, never a skip), and a
//! small Glow with non-trivial parameters must encode, decode and sample on WebGPU like the f64
//! CPU reference. The f32 CPU backend (the no-GPU fallback) must also work in wasm.
#![cfg(target_arch = "wasm32")]

use glowgpu::{CpuBackend, Glow, GlowConfig, GpuBackend, Params};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Relative tolerance of GPU (f32) against the f64 CPU reference.
const REL_TOL: f64 = 1e-4;
const BATCH: usize = 3;

/// splitmix64: deterministic pseudo-random numbers for the test data.
struct SplitMix(u64);

impl SplitMix {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    fn signed(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
}

fn config() -> GlowConfig {
    let mut cfg = GlowConfig::tiny(8, 8, 3);
    cfg.levels = 2;
    cfg.depth = 2;
    cfg.hidden = 8;
    cfg
}

/// The paper's init, then every trainable tensor moved off it by 0.05·U(-1, 1), so the
/// coupling nets' last convs, the priors and actnorm are all non-trivial (at init they are 0).
fn perturbed_params(cfg: &GlowConfig) -> Params {
    let mut params = Params::init(cfg, 3).expect("Params::init");
    let mut rng = SplitMix(0x5EED_0F61);
    let mut touched = 0;
    for (name, t) in params.map.iter_mut() {
        if name.ends_with(".p") || name.ends_with(".sign_s") || name.ends_with(".perm") {
            continue;
        }
        for v in t.data.iter_mut() {
            *v += (0.05 * rng.signed()) as f32;
        }
        touched += 1;
    }
    assert!(touched > 0, "no parameter tensor was perturbed");
    params.actnorm_initialized = true;
    params
}

/// Deterministic u8 images (NHWC): a gradient plus noise, covering the whole 0..=255 range.
fn images(cfg: &GlowConfig, n: usize) -> Vec<u8> {
    let (h, w, c) = (cfg.image_height, cfg.image_width, cfg.image_channels);
    let mut rng = SplitMix(42);
    let mut out = Vec::with_capacity(n * h * w * c);
    for i in 0..n {
        for y in 0..h {
            for x in 0..w {
                for ch in 0..c {
                    let base = (x * 29 + y * 17 + ch * 71 + i * 53) as f64;
                    let v = base + 40.0 * rng.signed();
                    out.push(v.rem_euclid(256.0) as u8);
                }
            }
        }
    }
    out[0] = 0;
    out[1] = 255;
    out
}

fn l2(v: impl Iterator<Item = f64>) -> f64 {
    v.map(|x| x * x).sum::<f64>().sqrt()
}

fn rel_err(got: &[f64], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len(), "length mismatch");
    let den = l2(want.iter().copied());
    assert!(den > 0.0 && den.is_finite(), "reference norm is {den}");
    l2(got.iter().zip(want).map(|(a, b)| a - b)) / den
}

async fn gpu() -> GpuBackend {
    match GpuBackend::new().await {
        Ok(b) => {
            console_log!("WebGPU adapter: {:?} ({:?}, {:?})", b.info.name, b.info.device_type, b.info.backend);
            b
        }
        Err(e) => {
            panic!("GpuBackend::new() failed in the browser (is --enable-unsafe-webgpu set?): {e}")
        }
    }
}

#[wasm_bindgen_test]
async fn webgpu_adapter_is_found() {
    let b = gpu().await;
    assert_eq!(b.info.backend, wgpu::Backend::BrowserWebGpu, "expected the browser's WebGPU backend");
}

#[wasm_bindgen_test]
async fn gpu_matches_cpu_f64() {
    let cfg = config();
    let params = perturbed_params(&cfg);
    let mut g = Glow::from_params(cfg.clone(), params.clone(), gpu().await).expect("GPU model");
    let mut c = Glow::from_params(cfg.clone(), params, CpuBackend::<f64>::new()).expect("CPU f64 model");

    let img = images(&cfg, BATCH);
    let eg = g.encode(&img, BATCH, None).await.expect("GPU encode");
    let ec = c.encode(&img, BATCH, None).await.expect("CPU encode");

    // Every latent level.
    assert_eq!(eg.latents.levels.len(), cfg.levels);
    assert_eq!(ec.latents.levels.len(), cfg.levels);
    for (l, (a, b)) in eg.latents.levels.iter().zip(&ec.latents.levels).enumerate() {
        assert!(a.iter().all(|v| v.is_finite()), "GPU latent level {l} has non-finite values");
        let r = rel_err(a, b);
        console_log!("latent level {l}: {} values, rel err {r:.3e}", a.len());
        assert!(r <= REL_TOL, "latent level {l}: relative error {r:.3e} > {REL_TOL:e}");
    }
    // logdet and logp per image.
    for (what, a, b) in [("logdet", &eg.logdet, &ec.logdet), ("logp", &eg.logp, &ec.logp)] {
        assert_eq!(a.len(), BATCH, "{what}: {} values for {BATCH} images", a.len());
        assert_eq!(b.len(), BATCH, "{what}: {} values for {BATCH} images", b.len());
        for i in 0..BATCH {
            let r = (a[i] - b[i]).abs() / b[i].abs();
            console_log!("{what}[{i}]: gpu {:.9} cpu {:.9} rel err {r:.3e}", a[i], b[i]);
            assert!(r <= REL_TOL, "{what}[{i}]: gpu {} vs cpu {}: relative error {r:.3e} > {REL_TOL:e}", a[i], b[i]);
        }
    }

    // Decoding the GPU's own latents gives back the input bytes exactly.
    let back = g.decode(&eg.latents, None).await.expect("GPU decode");
    assert_eq!(back.len(), img.len());
    let wrong: Vec<usize> = (0..img.len()).filter(|&i| back[i] != img[i]).collect();
    assert!(
        wrong.is_empty(),
        "GPU decode(encode(x)) != x at {} of {} bytes, first {:?}",
        wrong.len(),
        img.len(),
        wrong.iter().take(8).map(|&i| (i, img[i], back[i])).collect::<Vec<_>>()
    );

    // Sampling: same device-side noise stream on both backends. Not bit-exact: the GPU runs the
    // decode in f32 and the CPU in f64, and the final floor to u8 turns a tiny difference near a
    // bin edge into a difference of one level; anything beyond one level would be a real bug.
    let (n, t, seed) = (2, 0.7, 1234);
    let sg = g.sample(n, t, seed, None).await.expect("GPU sample");
    let sc = c.sample(n, t, seed, None).await.expect("CPU sample");
    assert_eq!(sg.len(), n * cfg.dims());
    assert_eq!(sc.len(), n * cfg.dims());
    let diffs: Vec<u8> = sg.iter().zip(&sc).map(|(a, b)| a.abs_diff(*b)).collect();
    let within = diffs.iter().filter(|&&d| d <= 1).count();
    let exact = diffs.iter().filter(|&&d| d == 0).count();
    let max = diffs.iter().copied().max().unwrap_or(0);
    console_log!("sample: {exact}/{} bytes equal, {within} within 1, max diff {max}", diffs.len());
    assert!(
        within * 100 >= diffs.len() * 99,
        "sample: only {within} of {} bytes within 1 of the CPU f64 reference (max diff {max})",
        diffs.len()
    );
}

#[wasm_bindgen_test]
async fn cpu_f32_round_trip() {
    let cfg = config();
    let params = perturbed_params(&cfg);
    let mut m = Glow::from_params(cfg.clone(), params, CpuBackend::<f32>::new()).expect("CPU f32 model");
    let img = images(&cfg, BATCH);
    let e = m.encode(&img, BATCH, None).await.expect("CPU f32 encode");
    assert!(e.latents.levels.iter().flatten().all(|v| v.is_finite()), "non-finite latents");
    assert!(e.logdet.iter().chain(&e.logp).all(|v| v.is_finite()), "non-finite logdet / logp");
    let back = m.decode(&e.latents, None).await.expect("CPU f32 decode");
    let wrong = (0..img.len()).filter(|&i| back[i] != img[i]).count();
    assert_eq!(wrong, 0, "CPU f32 decode(encode(x)) != x at {wrong} of {} bytes", img.len());
}
