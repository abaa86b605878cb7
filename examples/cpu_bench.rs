//! CPU backend timings of the side-by-side benchmark (`benches/torch/compare.py` runs this and the
//! PyTorch model interleaved): a training step (batch 16, Adamax, 5 bits) and sampling at b1 / b16.
//!
//!   cargo run --release --example cpu_bench -- --config face --what train --reps 5
//!   cargo run --release --example cpu_bench -- --config w512 --what sample --batch 1
//!   GLOWGPU_PROFILE=1 cargo run --release --example cpu_bench -- --config face --what train
//!
//! Configs (the issue's): `face` = 64x64x3 L4 K8 w128, `w512` = 32x32x3 L3 K8 w512; affine,
//! plain invconv, learned top. Prints one line `result <what> <batch> <median ms> <min ms>`.
//! `--mode stored|reversible|nets` picks the backward mode (default: the trainer's default).
//! Threads: `RAYON_NUM_THREADS`.
use std::time::Instant;

use glowgpu::platform::block_on;
use glowgpu::rng::HostRng;
use glowgpu::train::{Mode, Trainer};
use glowgpu::{Coupling, CpuBackend, Glow, GlowConfig, Permutation};

fn arg(name: &str) -> Option<String> {
    std::env::args().skip_while(|a| a != name).nth(1)
}

pub fn config(name: &str) -> GlowConfig {
    let (size, levels, hidden) = match name {
        "face" => (64, 4, 128),
        "w512" => (32, 3, 512),
        other => panic!("unknown --config {other} (face | w512)"),
    };
    GlowConfig {
        image_height: size,
        image_width: size,
        image_channels: 3,
        levels,
        depth: 8,
        hidden,
        coupling: Coupling::Affine,
        permutation: Permutation::Invconv,
        learn_top: true,
        n_classes: 0,
        n_bits: 5,
    }
}

fn main() {
    let cfg = config(&arg("--config").unwrap_or_else(|| "face".into()));
    let what = arg("--what").unwrap_or_else(|| "train".into());
    let reps: usize = arg("--reps").map(|v| v.parse().unwrap()).unwrap_or(5);
    let n: usize = arg("--batch").map(|v| v.parse().unwrap()).unwrap_or(16);
    let mode = match arg("--mode").as_deref() {
        None => Mode::default(),
        Some("reversible") => Mode::Reversible,
        Some("stored") => Mode::Stored,
        Some("nets") => Mode::KeepNets,
        Some(m) => panic!("unknown --mode {m}"),
    };
    let mut rng = HostRng::new(7);
    let images: Vec<u8> = (0..n.max(16) * cfg.dims()).map(|_| (rng.uniform() * 256.0) as u8).collect();
    let mut m = Glow::new(cfg.clone(), CpuBackend::<f32>::new(), 1).unwrap();
    block_on(m.init_actnorm(&images, n.max(16), 1)).unwrap();
    let mut times = Vec::new();
    match what.as_str() {
        "train" => {
            let opt = glowgpu::ops::optim::OptConfig::official(1e-3, 1000, 1.0, 10);
            let mut t = Trainer::new(m, opt).unwrap();
            t.mode = mode;
            let imgs = &images[..n * cfg.dims()];
            block_on(t.step(imgs, n, None, 0)).unwrap();
            glowgpu::backend::cpu::profile_reset();
            for i in 0..reps {
                let s = Instant::now();
                let st = block_on(t.step(imgs, n, None, i as u64 + 1)).unwrap();
                assert!(!st.skipped && st.bpd.is_finite());
                times.push(s.elapsed().as_secs_f64() * 1e3);
            }
        }
        "sample" => {
            block_on(m.sample(n, 0.7, 0, None)).unwrap();
            glowgpu::backend::cpu::profile_reset();
            for i in 0..reps {
                let s = Instant::now();
                let img = block_on(m.sample(n, 0.7, i as u64 + 1, None)).unwrap();
                assert_eq!(img.len(), n * cfg.dims());
                times.push(s.elapsed().as_secs_f64() * 1e3);
            }
        }
        other => panic!("unknown --what {other} (train | sample)"),
    }
    glowgpu::backend::cpu::profile_print(reps);
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    println!("times ms: {times:.1?}");
    println!("result {what} {n} {:.2} {:.2}", sorted[sorted.len() / 2], sorted[0]);
}
