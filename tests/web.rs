//! Browser tests (WebGPU in headless Chromium): run with `scripts/test-web.sh`.
//!
//! The GPU backend must find a WebGPU adapter (a missing one is a failure, never a skip), and a
//! small Glow with non-trivial parameters must encode, decode and sample on WebGPU like the f64
//! CPU reference. The f32 CPU backend (the no-GPU fallback) must also work in wasm.
//!
//! The page's API, `GlowApp`, is tested on a weights file made here with `save_weights`, loaded
//! on WebGPU and with the CPU forced: `sample`, `encode`, `decode`, `decode_many` and
//! `interpolate` against the f64 CPU backend and against each other, and bad weights files and
//! bad arguments rejected with a JS `Error` naming the problem (never a panic).
#![cfg(target_arch = "wasm32")]

use glowgpu::web::GlowApp;
use glowgpu::{save_weights, CpuBackend, Glow, GlowConfig, GpuBackend, Params};
use wasm_bindgen::{JsCast, JsError, JsValue};
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
    let frozen = glowgpu::params::frozen(cfg);
    for (name, t) in params.map.iter_mut() {
        if frozen.contains(name) {
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

// ---------------------------------------------------------------------------------------------
// The page's API, `GlowApp`: a small model serialised with `save_weights`, loaded from bytes on
// WebGPU and with the CPU forced, against the f64 CPU reference and against each other.
// ---------------------------------------------------------------------------------------------

/// The test model's config, parameters and weights file.
fn weights_file() -> (GlowConfig, Params, Vec<u8>) {
    let cfg = config();
    let params = perturbed_params(&cfg);
    let bytes = save_weights(&cfg, &params).expect("save_weights");
    (cfg, params, bytes)
}

/// The message of the JS `Error` a `GlowApp` call rejected with.
fn js_message(e: JsError) -> String {
    let v = JsValue::from(e);
    match v.dyn_ref::<js_sys::Error>() {
        Some(err) => String::from(err.message()),
        None => panic!("rejected with a non-Error value: {v:?}"),
    }
}

/// Unwraps a `GlowApp` result, failing with the JS error's message.
fn ok<T>(what: &str, r: Result<T, JsError>) -> T {
    r.unwrap_or_else(|e| panic!("{what}: {}", js_message(e)))
}

/// The JS error's message of a call that must fail.
fn err<T>(what: &str, r: Result<T, JsError>) -> String {
    match r {
        Ok(_) => panic!("{what}: succeeded, expected an error"),
        Err(e) => {
            let m = js_message(e);
            console_log!("{what}: {m}");
            m
        }
    }
}

/// `GlowApp::load` on WebGPU (which must be used: no silent CPU fallback here) or the CPU.
async fn load_app(bytes: &[u8], force_cpu: bool) -> GlowApp {
    let app = ok("GlowApp::load", GlowApp::load(bytes.to_vec(), force_cpu).await);
    console_log!("GlowApp backend: {} (gpu: {})", app.backend(), app.is_gpu());
    if force_cpu {
        assert!(!app.is_gpu(), "force_cpu gave a GPU model ({})", app.backend());
        assert_eq!(app.gpu_error(), None, "force_cpu must not try WebGPU");
    } else {
        assert!(app.is_gpu(), "GlowApp fell back to the CPU: {:?}", app.gpu_error());
        assert_eq!(app.gpu_error(), None);
        assert!(app.backend().starts_with("WebGPU"), "backend {:?}", app.backend());
    }
    let cfg = config();
    assert_eq!((app.height(), app.width(), app.channels()), (8, 8, 3));
    assert_eq!(app.n_bits(), cfg.n_bits);
    assert_eq!(app.latent_len(), cfg.latent_sizes().iter().sum::<usize>());
    assert_eq!(app.latent_len(), cfg.dims());
    let back: GlowConfig = serde_json::from_str(&app.config_json()).expect("config_json parses");
    assert_eq!(serde_json::to_string(&back).unwrap(), serde_json::to_string(&cfg).unwrap());
    app
}

/// Image `i` (model layout) of a batch.
fn image(cfg: &GlowConfig, batch: &[u8], i: usize) -> Vec<u8> {
    let d = cfg.dims();
    batch[i * d..(i + 1) * d].to_vec()
}

/// Model-layout (RGB) bytes as RGBA with an arbitrary alpha (which the page's API ignores).
fn as_rgba(rgb: &[u8]) -> Vec<u8> {
    rgb.chunks_exact(3).enumerate().flat_map(|(i, p)| [p[0], p[1], p[2], (i * 37 % 256) as u8]).collect()
}

/// RGBA output back to the model's RGB layout; every alpha must be 255.
fn rgb(rgba: &[u8]) -> Vec<u8> {
    assert_eq!(rgba.len() % 4, 0, "RGBA output of {} bytes", rgba.len());
    assert!(rgba.chunks_exact(4).all(|p| p[3] == 255), "RGBA output with alpha != 255");
    rgba.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect()
}

fn assert_latent_close(what: &str, got: &[f64], want: &[f64]) {
    assert!(got.iter().all(|v| v.is_finite()), "{what}: non-finite latent");
    let r = rel_err(got, want);
    console_log!("{what}: {} values, rel err {r:.3e}", got.len());
    assert!(r <= REL_TOL, "{what}: relative error {r:.3e} > {REL_TOL:e}");
}

fn assert_bytes_equal(what: &str, got: &[u8], want: &[u8]) {
    assert_eq!(got.len(), want.len(), "{what}: {} bytes, expected {}", got.len(), want.len());
    let wrong: Vec<usize> = (0..want.len()).filter(|&i| got[i] != want[i]).collect();
    assert!(
        wrong.is_empty(),
        "{what}: {} of {} bytes differ, first (index, want, got) {:?}",
        wrong.len(),
        want.len(),
        wrong.iter().take(8).map(|&i| (i, want[i], got[i])).collect::<Vec<_>>()
    );
}

/// Images decoded in f32 against another decode: the floor to u8 may move a value sitting near
/// a bin edge by one level, on at most 1% of the bytes; nothing may differ by more.
fn assert_images_close(what: &str, got: &[u8], want: &[u8]) {
    assert_eq!(got.len(), want.len(), "{what}: {} bytes, expected {}", got.len(), want.len());
    let diffs: Vec<u8> = got.iter().zip(want).map(|(a, b)| a.abs_diff(*b)).collect();
    let exact = diffs.iter().filter(|&&d| d == 0).count();
    let max = diffs.iter().copied().max().unwrap_or(0);
    console_log!("{what}: {exact}/{} bytes equal, max diff {max}", diffs.len());
    assert!(max <= 1, "{what}: a byte differs by {max} levels");
    assert!(
        (diffs.len() - exact) * 100 <= diffs.len(),
        "{what}: {} of {} bytes differ by one level (more than 1%)",
        diffs.len() - exact,
        diffs.len()
    );
}

/// `sample(n, T, seed)` of the comparisons: enough images that the 1% budget of one-level
/// differences is measured on 6144 bytes, not a few hundred.
const SAMPLE: (usize, f32, u32) = (32, 0.7, 1234);

/// Checks every numeric call of `app` against the f64 CPU backend run directly.
async fn check_against_f64(app: &GlowApp, label: &str) {
    let (cfg, params, _) = weights_file();
    let mut reference = Glow::from_params(cfg.clone(), params, CpuBackend::<f64>::new()).expect("CPU f64 model");
    let batch = images(&cfg, 2);
    let (img_a, img_b) = (image(&cfg, &batch, 0), image(&cfg, &batch, 1));

    // encode: model layout and RGBA (alpha ignored) give the same latent, close to the reference.
    let mut lats = Vec::new();
    for (name, img) in [("a", &img_a), ("b", &img_b)] {
        let lat = ok("encode", app.encode(img.clone()).await);
        assert_eq!(lat.len(), app.latent_len(), "{label}: encode({name}) length");
        let lat_rgba = ok("encode RGBA", app.encode(as_rgba(img)).await);
        assert_eq!(lat, lat_rgba, "{label}: encode({name}) differs between RGB and RGBA input");
        let want = reference.encode(img, 1, None).await.expect("CPU f64 encode").latents.flat(0);
        assert_latent_close(&format!("{label}: encode({name}) vs f64"), &lat, &want);

        // decode: the round trip gives back the input bytes exactly, from its own latent and
        // from the f64 reference's.
        let back = rgb(&ok("decode", app.decode(lat.clone()).await));
        assert_bytes_equal(&format!("{label}: decode(encode({name}))"), &back, img);
        let back = rgb(&ok("decode f64 latent", app.decode(want.clone()).await));
        assert_bytes_equal(&format!("{label}: decode(f64 encode({name}))"), &back, img);
        lats.push((lat, want));
    }
    let ((la, ra), (lb, rb)) = (lats[0].clone(), lats[1].clone());

    // decode_many: the same images as one decode per latent.
    let both = rgb(&ok("decode_many", app.decode_many([la.clone(), lb.clone()].concat(), 2).await));
    assert_bytes_equal(&format!("{label}: decode_many"), &both, &[img_a.clone(), img_b.clone()].concat());

    // decode of a latent that is no encoded image (noise), against the reference.
    let mut rng = SplitMix(77);
    let noise: Vec<f64> = (0..app.latent_len()).map(|_| 0.8 * rng.signed()).collect();
    let got = rgb(&ok("decode noise", app.decode(noise.clone()).await));
    let lat = glowgpu::Latents::from_flat(&cfg, &[noise]).expect("from_flat");
    let want = reference.decode(&lat, None).await.expect("CPU f64 decode");
    assert_images_close(&format!("{label}: decode(noise) vs f64"), &got, &want);

    // interpolate: exact endpoints, the mean at 0.5; decoded like the reference's interpolation.
    let at = |t: f64| ok("interpolate", app.interpolate(la.clone(), lb.clone(), t));
    assert_eq!(at(0.0), la, "{label}: interpolate(a, b, 0) != a");
    assert_eq!(at(1.0), lb, "{label}: interpolate(a, b, 1) != b");
    let mid = at(0.5);
    for (i, ((m, x), y)) in mid.iter().zip(&la).zip(&lb).enumerate() {
        let mean = (x + y) / 2.0;
        assert!(
            (m - mean).abs() <= f64::EPSILON * (x.abs() + y.abs()),
            "{label}: interpolate(a, b, 0.5)[{i}] = {m}, mean of {x} and {y} is {mean}"
        );
    }
    let ref_mid: Vec<f64> = ra.iter().zip(&rb).map(|(x, y)| (x + y) / 2.0).collect();
    assert_latent_close(&format!("{label}: interpolate(a, b, 0.5) vs f64"), &mid, &ref_mid);
    let back = rgb(&ok("decode interpolate 0", app.decode(at(0.0)).await));
    assert_bytes_equal(&format!("{label}: decode(interpolate(a, b, 0))"), &back, &img_a);
    let back = rgb(&ok("decode interpolate 1", app.decode(at(1.0)).await));
    assert_bytes_equal(&format!("{label}: decode(interpolate(a, b, 1))"), &back, &img_b);
    let got = rgb(&ok("decode midpoint", app.decode(mid).await));
    let lat = glowgpu::Latents::from_flat(&cfg, &[ref_mid]).expect("from_flat");
    let want = reference.decode(&lat, None).await.expect("CPU f64 decode");
    assert_images_close(&format!("{label}: decode(interpolate(a, b, 0.5)) vs f64"), &got, &want);

    // sample: the reference's device-side noise stream; the same seed gives the same images.
    let (n, t, seed) = SAMPLE;
    let got = ok("sample", app.sample(n, t, seed).await);
    assert_eq!(got.len(), n * cfg.image_height * cfg.image_width * 4, "{label}: sample length");
    let got = rgb(&got);
    let want = reference.sample(n, t, seed as u64, None).await.expect("CPU f64 sample");
    assert_images_close(&format!("{label}: sample vs f64"), &got, &want);
    let again = rgb(&ok("sample again", app.sample(n, t, seed).await));
    assert_bytes_equal(&format!("{label}: sample with the same seed"), &again, &got);
    let other = rgb(&ok("sample other seed", app.sample(n, t, seed + 1).await));
    assert_ne!(other, got, "{label}: another seed gave the same samples");
}

#[wasm_bindgen_test]
async fn glow_app_gpu_matches_cpu_f64() {
    let (_, _, bytes) = weights_file();
    let app = load_app(&bytes, false).await;
    check_against_f64(&app, "GlowApp GPU").await;
}

#[wasm_bindgen_test]
async fn glow_app_cpu_matches_cpu_f64() {
    let (_, _, bytes) = weights_file();
    let app = load_app(&bytes, true).await;
    check_against_f64(&app, "GlowApp CPU").await;
}

#[wasm_bindgen_test]
async fn glow_app_cpu_matches_gpu() {
    let (cfg, _, bytes) = weights_file();
    let gpu = load_app(&bytes, false).await;
    let cpu = load_app(&bytes, true).await;
    let batch = images(&cfg, 2);
    let (img_a, img_b) = (image(&cfg, &batch, 0), image(&cfg, &batch, 1));

    let la = ok("GPU encode", gpu.encode(img_a.clone()).await);
    let lb = ok("GPU encode", gpu.encode(as_rgba(&img_b)).await);
    let ca = ok("CPU encode", cpu.encode(img_a.clone()).await);
    let cb = ok("CPU encode", cpu.encode(as_rgba(&img_b)).await);
    assert_latent_close("encode(a): CPU vs GPU", &ca, &la);
    assert_latent_close("encode(b): CPU vs GPU", &cb, &lb);

    // Each decodes the other's latents back to the input exactly.
    for (app, name, lat, img) in [(&cpu, "CPU", &la, &img_a), (&gpu, "GPU", &ca, &img_a), (&cpu, "CPU", &lb, &img_b)] {
        let back = rgb(&ok("decode", app.decode(lat.clone()).await));
        assert_bytes_equal(&format!("{name} decode of the other's latent"), &back, img);
    }

    // Interpolation is plain f64 arithmetic: the same inputs give the same numbers.
    for t in [0.0, 0.25, 0.5, 1.0, 1.5] {
        let g = ok("GPU interpolate", gpu.interpolate(la.clone(), lb.clone(), t));
        let c = ok("CPU interpolate", cpu.interpolate(la.clone(), lb.clone(), t));
        assert_eq!(g, c, "interpolate at t={t}");
    }
    let mid = ok("interpolate", gpu.interpolate(la.clone(), lb.clone(), 0.5));
    let g = rgb(&ok("GPU decode", gpu.decode(mid.clone()).await));
    let c = rgb(&ok("CPU decode", cpu.decode(mid).await));
    assert_images_close("decode(midpoint): CPU vs GPU", &c, &g);

    let (n, t, seed) = SAMPLE;
    let g = rgb(&ok("GPU sample", gpu.sample(n, t, seed).await));
    let c = rgb(&ok("CPU sample", cpu.sample(n, t, seed).await));
    assert_images_close("sample: CPU vs GPU", &c, &g);
    let g = rgb(&ok("GPU sample", gpu.sample(1, 1.0, 9).await));
    let c = rgb(&ok("CPU sample", cpu.sample(1, 1.0, 9).await));
    assert_images_close("sample(1, 1.0, 9): CPU vs GPU", &c, &g);
}

/// `bytes` with the first f32 of tensor `name` replaced by NaN.
fn with_nan(bytes: &[u8], name: &str) -> Vec<u8> {
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + header_len]).expect("safetensors header");
    let entry = &header[name];
    assert_eq!(entry["dtype"], "F32", "tensor {name}: {entry}");
    let start = entry["data_offsets"][0].as_u64().expect("data_offsets") as usize;
    let at = 8 + header_len + start;
    let mut out = bytes.to_vec();
    out[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    out
}

#[wasm_bindgen_test]
async fn glow_app_rejects_bad_weights() {
    let (_, params, bytes) = weights_file();
    let mut rng = SplitMix(99);
    let garbage: Vec<u8> = (0..4096).map(|_| rng.next_u64() as u8).collect();
    let mut garbage_header = bytes.clone();
    garbage_header[8..40].copy_from_slice(&garbage[..32]);
    let tensor = params.map.keys().find(|k| k.ends_with(".w")).expect("a weight tensor").clone();
    let nan = with_nan(&bytes, &tensor);
    let cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        ("empty", Vec::new(), vec!["bad weights", "truncated or corrupt"]),
        ("first 4 bytes", bytes[..4].to_vec(), vec!["bad weights", "truncated or corrupt"]),
        ("half the file", bytes[..bytes.len() / 2].to_vec(), vec!["bad weights", "truncated or corrupt"]),
        ("all but the last byte", bytes[..bytes.len() - 1].to_vec(), vec!["bad weights", "truncated or corrupt"]),
        ("garbage", garbage, vec!["bad weights", "truncated or corrupt"]),
        ("garbage header", garbage_header, vec!["bad weights", "truncated or corrupt"]),
        ("a NaN", nan, vec!["bad weights", "non-finite", &tensor]),
    ];
    for force_cpu in [true, false] {
        for (what, file, words) in &cases {
            let what = format!("load {what} (force_cpu {force_cpu})");
            let m = err(&what, GlowApp::load(file.clone(), force_cpu).await);
            for w in words {
                assert!(m.contains(w), "{what}: message {m:?} does not mention {w:?}");
            }
        }
    }
    // The intact file still loads.
    let app = load_app(&bytes, true).await;
    assert_eq!(app.latent_len(), config().dims());
}

#[wasm_bindgen_test]
async fn glow_app_rejects_bad_input() {
    let (cfg, _, bytes) = weights_file();
    let app = load_app(&bytes, true).await;
    let len = app.latent_len();
    let m = err("sample 0", app.sample(0, 1.0, 1).await);
    assert!(m.contains("sample count"), "{m}");
    let m = err("sample 65", app.sample(65, 1.0, 1).await);
    assert!(m.contains("sample count"), "{m}");
    let m = err("sample T=NaN", app.sample(1, f32::NAN, 1).await);
    assert!(m.contains("temperature"), "{m}");
    let m = err("encode short", app.encode(vec![0; 10]).await);
    assert!(m.contains("expected one 8x8 image"), "{m}");
    let m = err("decode short", app.decode(vec![0.0; len - 1]).await);
    assert!(m.contains(&format!("{len} values")), "{m}");
    let mut nan = vec![0.0; len];
    nan[5] = f64::NAN;
    let m = err("decode NaN", app.decode(nan).await);
    assert!(m.contains("non-finite"), "{m}");
    let m = err("decode_many count", app.decode_many(vec![0.0; len], 2).await);
    assert!(m.contains(&format!("{len} values")), "{m}");
    let m = err("interpolate length", app.interpolate(vec![0.0; len], vec![0.0; len + 1], 0.5));
    assert!(m.contains(&format!("{len} values")), "{m}");
    let m = err("interpolate t", app.interpolate(vec![0.0; len], vec![0.0; len], f64::INFINITY));
    assert!(m.contains("finite"), "{m}");
    // The model still works after the rejected calls.
    let img = image(&cfg, &images(&cfg, 1), 0);
    let lat = ok("encode", app.encode(img.clone()).await);
    assert_bytes_equal("round trip after errors", &rgb(&ok("decode", app.decode(lat).await)), &img);
}

/// The page's progress and device-loss hooks: `set_progress` reports each new pipeline as
/// (built, total) with the last at built == total, cached pipelines are not rebuilt, and
/// `debug_destroy_device` makes `lost()` resolve with a message and the next call fail naming
/// the loss (the page then rebuilds the model; www/engine.js). On the CPU both are inert.
#[wasm_bindgen_test]
async fn glow_app_progress_and_device_loss() {
    let (cfg, _, bytes) = weights_file();
    let app = load_app(&bytes, false).await;
    let seen: std::rc::Rc<std::cell::RefCell<Vec<(u32, u32)>>> = Default::default();
    let sink = seen.clone();
    let f = wasm_bindgen::closure::Closure::<dyn Fn(u32, u32)>::new(move |d, t| sink.borrow_mut().push((d, t)));
    ok("set_progress", app.set_progress(Some(f.as_ref().unchecked_ref::<js_sys::Function>().clone())));
    ok("sample", app.sample(2, 0.7, 1).await);
    let events = seen.borrow().clone();
    console_log!("pipeline progress: {events:?}");
    assert!(!events.is_empty(), "no pipeline progress reported");
    let total = events[0].1;
    assert!(events.iter().enumerate().all(|(i, &(d, t))| d == i as u32 + 1 && t == total), "{events:?}");
    assert_eq!(events.last().unwrap().0, total, "last event is not built == total: {events:?}");
    assert_eq!(app.pipeline_count(), total as usize, "pipelines cached");
    ok("sample again", app.sample(2, 0.7, 2).await);
    assert_eq!(seen.borrow().len(), events.len(), "a cached plan built pipelines again");

    assert!(app.debug_destroy_device(), "no device to destroy");
    let lost = wasm_bindgen_futures::JsFuture::from(app.lost()).await.expect("lost() rejected");
    let msg = lost.as_string().unwrap_or_default();
    console_log!("lost: {msg}");
    assert!(msg.contains("device lost"), "lost() resolved with {lost:?}");
    let m = err("sample after loss", app.sample(1, 0.7, 3).await);
    assert!(m.contains("device lost"), "{m}");
    // later calls of lost() resolve null
    let again = wasm_bindgen_futures::JsFuture::from(app.lost()).await.expect("lost() rejected");
    assert!(again.is_null(), "{again:?}");

    // A fresh model on a new device works (what the page does after a loss).
    let app2 = load_app(&bytes, false).await;
    let img = image(&cfg, &images(&cfg, 1), 0);
    let lat = ok("encode on the new device", app2.encode(img.clone()).await);
    assert_bytes_equal("round trip on the new device", &rgb(&ok("decode", app2.decode(lat).await)), &img);

    let cpu = load_app(&bytes, true).await;
    assert!(!cpu.debug_destroy_device(), "the CPU has no device to destroy");
    assert!(wasm_bindgen_futures::JsFuture::from(cpu.lost()).await.expect("lost()").is_null());
    assert_eq!(cpu.pipeline_count(), 0);
}

/// The page splits a sample batch over several workers: `sample_latents` for any image range,
/// decoded, must give exactly the images `sample` gives for that range of the whole batch.
#[wasm_bindgen_test]
async fn glow_app_sample_latents_split_the_batch_exactly() {
    let (cfg, params, bytes) = weights_file();
    let app = load_app(&bytes, true).await;
    let (t, seed, n) = (0.7f32, 424242u32, 5usize);
    let whole = ok("sample", app.sample(n, t, seed).await);
    let len = app.latent_len();
    let size = cfg.dims() / cfg.image_channels * 4;
    for (start, count) in [(0u32, n), (0, 2), (2, 3), (4, 1)] {
        let flats = ok("sample_latents", app.sample_latents(start, count, t, seed));
        assert_eq!(flats.len(), count * len);
        let got = ok("decode_many", app.decode_many(flats, count).await);
        let want = &whole[start as usize * size..(start as usize + count) * size];
        assert_bytes_equal(
            &format!("images {start}..{} decoded from sample_latents", start as usize + count),
            &got,
            want,
        );
    }
    // the noise is T·N(0, 1): other seeds and temperatures give other latents
    let a = ok("sample_latents", app.sample_latents(0, 1, t, seed));
    let b = ok("sample_latents", app.sample_latents(0, 1, t, seed + 1));
    let c = ok("sample_latents", app.sample_latents(0, 1, 0.35, seed));
    assert!(a.iter().zip(&b).filter(|(x, y)| x != y).count() > len / 2, "seed changes the noise");
    assert!(a.iter().zip(&c).all(|(x, y)| (x / 2.0 - y).abs() <= 1e-6 * x.abs().max(1.0)), "T scales it");
    let var = a.iter().map(|x| (x / 0.7) * (x / 0.7)).sum::<f64>() / len as f64;
    assert!((var - 1.0).abs() < 0.3, "N(0, 1) noise: variance {var}");
    err("no images", app.sample_latents(0, 0, t, seed));
    err("negative temperature", app.sample_latents(0, 1, -1.0, seed));
    // the page's other model facts
    assert_eq!(app.param_count(), params.map.values().map(|t| t.data.len()).sum::<usize>());
    assert!(!app.is_software_adapter(), "the CPU model is no WebGPU adapter");
    assert!(app.simd128(), "the page's wasm is built with SIMD128 (.cargo/config.toml)");
    let gpu = load_app(&bytes, false).await;
    assert!(gpu.is_software_adapter(), "headless Chromium's SwiftShader is a software adapter ({})", gpu.backend());
}

/// `bits_per_dim` of one image matches the library's with the same dequantisation noise.
#[wasm_bindgen_test]
async fn glow_app_bits_per_dim_matches_the_library() {
    let (cfg, params, bytes) = weights_file();
    let app = load_app(&bytes, true).await;
    let imgs = images(&cfg, 2);
    let mut m = Glow::from_params(cfg.clone(), params, CpuBackend::<f64>::new()).expect("model");
    for i in 0..2 {
        // (the noise of an image depends on its index in the batch: one image at a time)
        let w = m.bits_per_dim(&image(&cfg, &imgs, i), 1, None, 9).await.expect("bits_per_dim")[0];
        let got = ok("bits_per_dim", app.bits_per_dim(as_rgba(&image(&cfg, &imgs, i)), 9).await);
        console_log!("image {i}: {got:.5} bits/dim (f64 reference {w:.5})");
        assert!((got - w).abs() < 1e-3, "image {i}: {got} vs {w}");
        assert!(got.is_finite() && got > 0.0);
    }
}
