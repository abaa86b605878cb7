//! Whole-model gradients and training: the reversible backward pass against finite differences
//! of the loss (f64), the GPU against the f64 CPU backend, and optimizer steps that lower the loss.
use crate::common;
use common::*;

use glowgpu::backend::{Backend, Host, ParamMap};
use glowgpu::graph::RunArgs;
use glowgpu::model::bpd;
use glowgpu::ops::optim::{grad_name, OptConfig};
use glowgpu::platform::block_on;
use glowgpu::rng::HostRng;
use glowgpu::train::{optimizer_init, stage_graph, trainable_tensors, Mode, Stage, Trainer};
use glowgpu::{Coupling, CpuBackend, Glow, GlowConfig, Params, Permutation};

fn tiny(perm: Permutation, coupling: Coupling, c: usize) -> GlowConfig {
    GlowConfig {
        image_height: 8,
        image_width: 4,
        image_channels: c,
        levels: 2,
        depth: 2,
        hidden: 5,
        coupling,
        permutation: perm,
        learn_top: true,
        n_classes: 0,
        n_bits: 5,
    }
}

fn opt() -> OptConfig {
    OptConfig::official(1e-3, 100, 1.0, 0)
}

/// Parameters, derived tensors and optimizer tensors as a backend takes them.
fn full_map(cfg: &GlowConfig, p: &Params) -> ParamMap {
    let mut m = p.with_derived(cfg);
    m.extend(optimizer_init(cfg, p, &opt()));
    m
}

/// Mean bits/dim of the batch under the parameter values in `m`.
fn loss<B: Backend>(b: &mut B, cfg: &GlowConfig, m: &ParamMap, img: &[u8], n: usize, seed: u64) -> f64 {
    b.set_params(m).unwrap();
    let (g, io) = stage_graph(cfg, n, &opt(), &[], Stage::Loss, Mode::Reversible, 0.0);
    let mut plan = b.build(g).unwrap();
    let r = block_on(b.run(
        &mut plan,
        vec![(io.enc.input, Host::U8(img.to_vec()))],
        &[io.enc.logdet, io.enc.logp],
        RunArgs { seed, temperature: 1.0 },
    ))
    .unwrap();
    let v = bpd(cfg, &r[0].clone().floats(), &r[1].clone().floats());
    v.iter().sum::<f64>() / n as f64
}

/// Gradients of every trainable tensor (name order).
fn grads<B: Backend>(
    b: &mut B,
    cfg: &GlowConfig,
    p: &Params,
    img: &[u8],
    n: usize,
    seed: u64,
    mode: Mode,
) -> Vec<(String, Vec<f64>)> {
    b.set_params(&full_map(cfg, p)).unwrap();
    let tensors = trainable_tensors(cfg, p);
    let (g, io) = stage_graph(cfg, n, &opt(), &tensors, Stage::Gradient, mode, 0.0);
    let mut plan = b.build(g).unwrap();
    block_on(b.run(&mut plan, vec![(io.enc.input, Host::U8(img.to_vec()))], &[], RunArgs { seed, temperature: 1.0 }))
        .unwrap();
    let names: Vec<String> = tensors.iter().map(|(t, _)| grad_name(t)).collect();
    let vals = block_on(b.read_params(&names)).unwrap();
    tensors.into_iter().map(|(t, _)| t).zip(vals).collect()
}

fn check_against_finite_differences(cfg: GlowConfig) {
    let p = perturbed(&cfg, 5, 0.1);
    let n = 2;
    let img = rand_bytes(9, n * cfg.dims());
    let seed = 3;
    let mut cpu = CpuBackend::<f64>::new();
    let gr = grads(&mut cpu, &cfg, &p, &img, n, seed, Mode::Reversible);
    let base = full_map(&cfg, &p);
    let mut rng = HostRng::new(1);
    let h = 1e-5;
    let mut nonzero = 0;
    for (name, g) in &gr {
        for _ in 0..2 {
            let i = (rng.uniform() * g.len() as f64) as usize;
            let mut mp = base.clone();
            mp.get_mut(name).unwrap().1[i] += h;
            let lp = loss(&mut cpu, &cfg, &mp, &img, n, seed);
            let mut mm = base.clone();
            mm.get_mut(name).unwrap().1[i] -= h;
            let lm = loss(&mut cpu, &cfg, &mm, &img, n, seed);
            let want = (lp - lm) / (2.0 * h);
            // per element: relative 1e-6 with an absolute floor of 1e-8 (the f64 central
            // difference's own error is ~1e-10 here), so a small tensor cannot hide
            let err = (g[i] - want).abs();
            assert!(
                err <= 1e-6 * want.abs() + 1e-8,
                "{:?}/{:?}: d loss / d {name}[{i}] = {} but finite differences give {want} (error {err:.3e})",
                cfg.permutation,
                cfg.coupling,
                g[i]
            );
            nonzero += (want.abs() > 1e-6) as usize;
        }
    }
    assert!(nonzero > gr.len(), "most sampled gradients must be non-zero ({nonzero} of {})", 2 * gr.len());
}

#[test]
fn gradients_match_finite_differences_invconv_affine() {
    check_against_finite_differences(tiny(Permutation::Invconv, Coupling::Affine, 3));
}

#[test]
fn gradients_match_finite_differences_lu_additive() {
    check_against_finite_differences(tiny(Permutation::InvconvLu, Coupling::Additive, 1));
}

#[test]
fn gradients_match_finite_differences_shuffle_and_reverse() {
    check_against_finite_differences(tiny(Permutation::Shuffle, Coupling::Affine, 1));
    check_against_finite_differences(tiny(Permutation::Reverse, Coupling::Affine, 1));
}

#[test]
fn gradients_match_finite_differences_householder() {
    check_against_finite_differences(tiny(Permutation::Householder, Coupling::Affine, 3));
}

#[test]
fn gpu_gradients_match_cpu() {
    for (perm, coupling) in [
        (Permutation::Invconv, Coupling::Affine),
        (Permutation::InvconvLu, Coupling::Additive),
        (Permutation::Householder, Coupling::Affine),
    ] {
        let cfg = tiny(perm, coupling, 3);
        let p = perturbed(&cfg, 6, 0.1);
        let n = 3;
        let img = rand_bytes(10, n * cfg.dims());
        let want = grads(&mut CpuBackend::<f64>::new(), &cfg, &p, &img, n, 4, Mode::Reversible);
        let got = grads(&mut gpu(), &cfg, &p, &img, n, 4, Mode::Reversible);
        let all_w: Vec<f64> = want.iter().flat_map(|(_, v)| v.iter().copied()).collect();
        let all_g: Vec<f64> = got.iter().flat_map(|(_, v)| v.iter().copied()).collect();
        assert_close(&format!("{perm:?}: all gradients"), &all_g, &all_w, 1e-4);
        // per tensor: relative 1e-4 of the tensor's own norm (measured at most 1.9e-6; the
        // smallest tensor norm here is 1.4e-3), with an absolute floor of 1e-7 for a tensor
        // whose gradient is zero, so a wrong small tensor cannot hide in the pooled error
        let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
        for ((name, w), (_, g)) in want.iter().zip(&got) {
            let d: Vec<f64> = w.iter().zip(g).map(|(a, b)| a - b).collect();
            let (e, wn) = (norm(&d), norm(w));
            assert!(e <= 1e-4 * wn + 1e-7, "{perm:?}: gradient of {name}: error {e:.3e}, norm {wn:.3e}");
        }
    }
}

fn steps_lower_the_loss<B: Backend>(backend: B) {
    let cfg = tiny(Permutation::Invconv, Coupling::Affine, 3);
    let n = 4;
    let img = rand_bytes(11, n * cfg.dims());
    let mut m = Glow::new(cfg.clone(), backend, 7).unwrap();
    block_on(m.init_actnorm(&img, n, 1)).unwrap();
    let mut t = Trainer::new(m, OptConfig::official(1e-2, 100, 1.0, 0)).unwrap();
    let first = block_on(t.step(&img, n, None, 0)).unwrap();
    let mut last = first.clone();
    for i in 1..30 {
        last = block_on(t.step(&img, n, None, i)).unwrap();
        assert!(!last.skipped && last.bpd.is_finite() && last.grad_norm > 0.0);
    }
    assert!(last.bpd < first.bpd - 0.3, "bits/dim {:.3} -> {:.3}", first.bpd, last.bpd);
    // the model's own evaluation agrees with the trainer's loss after syncing
    block_on(t.sync()).unwrap();
    let ev = block_on(t.model.bits_per_dim(&img, n, None, 99)).unwrap();
    let mean = ev.iter().sum::<f64>() / n as f64;
    assert!((mean - last.bpd).abs() < 0.3, "eval {mean:.3} vs last step {:.3}", last.bpd);
    assert_eq!(t.t, 30);
}

#[test]
fn optimizer_steps_lower_the_loss_on_cpu() {
    steps_lower_the_loss(CpuBackend::<f32>::new());
}

#[test]
fn optimizer_steps_lower_the_loss_on_gpu() {
    steps_lower_the_loss(gpu());
}

#[test]
fn reversible_stored_and_kept_net_modes_give_the_same_gradients() {
    // deeper than the other tests, so inversion error would accumulate if there were any
    let mut cfg = tiny(Permutation::Invconv, Coupling::Affine, 3);
    cfg.depth = 6;
    let p = perturbed(&cfg, 8, 0.1);
    let n = 2;
    let img = rand_bytes(12, n * cfg.dims());
    let mut gpu_backend = gpu();
    for gpu_run in [false, true] {
        let mut c = CpuBackend::<f64>::new();
        let mut g = |mode| {
            if gpu_run {
                grads(&mut gpu_backend, &cfg, &p, &img, n, 5, mode)
            } else {
                grads(&mut c, &cfg, &p, &img, n, 5, mode)
            }
        };
        let rev = g(Mode::Reversible);
        for mode in [Mode::Stored, Mode::KeepNets] {
            let other = g(mode);
            assert_eq!(rev.len(), other.len());
            for ((name, a), (name_b, b)) in rev.iter().zip(&other) {
                assert_eq!(name, name_b);
                let what = format!("{} reversible vs {mode:?}: {name}", if gpu_run { "GPU" } else { "CPU f64" });
                assert_close(&what, a, b, if gpu_run { 1e-4 } else { 1e-10 });
            }
        }
    }
}

fn onehot(labels: &[u32], nc: usize) -> Vec<f64> {
    let mut v = vec![0.0; labels.len() * nc];
    for (i, &y) in labels.iter().enumerate() {
        v[i * nc + y as usize] = 1.0;
    }
    v
}

/// bits/dim + weight_y · cross-entropy in bits, batch mean, for a class-conditional model.
fn loss_y(b: &mut CpuBackend<f64>, cfg: &GlowConfig, m: &ParamMap, img: &[u8], labels: &[u32], wy: f64) -> f64 {
    let n = labels.len();
    b.set_params(m).unwrap();
    let (g, io) = stage_graph(cfg, n, &opt(), &[], Stage::Loss, Mode::Reversible, wy);
    let mut plan = b.build(g).unwrap();
    let inputs =
        vec![(io.enc.input, Host::U8(img.to_vec())), (io.enc.labels.unwrap(), Host::F(onehot(labels, cfg.n_classes)))];
    let outs = [io.enc.logdet, io.enc.logp, io.enc.logits.unwrap()];
    let r = block_on(b.run(&mut plan, inputs, &outs, RunArgs { seed: 2, temperature: 1.0 })).unwrap();
    let bits = bpd(cfg, &r[0].clone().floats(), &r[1].clone().floats());
    let lg = r[2].clone().floats();
    let nc = cfg.n_classes;
    let ce: f64 = (0..n)
        .map(|i| {
            let row = &lg[i * nc..(i + 1) * nc];
            let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let z: f64 = row.iter().map(|v| (v - m).exp()).sum();
            -(row[labels[i] as usize] - m - z.ln())
        })
        .sum();
    (bits.iter().sum::<f64>() + wy * ce / std::f64::consts::LN_2) / n as f64
}

fn grads_y<B: Backend>(
    b: &mut B,
    cfg: &GlowConfig,
    p: &Params,
    img: &[u8],
    labels: &[u32],
    wy: f64,
) -> Vec<(String, Vec<f64>)> {
    let n = labels.len();
    b.set_params(&full_map(cfg, p)).unwrap();
    let tensors = trainable_tensors(cfg, p);
    let (g, io) = stage_graph(cfg, n, &opt(), &tensors, Stage::Gradient, Mode::Reversible, wy);
    let mut plan = b.build(g).unwrap();
    let inputs =
        vec![(io.enc.input, Host::U8(img.to_vec())), (io.enc.labels.unwrap(), Host::F(onehot(labels, cfg.n_classes)))];
    block_on(b.run(&mut plan, inputs, &[], RunArgs { seed: 2, temperature: 1.0 })).unwrap();
    let names: Vec<String> = tensors.iter().map(|(t, _)| grad_name(t)).collect();
    let vals = block_on(b.read_params(&names)).unwrap();
    tensors.into_iter().map(|(t, _)| t).zip(vals).collect()
}

#[test]
fn class_conditional_gradients_match_finite_differences() {
    let mut cfg = tiny(Permutation::Invconv, Coupling::Affine, 3);
    cfg.n_classes = 3;
    let p = perturbed(&cfg, 9, 0.1);
    let labels = [0u32, 2, 1];
    let img = rand_bytes(13, labels.len() * cfg.dims());
    let wy = 0.7;
    let mut cpu = CpuBackend::<f64>::new();
    let gr = grads_y(&mut cpu, &cfg, &p, &img, &labels, wy);
    let base = full_map(&cfg, &p);
    let mut rng = HostRng::new(4);
    let (mut got, mut want) = (Vec::new(), Vec::new());
    let h = 1e-5;
    for (name, g) in &gr {
        // every class-head and class-embedding entry, a few of the others
        let all = name.starts_with("classifier.") || name.starts_with("top.y_emb.");
        let idx: Vec<usize> = if all {
            (0..g.len()).collect()
        } else {
            (0..1).map(|_| (rng.uniform() * g.len() as f64) as usize).collect()
        };
        for i in idx {
            let mut mp = base.clone();
            mp.get_mut(name).unwrap().1[i] += h;
            let lp = loss_y(&mut cpu, &cfg, &mp, &img, &labels, wy);
            let mut mm = base.clone();
            mm.get_mut(name).unwrap().1[i] -= h;
            let lm = loss_y(&mut cpu, &cfg, &mm, &img, &labels, wy);
            want.push((lp - lm) / (2.0 * h));
            got.push(g[i]);
        }
    }
    let e = rel_err(&got, &want);
    assert!(e < 1e-6, "class-conditional gradient vs finite differences: relative error {e:.3e}");
    let gg = grads_y(&mut gpu(), &cfg, &p, &img, &labels, wy);
    let a: Vec<f64> = gg.iter().flat_map(|(_, v)| v.iter().copied()).collect();
    let b: Vec<f64> = gr.iter().flat_map(|(_, v)| v.iter().copied()).collect();
    assert_close("class-conditional GPU gradients", &a, &b, 1e-4);
}
