//! `glowgpu::grow`: a deeper and / or wider model that computes what the trained one does. On the
//! f64 backend, for both couplings and every supported permutation, the grown model's latents,
//! log-determinants and log-densities of random inputs are the original's to 1e-12; it decodes
//! its encodings exactly; one optimizer step moves the new weights (the zero convs of the new
//! steps and the new channels' outgoing rows); bad requests are refused with their reason.
use crate::common;
use common::*;

use glowgpu::grow::grow;
use glowgpu::ops::optim::OptConfig;
use glowgpu::platform::block_on;
use glowgpu::rng::HostRng;
use glowgpu::train::Trainer;
use glowgpu::{Coupling, CpuBackend, Glow, GlowConfig, Params, Permutation};

fn cfg(coupling: Coupling, permutation: Permutation) -> GlowConfig {
    GlowConfig {
        image_height: 16,
        image_width: 8,
        image_channels: 3,
        levels: 3,
        depth: 2,
        hidden: 6,
        coupling,
        permutation,
        learn_top: true,
        n_classes: 0,
        n_bits: 5,
    }
}

/// Latents (flat, per image), log|det| and log p of `n` random inputs on the f64 backend.
fn encode(c: &GlowConfig, p: &Params, n: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut rng = HostRng::new(3);
    let x: Vec<f64> = (0..n * c.dims()).map(|_| rng.uniform() - 0.5).collect();
    let mut m = Glow::from_params(c.clone(), p.clone(), CpuBackend::<f64>::new()).unwrap();
    let e = block_on(m.encode_float(&x, n, None)).unwrap();
    let z = (0..n).flat_map(|i| e.latents.flat(i)).collect();
    (z, e.logdet, e.logp)
}

fn same_function(c: &GlowConfig, p: &Params, depth: usize, hidden: usize) -> (GlowConfig, Params) {
    let (gc, gp) = grow(c, p, depth, hidden, 9).unwrap();
    assert_eq!((gc.depth, gc.hidden), (depth, hidden));
    let what = format!("{:?} {:?} K {} -> {depth}, width {} -> {hidden}", c.coupling, c.permutation, c.depth, c.hidden);
    let (z0, ld0, lp0) = encode(c, p, 3);
    let (z1, ld1, lp1) = encode(&gc, &gp, 3);
    assert_close(&format!("{what}: latents"), &z1, &z0, 1e-12);
    assert_close(&format!("{what}: logdet"), &ld1, &ld0, 1e-12);
    assert_close(&format!("{what}: log p"), &lp1, &lp0, 1e-12);
    (gc, gp)
}

#[test]
fn grown_models_compute_the_same_function() {
    let cases = [
        (Coupling::Affine, Permutation::Invconv),
        (Coupling::Affine, Permutation::InvconvLu),
        (Coupling::Additive, Permutation::Shuffle),
        (Coupling::Affine, Permutation::Reverse),
    ];
    for (i, (coupling, perm)) in cases.into_iter().enumerate() {
        let c = cfg(coupling, perm);
        let p = perturbed(&c, 40 + i as u64, 0.05);
        same_function(&c, &p, 4, 6);
        same_function(&c, &p, 2, 11);
        let (gc, gp) = same_function(&c, &p, 6, 9);
        // grown again: what it grew from is a grown model
        same_function(&gc, &gp, 8, 10);
    }
}

#[test]
fn a_grown_model_decodes_its_encodings_exactly() {
    let c = cfg(Coupling::Affine, Permutation::Invconv);
    let (gc, gp) = grow(&c, &perturbed(&c, 5, 0.05), 4, 10, 1).unwrap();
    let n = 2;
    let img = rand_bytes(8, n * gc.dims());
    let mut m = Glow::from_params(gc.clone(), gp, CpuBackend::<f64>::new()).unwrap();
    let e = block_on(m.encode(&img, n, None)).unwrap();
    let back = block_on(m.decode(&e.latents, None)).unwrap();
    let step = 1u8 << (8 - gc.n_bits);
    assert_eq!(back, img.iter().map(|b| b / step * step).collect::<Vec<_>>());
}

#[test]
fn training_moves_the_new_weights() {
    let c = cfg(Coupling::Affine, Permutation::Invconv);
    let (gc, gp) = grow(&c, &perturbed(&c, 6, 0.05), 4, 10, 2).unwrap();
    let n = 4;
    let img = rand_bytes(12, n * gc.dims());
    let m = Glow::from_params(gc.clone(), gp.clone(), CpuBackend::<f64>::new()).unwrap();
    let mut t = Trainer::new(m, OptConfig::official(1e-3, 100, 1.0, 0)).unwrap();
    let s = block_on(t.step(&img, n, None, 0)).unwrap();
    assert!(!s.skipped && s.bpd.is_finite());
    block_on(t.sync()).unwrap();
    let after = t.model.params();
    let moved =
        |name: &str, at: &[usize]| at.iter().filter(|&&i| gp.get(name).data[i] != after.get(name).data[i]).count();
    // a new step's zero conv (all of it)
    let all: Vec<usize> = (0..gp.get("l0.s3.coupling.conv3.w").data.len()).collect();
    assert!(moved("l0.s3.coupling.conv3.w", &all) > all.len() / 2, "the new step's zero conv did not train");
    // in an old step, conv3's rows of the new hidden channels 6..10 (tap 0), and conv2's rows
    // that read them into the old channels 0..6 (the only ones with a gradient before conv3's
    // new rows move)
    let out = gp.get("l0.s0.coupling.conv3.w").shape[3];
    let rows3: Vec<usize> = (6 * out..10 * out).collect();
    assert!(moved("l0.s0.coupling.conv3.w", &rows3) > rows3.len() / 2, "the new channels' conv3 rows did not train");
    let rows2: Vec<usize> = (6..10).flat_map(|r| (0..6).map(move |co| r * 10 + co)).collect();
    assert!(
        moved("l0.s0.coupling.conv2.w", &rows2) > rows2.len() / 2,
        "conv2's rows of the new channels did not train"
    );
}

#[test]
fn bad_requests_are_refused_with_their_reason() {
    let c = cfg(Coupling::Affine, Permutation::Invconv);
    let p = perturbed(&c, 7, 0.05);
    let err = |r: glowgpu::Result<(GlowConfig, Params)>| r.expect_err("refused").to_string();
    assert!(err(grow(&c, &p, 3, 6, 0)).contains("must be even"));
    assert!(err(grow(&c, &p, 1, 6, 0)).contains("at least"));
    assert!(err(grow(&c, &p, 2, 4, 0)).contains("at least"));
    assert!(err(grow(&c, &p, 2, 1 << 20, 0)).contains("hidden"));
    let h = cfg(Coupling::Affine, Permutation::Householder);
    assert!(err(grow(&h, &perturbed(&h, 1, 0.05), 4, 6, 0)).contains("householder"));
    let mut untrained = p.clone();
    untrained.actnorm_initialized = false;
    assert!(err(grow(&c, &untrained, 4, 6, 0)).contains("untrained"));
    // weights of another model
    assert!(grow(&cfg(Coupling::Additive, Permutation::Invconv), &p, 4, 6, 0).is_err());
}
