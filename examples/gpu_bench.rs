//! GPU backend throughput on whatever adapter wgpu picks: encode, decode and a training step
//! (kept coupling nets) of the face model and of the benchmark model, with GFLOP/s and the share
//! of the adapter's fp32 peak (given by `--peak-tflops`, e.g. 67 for an H200 SXM). Run by
//! `scripts/device-run.sh` on a lent GPU machine; runs on lavapipe here too (slowly).
//!
//!   cargo run --release --example gpu_bench -- --peak-tflops 67 --reps 5
//!   cargo run --release --example gpu_bench -- --small        # a quick run on lavapipe
use std::time::Instant;

use glowgpu::flow::{decode_graph, encode_graph, EncodeInput};
use glowgpu::platform::block_on;
use glowgpu::rng::HostRng;
use glowgpu::train::{train_graph, Mode, Trainer};
use glowgpu::{Backend, Coupling, Glow, GlowConfig, GpuBackend, Permutation};

fn arg(name: &str) -> Option<String> {
    std::env::args().skip_while(|a| a != name).nth(1)
}

fn config(size: usize, levels: usize, depth: usize, hidden: usize) -> GlowConfig {
    GlowConfig {
        image_height: size,
        image_width: size,
        image_channels: 3,
        levels,
        depth,
        hidden,
        coupling: Coupling::Affine,
        permutation: Permutation::Invconv,
        learn_top: true,
        n_classes: 0,
        n_bits: 5,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time<F: FnMut()>(reps: usize, mut f: F) -> f64 {
    f(); // warm-up: plans, pipelines
    median(
        (0..reps)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64()
            })
            .collect(),
    )
}

fn main() {
    std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir());
    let reps: usize = arg("--reps").map(|v| v.parse().expect("--reps N")).unwrap_or(5);
    let peak: Option<f64> = arg("--peak-tflops").map(|v| v.parse().expect("--peak-tflops X"));
    let small = std::env::args().any(|a| a == "--small");
    let models: Vec<(&str, GlowConfig, usize)> = if small {
        vec![("small 32x32 L3 K2 w32", config(32, 3, 2, 32), 4)]
    } else {
        vec![
            ("face 64x64 L4 K8 w128", config(64, 4, 8, 128), 64),
            ("bench 64x64 L4 K16 w256", config(64, 4, 16, 256), 16),
        ]
    };
    let gpu = block_on(GpuBackend::new()).expect("no GPU adapter");
    println!("adapter: {}", gpu.describe());
    println!("| model | batch | pass | ms | img/s | GFLOP/s | share of fp32 peak |");
    println!("|---|---|---|---|---|---|---|");
    let mut backend = Some(gpu);
    for (name, cfg, n) in models {
        let mut rng = HostRng::new(3);
        let images: Vec<u8> = (0..n * cfg.dims()).map(|_| (rng.uniform() * 256.0) as u8).collect();
        let mut m = Glow::new(cfg.clone(), backend.take().unwrap(), 1).unwrap();
        block_on(m.init_actnorm(&images, n, 1)).unwrap();
        let opt = glowgpu::ops::optim::OptConfig::official(1e-3, 1000, 1.0, 10);
        let tensors = glowgpu::train::trainable_tensors(&cfg, m.params());
        let flops = [
            encode_graph(&cfg, n, EncodeInput::Image { noise: false }, false).0.flops(),
            decode_graph(&cfg, n, false).0.flops(),
            train_graph(&cfg, n, &opt, &tensors, Mode::KeepNets, 0.0).0.flops(),
        ];
        let enc = block_on(m.encode(&images, n, None)).unwrap();
        let te = time(reps, || {
            block_on(m.encode(&images, n, None)).unwrap();
        });
        let mut back = Vec::new();
        let td = time(reps, || back = block_on(m.decode(&enc.latents, None)).unwrap());
        let again = block_on(m.encode(&back, n, None)).unwrap();
        let back2 = block_on(m.decode(&again.latents, None)).unwrap();
        let differ = back.iter().zip(&back2).filter(|(a, b)| a != b).count();
        println!("{name}: decode(encode(decode(z))) differs from decode(z) in {differ} of {} bytes", back.len());
        let mut t = Trainer::new(m, opt).unwrap();
        t.mode = Mode::KeepNets;
        let mut seed = 0;
        let tt = time(reps, || {
            seed += 1;
            let st = block_on(t.step(&images, n, None, seed)).unwrap();
            assert!(st.bpd.is_finite() && !st.skipped, "training step not finite");
        });
        for (pass, s, f) in [("encode", te, flops[0]), ("decode", td, flops[1]), ("train step", tt, flops[2])] {
            let gf = f / s / 1e9;
            let share = peak.map_or("–".to_string(), |p| format!("{:.1}%", 100.0 * gf / (p * 1e3)));
            println!("| {name} | {n} | {pass} | {:.1} | {:.1} | {gf:.0} | {share} |", s * 1e3, n as f64 / s);
        }
        backend = Some(t.model.into_backend());
    }
}
