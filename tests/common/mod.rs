//! Shared test helpers: the GPU adapter (a test that finds none fails), deterministic random
//! data, relative errors, perturbed models.
#![allow(dead_code)]
use glowgpu::backend::{Backend, Host, ParamMap};
use glowgpu::graph::{BufId, Graph, RunArgs};
use glowgpu::platform::block_on;
use glowgpu::rng::HostRng;
use glowgpu::{CpuBackend, GlowConfig, GpuBackend, Params};

/// The GPU backend; panics loudly when there is no adapter (tests are never skipped).
/// A GPU backend on the test binary's one device (opened by the first call; each call gets its
/// own parameters and plans, `GpuBackend::sibling`).
pub fn gpu() -> GpuBackend {
    static DEVICE: std::sync::OnceLock<std::sync::Mutex<GpuBackend>> = std::sync::OnceLock::new();
    // no std::env::set_var here: tests run in parallel threads; scripts/test.sh exports
    // XDG_RUNTIME_DIR (without it Mesa only prints a warning)
    let base = DEVICE.get_or_init(|| match block_on(GpuBackend::new()) {
        Ok(g) => std::sync::Mutex::new(g),
        Err(e) => panic!("GPU tests need a WebGPU/Vulkan adapter (lavapipe: apt-get install mesa-vulkan-drivers): {e}"),
    });
    base.lock().unwrap_or_else(|e| e.into_inner()).sibling()
}

/// Central finite differences of `f` at `x` in every coordinate, step 1e-6 (f64).
pub fn central(x: &[f64], f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    const H: f64 = 1e-6;
    let mut w = x.to_vec();
    (0..x.len())
        .map(|i| {
            let o = w[i];
            w[i] = o + H;
            let a = f(&w);
            w[i] = o - H;
            let b = f(&w);
            w[i] = o;
            (a - b) / (2.0 * H)
        })
        .collect()
}

pub fn randn(rng: &mut HostRng, n: usize, std: f64) -> Vec<f64> {
    (0..n).map(|_| rng.normal() * std).collect()
}

pub fn rand_bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut r = HostRng::new(seed);
    (0..n).map(|_| (r.uniform() * 256.0) as u8).collect()
}

/// ||a - b|| / ||b||.
pub fn rel_err(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    let num: f64 = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum();
    let den: f64 = b.iter().map(|y| y * y).sum();
    (num / den.max(1e-300)).sqrt()
}

pub fn assert_close(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert!(got.iter().all(|v| v.is_finite()), "{what}: non-finite output");
    let e = rel_err(got, want);
    assert!(e <= tol, "{what}: relative error {e:.3e} > {tol:.1e}");
}

/// Runs one graph on a backend with the given parameters.
pub fn run<B: Backend>(
    b: &mut B,
    params: &ParamMap,
    g: Graph,
    inputs: Vec<(BufId, Host)>,
    outputs: &[BufId],
    args: RunArgs,
) -> Vec<Host> {
    b.set_params(params).unwrap();
    let mut plan = b.build(g).unwrap();
    block_on(b.run(&mut plan, inputs, outputs, args)).unwrap()
}

/// Runs the graph made by `make` on the f64 CPU reference and on the GPU; returns both outputs.
pub fn cpu_and_gpu(
    gpu: &mut GpuBackend,
    params: &ParamMap,
    make: impl Fn() -> (Graph, Vec<(BufId, Host)>, Vec<BufId>),
    args: RunArgs,
) -> (Vec<Host>, Vec<Host>) {
    let (g, inputs, outs) = make();
    let want = run(&mut CpuBackend::<f64>::new(), params, g, inputs, &outs, args);
    let (g, inputs, outs) = make();
    let got = run(gpu, params, g, inputs, &outs, args);
    (want, got)
}

/// Parameters with every trainable tensor moved away from its init (so that coupling nets,
/// priors and actnorms are all non-trivial), deterministic in `seed`.
pub fn perturbed(cfg: &GlowConfig, seed: u64, scale: f64) -> Params {
    let mut p = Params::init(cfg, seed).unwrap();
    let mut rng = HostRng::new(seed ^ 0xabcdef);
    let frozen = glowgpu::params::frozen(cfg);
    for (name, t) in p.map.iter_mut() {
        if frozen.contains(name) {
            continue;
        }
        for v in t.data.iter_mut() {
            *v += (rng.normal() * scale) as f32;
        }
    }
    p.actnorm_initialized = true;
    p
}

pub fn param_map(entries: &[(&str, Vec<f64>)]) -> ParamMap {
    entries.iter().map(|(k, v)| (k.to_string(), (vec![v.len()], v.clone()))).collect()
}
