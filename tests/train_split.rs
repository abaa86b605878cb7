//! The data-parallel hooks of `Trainer` (used by `trainer train` under `mpirun`): the step split
//! into `gradients` + `apply_gradients` is the same step, and shards of a batch with their
//! `noise_base` see exactly the noisy images of the whole batch, so the mean of the shards'
//! gradients is the whole batch's gradient.
use crate::common;
use common::*;

use glowgpu::backend::Backend;
use glowgpu::ops::optim::OptConfig;
use glowgpu::platform::block_on;
use glowgpu::train::Trainer;
use glowgpu::{Coupling, CpuBackend, Glow, GlowConfig, Permutation};

fn cfg() -> GlowConfig {
    GlowConfig {
        image_height: 8,
        image_width: 4,
        image_channels: 3,
        levels: 2,
        depth: 2,
        hidden: 5,
        coupling: Coupling::Affine,
        permutation: Permutation::Invconv,
        learn_top: true,
        n_classes: 0,
        n_bits: 5,
    }
}

fn trainer(img: &[u8], n: usize) -> Trainer<CpuBackend<f64>> {
    let mut m = Glow::new(cfg(), CpuBackend::<f64>::new(), 7).unwrap();
    block_on(m.init_actnorm(img, n, 1)).unwrap();
    Trainer::new(m, OptConfig::official(1e-2, 100, 1.0, 0)).unwrap()
}

fn read_grads(t: &mut Trainer<CpuBackend<f64>>) -> Vec<f64> {
    let names: Vec<String> = t.gradient_tensors().into_iter().map(|(n, _)| n).collect();
    block_on(t.model.backend_mut().read_params(&names)).unwrap().concat()
}

#[test]
fn gradients_then_apply_is_the_same_step() {
    let n = 4;
    let img = rand_bytes(11, n * cfg().dims());
    let (mut a, mut b) = (trainer(&img, n), trainer(&img, n));
    for s in 0..3 {
        let sa = block_on(a.step(&img, n, None, s)).unwrap();
        let per = block_on(b.gradients(&img, n, None, s)).unwrap();
        let sb = block_on(b.apply_gradients(per.iter().sum::<f64>() / n as f64)).unwrap();
        assert_eq!((sa.bpd, sa.grad_norm, sa.skipped), (sb.bpd, sb.grad_norm, sb.skipped), "step {s}");
    }
    assert_eq!(b.t, 3);
    block_on(a.sync()).unwrap();
    block_on(b.sync()).unwrap();
    assert_eq!(a.model.params().map, b.model.params().map, "weights after 3 steps");
    assert_eq!(block_on(a.ema_params()).unwrap().map, block_on(b.ema_params()).unwrap().map, "EMA");
}

#[test]
fn shards_with_their_noise_base_average_to_the_whole_batch() {
    let (n, half) = (4, 2);
    let d = cfg().dims();
    let img = rand_bytes(12, n * d);
    let mut whole = trainer(&img, n);
    let per_whole = block_on(whole.gradients(&img, n, None, 5)).unwrap();
    let g_whole = read_grads(&mut whole);
    let mut per = Vec::new();
    let mut g_sum = vec![0.0; g_whole.len()];
    for r in 0..2 {
        let mut t = trainer(&img, n);
        t.noise_base = (r * half * d) as u32;
        per.extend(block_on(t.gradients(&img[r * half * d..(r + 1) * half * d], half, None, 5)).unwrap());
        for (s, g) in g_sum.iter_mut().zip(read_grads(&mut t)) {
            *s += g;
        }
    }
    for (a, b) in per.iter().zip(&per_whole) {
        assert!((a - b).abs() < 1e-12, "per-image bits/dim {a} vs {b}");
    }
    let scale = g_whole.iter().fold(0f64, |m, x| m.max(x.abs()));
    for (i, (s, w)) in g_sum.iter().zip(&g_whole).enumerate() {
        assert!((s / 2.0 - w).abs() <= 1e-12 * scale, "gradient [{i}]: mean of shards {} vs whole {w}", s / 2.0);
    }
    // without its noise base the second shard gets other noise: other images, other losses
    let mut t = trainer(&img, n);
    let other = block_on(t.gradients(&img[half * d..], half, None, 5)).unwrap();
    assert!((other[0] - per_whole[half]).abs() > 1e-6);
}
