//! Encode / decode throughput of the benchmark model (64x64x3, L=4, K=16, width 256, batch 16)
//! on the GPU backend (whatever adapter wgpu picks: lavapipe here) and on the f32 CPU backend,
//! measured in the same run.
//!
//!   cargo run --release --example glow                 # the model
//!   cargo run --release --example glow -- --small      # a quick smoke run
//!   cargo run --release --example glow -- --train      # also a training step (forward + backward + Adamax)
//!   cargo run --release --example glow -- --memory     # training memory and step time vs depth, stored vs reversible
//! (Until 2026-12-01 this was `benches/glow.rs`, run as `cargo bench --bench glow`: the same program.)
use std::time::Instant;

use glowgpu::flow::{decode_graph, encode_graph, EncodeInput};
use glowgpu::platform::block_on;
use glowgpu::rng::HostRng;
use glowgpu::{Backend, Coupling, CpuBackend, Glow, GlowConfig, GpuBackend, Params, Permutation};

fn config(small: bool) -> (GlowConfig, usize) {
    let cfg = GlowConfig {
        image_height: 64,
        image_width: 64,
        image_channels: 3,
        levels: 4,
        depth: if small { 2 } else { 16 },
        hidden: if small { 32 } else { 256 },
        coupling: Coupling::Affine,
        permutation: Permutation::Invconv,
        learn_top: true,
        n_classes: 0,
        n_bits: 5,
    };
    (cfg, if small { 4 } else { 16 })
}

struct Row {
    backend: String,
    encode_s: f64,
    decode_s: f64,
}

fn measure<B: Backend>(m: &mut Glow<B>, images: &[u8], n: usize, reps: usize) -> Row {
    // warm-up (builds plans, compiles pipelines), then the median of `reps` timed runs
    let enc = block_on(m.encode(images, n, None)).unwrap();
    block_on(m.decode(&enc.latents, None)).unwrap();
    let mut te = Vec::new();
    let mut td = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        let e = block_on(m.encode(images, n, None)).unwrap();
        te.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let back = block_on(m.decode(&e.latents, None)).unwrap();
        td.push(t.elapsed().as_secs_f64());
        assert_eq!(back.len(), images.len());
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    Row { backend: m.backend().describe(), encode_s: med(&mut te), decode_s: med(&mut td) }
}

fn main() {
    std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir());
    if std::env::args().any(|a| a == "--memory") {
        memory_table();
        return;
    }
    let small = std::env::args().any(|a| a == "--small");
    let reps: usize = std::env::args().skip_while(|a| a != "--reps").nth(1).map(|v| v.parse().unwrap()).unwrap_or(3);
    let (cfg, n) = config(small);
    // a model with non-trivial weights (so no work is skipped): paper init + data-dependent actnorm
    let mut rng = HostRng::new(1);
    let images: Vec<u8> = (0..n * cfg.dims()).map(|_| (rng.uniform() * 256.0) as u8).collect();
    let mut gpu = Glow::new(cfg.clone(), block_on(GpuBackend::new()).expect("no GPU adapter"), 1).unwrap();
    block_on(gpu.init_actnorm(&images, n, 1)).unwrap();
    let params: Params = gpu.params().clone();
    let enc_flops = encode_graph(&cfg, n, EncodeInput::Image { noise: false }, false).0.flops();
    let dec_flops = decode_graph(&cfg, n, false).0.flops();
    println!(
        "model: {}x{}x{}, L={}, K={}, width={}, batch {n}; GFLOP per batch: encode {:.1}, decode {:.1}",
        cfg.image_height,
        cfg.image_width,
        cfg.image_channels,
        cfg.levels,
        cfg.depth,
        cfg.hidden,
        enc_flops / 1e9,
        dec_flops / 1e9
    );
    let g = measure(&mut gpu, &images, n, reps);
    let gpu = gpu;
    let mut cpu = Glow::from_params(cfg.clone(), params.clone(), CpuBackend::<f32>::new()).unwrap();
    let c = measure(&mut cpu, &images, n, reps);
    println!(
        "| backend | encode s/batch | encode img/s | encode GFLOP/s | decode s/batch | decode img/s | decode GFLOP/s |"
    );
    println!("|---|---|---|---|---|---|---|");
    for r in [&g, &c] {
        println!(
            "| {} | {:.3} | {:.2} | {:.2} | {:.3} | {:.2} | {:.2} |",
            r.backend,
            r.encode_s,
            n as f64 / r.encode_s,
            enc_flops / r.encode_s / 1e9,
            r.decode_s,
            n as f64 / r.decode_s,
            dec_flops / r.decode_s / 1e9
        );
    }
    println!("ratio GPU/CPU time: encode {:.2}x, decode {:.2}x", g.encode_s / c.encode_s, g.decode_s / c.decode_s);
    if std::env::args().any(|a| a == "--train") {
        let opt = glowgpu::ops::optim::OptConfig::official(1e-3, 1000, 1.0, 10);
        let tensors = glowgpu::train::trainable_tensors(&cfg, &params);
        let flops =
            glowgpu::train::train_graph(&cfg, n, &opt, &tensors, glowgpu::train::Mode::Reversible, 0.0).0.flops();
        println!("training step: {:.1} GFLOP per batch (forward, recomputed coupling nets, gradients)", flops / 1e9);
        println!("| backend | step s | img/s | GFLOP/s |");
        println!("|---|---|---|---|");
        let gs = train_step_time(gpu, opt.clone(), &images, n, reps);
        let cpu_model = Glow::from_params(cfg.clone(), params.clone(), CpuBackend::<f32>::new()).unwrap();
        let cs = train_step_time(cpu_model, opt, &images, n, reps);
        for (name, t) in [(g.backend.as_str(), gs), (c.backend.as_str(), cs)] {
            println!("| {name} | {t:.3} | {:.2} | {:.2} |", n as f64 / t, flops / t / 1e9);
        }
        println!("ratio GPU/CPU step time: {:.2}x", gs / cs);
    }
}

/// Activation memory and step time against depth, stored vs reversible (`--memory`).
fn memory_table() {
    use glowgpu::train::{train_graph, Mode};
    println!("model: 32x32x3, L=3, width 64, batch 8; activation bytes of the training graph and step time");
    println!("| K | stored MiB | reversible MiB | stored step s (lavapipe) | reversible step s (lavapipe) | stored step s (CPU) | reversible step s (CPU) |");
    println!("|---|---|---|---|---|---|---|");
    for k in [2, 4, 8, 16] {
        let cfg = GlowConfig { image_height: 32, image_width: 32, levels: 3, depth: k, hidden: 64, ..config(true).0 };
        let n = 8;
        let mut rng = HostRng::new(2);
        let images: Vec<u8> = (0..n * cfg.dims()).map(|_| (rng.uniform() * 256.0) as u8).collect();
        let mut m = Glow::new(cfg.clone(), CpuBackend::<f32>::new(), 1).unwrap();
        block_on(m.init_actnorm(&images, n, 1)).unwrap();
        let params = m.params().clone();
        let opt = glowgpu::ops::optim::OptConfig::official(1e-3, 1000, 1.0, 10);
        let tensors = glowgpu::train::trainable_tensors(&cfg, &params);
        let mib = |mode| train_graph(&cfg, n, &opt, &tensors, mode, 0.0).0.activation_bytes() as f64 / (1 << 20) as f64;
        let mut times = Vec::new();
        for mode in [Mode::Stored, Mode::Reversible] {
            let g = Glow::from_params(cfg.clone(), params.clone(), block_on(GpuBackend::new()).unwrap()).unwrap();
            times.push(step_time_mode(g, opt.clone(), &images, n, mode));
        }
        for mode in [Mode::Stored, Mode::Reversible] {
            let c = Glow::from_params(cfg.clone(), params.clone(), CpuBackend::<f32>::new()).unwrap();
            times.push(step_time_mode(c, opt.clone(), &images, n, mode));
        }
        println!(
            "| {k} | {:.1} | {:.1} | {:.3} | {:.3} | {:.3} | {:.3} |",
            mib(Mode::Stored),
            mib(Mode::Reversible),
            times[0],
            times[1],
            times[2],
            times[3]
        );
    }
}

fn step_time_mode<B: Backend>(
    m: Glow<B>,
    opt: glowgpu::ops::optim::OptConfig,
    images: &[u8],
    n: usize,
    mode: glowgpu::train::Mode,
) -> f64 {
    let mut t = glowgpu::train::Trainer::new(m, opt).unwrap();
    t.mode = mode;
    block_on(t.step(images, n, None, 0)).unwrap();
    let s = Instant::now();
    block_on(t.step(images, n, None, 1)).unwrap();
    s.elapsed().as_secs_f64()
}

fn train_step_time<B: Backend>(
    m: Glow<B>,
    opt: glowgpu::ops::optim::OptConfig,
    images: &[u8],
    n: usize,
    reps: usize,
) -> f64 {
    let mut t = glowgpu::train::Trainer::new(m, opt).unwrap();
    block_on(t.step(images, n, None, 0)).unwrap();
    let mut v: Vec<f64> = (0..reps)
        .map(|i| {
            let s = Instant::now();
            let st = block_on(t.step(images, n, None, i as u64 + 1)).unwrap();
            assert!(!st.skipped);
            s.elapsed().as_secs_f64()
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
