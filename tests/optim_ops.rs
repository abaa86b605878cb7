//! The optimizer ops (`src/ops/optim.rs`): the f64 CPU implementation against an independent
//! scalar reference, the shaders against the f64 CPU implementation, clipping, the non-finite
//! guard, and a quadratic minimised on the GPU.
use crate::common;
use common::*;

use std::collections::BTreeMap;

use glowgpu::backend::{Backend, ParamMap};
use glowgpu::graph::{Graph, RunArgs};
use glowgpu::ops::optim::{ema_name, grad_name, m_name, v_name, BiasCorrection, Method, OptBuffers, OptConfig, STATE};
use glowgpu::platform::block_on;
use glowgpu::rng::HostRng;
use glowgpu::CpuBackend;

const ARGS: RunArgs = RunArgs { seed: 7, temperature: 1.0 };
/// Awkward tensor sizes, all in one step.
const SIZES: [usize; 4] = [1, 7, 1000, 4099];

type Tensors = Vec<(String, usize)>;
/// Every optimizer tensor by name.
type State = BTreeMap<String, Vec<f64>>;

fn tensors(sizes: &[usize]) -> Tensors {
    sizes.iter().enumerate().map(|(i, &n)| (format!("t{i}.w"), n)).collect()
}

/// Rounds to f32 so that the GPU (f32) and the CPU (f64) start from the same values.
fn f32r(v: Vec<f64>) -> Vec<f64> {
    v.into_iter().map(|x| x as f32 as f64).collect()
}

/// Random parameters and moments (as after some training: v, u >= 0), the EMA, zero gradients.
fn initial(rng: &mut HostRng, ts: &Tensors) -> State {
    let mut s = State::new();
    for (n, len) in ts {
        s.insert(n.clone(), f32r(randn(rng, *len, 1.0)));
        s.insert(grad_name(n), vec![0.0; *len]);
        s.insert(m_name(n), f32r(randn(rng, *len, 0.01)));
        s.insert(v_name(n), f32r(randn(rng, *len, 0.01).into_iter().map(|x| x * x).collect()));
        s.insert(ema_name(n), f32r(randn(rng, *len, 1.0)));
    }
    s
}

fn to_map(s: &State) -> ParamMap {
    s.iter().map(|(k, v)| (k.clone(), (vec![v.len()], v.clone()))).collect()
}

/// Gradients of `steps` steps for every tensor.
fn random_grads(rng: &mut HostRng, ts: &Tensors, steps: usize, std: f64) -> Vec<Vec<Vec<f64>>> {
    (0..steps).map(|_| ts.iter().map(|(_, n)| f32r(randn(rng, *n, std))).collect()).collect()
}

/// One compiled optimizer step on a backend, run again for every step.
struct Runner<B: Backend> {
    b: B,
    plan: B::Plan,
    bufs: OptBuffers,
    cfg: OptConfig,
    ts: Tensors,
}

impl<B: Backend> Runner<B> {
    fn new(mut b: B, cfg: &OptConfig, ts: &Tensors, init: &State) -> Self {
        let mut params = to_map(init);
        params.extend(cfg.state_params(1));
        b.set_params(&params).unwrap();
        let mut g = Graph::default();
        let bufs = cfg.push_step(&mut g, ts);
        let plan = b.build(g).unwrap();
        Runner { b, plan, bufs, cfg: cfg.clone(), ts: ts.clone() }
    }
    /// Step `t` with the given gradients; returns `[f, skip, norm, Σ g²]`.
    fn step(&mut self, t: u64, grads: &[Vec<f64>]) -> Vec<f64> {
        let mut p = self.cfg.state_params(t);
        for ((n, len), g) in self.ts.iter().zip(grads) {
            p.insert(grad_name(n), (vec![*len], g.clone()));
        }
        self.b.set_params(&p).unwrap();
        block_on(self.b.run(&mut self.plan, vec![], &[self.bufs.clip], ARGS)).unwrap().remove(0).floats()
    }
    fn read(&mut self, names: &[String]) -> State {
        let vals = block_on(self.b.read_params(names)).unwrap();
        names.iter().cloned().zip(vals).collect()
    }
    /// Parameters, moments and averages.
    fn read_all(&mut self) -> State {
        let names: Vec<String> =
            self.ts.iter().flat_map(|(n, _)| [n.clone(), m_name(n), v_name(n), ema_name(n)]).collect();
        self.read(&names)
    }
}

/// The update written out directly from the formulas, one scalar at a time, in f64 with the
/// configuration's f32 hyper-parameters.
fn reference(cfg: &OptConfig, ts: &Tensors, init: &State, grads: &[Vec<Vec<f64>>]) -> State {
    let mut s = init.clone();
    let (b1, b2, eps) = (cfg.beta1 as f64, cfg.beta2 as f64, cfg.eps as f64);
    for (step, gs) in grads.iter().enumerate() {
        let t = (step + 1) as f64;
        let lr_t = if cfg.warmup_steps == 0 { cfg.lr } else { cfg.lr * (t / cfg.warmup_steps as f64).min(1.0) };
        let mut sq = 0.0;
        for g in gs {
            for x in g {
                sq += x * x;
            }
        }
        let norm = sq.sqrt();
        let f = if cfg.max_norm > 0.0 { (cfg.max_norm as f64 / (norm + 1e-6)).min(1.0) } else { 1.0 };
        for ((n, len), g) in ts.iter().zip(gs) {
            for i in 0..*len {
                let gi = f * g[i];
                let m = b1 * s[&m_name(n)][i] + (1.0 - b1) * gi;
                let v_old = s[&v_name(n)][i];
                let v = match cfg.method {
                    Method::Adam => b2 * v_old + (1.0 - b2) * gi * gi,
                    Method::Adamax => (b2 * v_old).max(gi.abs()),
                };
                let denom = match cfg.method {
                    Method::Adam => v.sqrt(),
                    Method::Adamax => v,
                };
                let delta = match (cfg.bias_correction, cfg.method) {
                    (BiasCorrection::Official, _) => {
                        let alpha_t = lr_t * (1.0 - b2.powf(t)).sqrt() / (1.0 - b1.powf(t));
                        alpha_t * m / (denom + eps)
                    }
                    (BiasCorrection::Standard, Method::Adam) => {
                        let m_hat = m / (1.0 - b1.powf(t));
                        let v_hat = v / (1.0 - b2.powf(t));
                        lr_t * m_hat / (v_hat.sqrt() + eps)
                    }
                    (BiasCorrection::Standard, Method::Adamax) => {
                        let m_hat = m / (1.0 - b1.powf(t));
                        lr_t * m_hat / (v + eps)
                    }
                    (BiasCorrection::Off, _) => lr_t * m / (denom + eps),
                };
                s.get_mut(&m_name(n)).unwrap()[i] = m;
                s.get_mut(&v_name(n)).unwrap()[i] = v;
                let th = s[n][i] - delta;
                s.get_mut(n).unwrap()[i] = th;
                if let Some(d) = cfg.ema_decay {
                    let d = d as f64;
                    let e = &mut s.get_mut(&ema_name(n)).unwrap()[i];
                    *e = d * *e + (1.0 - d) * th;
                }
            }
        }
    }
    s
}

fn config(method: Method, bc: BiasCorrection, max_norm: f32) -> OptConfig {
    OptConfig {
        method,
        bias_correction: bc,
        lr: 0.01,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        warmup_steps: 3,
        max_norm,
        ema_decay: Some(0.99),
        ..Default::default()
    }
}

/// Every combination of method, bias correction and clipping (`max_norm` below the gradients'
/// norms, about 3·sqrt(5106) ≈ 214, so that it is active).
fn all_configs() -> Vec<OptConfig> {
    let mut out = Vec::new();
    for method in [Method::Adam, Method::Adamax] {
        for bc in [BiasCorrection::Official, BiasCorrection::Standard, BiasCorrection::Off] {
            for max_norm in [0.0, 150.0] {
                out.push(config(method, bc, max_norm));
            }
        }
    }
    out
}

#[test]
fn cpu_matches_scalar_reference() {
    let ts = tensors(&SIZES);
    for (k, cfg) in all_configs().into_iter().enumerate() {
        for block in [16384, 100] {
            let cfg = OptConfig { sumsq_block: block, ..cfg.clone() };
            let mut rng = HostRng::new(100 + k as u64);
            let init = initial(&mut rng, &ts);
            let grads = random_grads(&mut rng, &ts, 5, 3.0);
            let mut r = Runner::new(CpuBackend::<f64>::new(), &cfg, &ts, &init);
            for (s, g) in grads.iter().enumerate() {
                let clip = r.step(s as u64 + 1, g);
                assert_eq!(clip[1], 0.0, "finite step flagged");
                if cfg.max_norm > 0.0 {
                    assert!(clip[0] < 0.9, "clipping inactive: factor {}", clip[0]);
                } else {
                    assert_eq!(clip[0], 1.0);
                }
            }
            let got = r.read_all();
            let want = reference(&cfg, &ts, &init, &grads);
            for (name, g) in &got {
                // max-norm relative error: max_i |got_i − want_i| / max_i |want_i|
                let w = &want[name];
                let scale = w.iter().fold(0.0f64, |a, x| a.max(x.abs()));
                let (i, err) = g.iter().zip(w).map(|(a, b)| (a - b).abs()).enumerate().fold((0, 0.0), |m, e| {
                    if e.1 > m.1 {
                        e
                    } else {
                        m
                    }
                });
                assert!(
                    err <= 1e-12 * scale,
                    "{cfg:?} {name}[{i}]: {} vs reference {}: error {:.2e} of max |value| {scale:.3e}",
                    g[i],
                    w[i],
                    err / scale
                );
            }
        }
    }
}

#[test]
fn schedule_and_state() {
    let cfg = OptConfig { lr: 0.5, warmup_steps: 4, ..config(Method::Adam, BiasCorrection::Standard, 0.0) };
    assert_eq!(cfg.lr_at(1), 0.125);
    assert_eq!(cfg.lr_at(4), 0.5);
    assert_eq!(cfg.lr_at(100), 0.5);
    let s = cfg.state(2);
    assert_eq!(s[0], 2.0);
    assert_eq!(s[1], 0.25);
    let (b1, b2) = (0.9f32 as f64, 0.999f32 as f64);
    assert!((s[2] - 0.25 / (1.0 - b1 * b1)).abs() < 1e-15);
    assert!((s[3] - 1.0 / (1.0 - b2 * b2).sqrt()).abs() < 1e-12);
    assert_eq!(cfg.state_params(2)[STATE].1, s.to_vec());
    let off = OptConfig { warmup_steps: 0, ..cfg };
    assert_eq!(off.lr_at(1), 0.5);
    let official = OptConfig::official(1e-3, 1000, 1.0, 10);
    assert_eq!(official.method, Method::Adamax);
    assert_eq!(official.beta2, 0.999f32);
    assert_eq!(official.ema_decay, Some(0.999f32));
}

#[test]
fn gpu_matches_cpu_f64() {
    let ts = tensors(&SIZES);
    let mut gpu_backend = Some(gpu());
    for (k, cfg) in all_configs().into_iter().enumerate() {
        // a small block: several workgroups (slot pairs) per tensor
        let cfg = OptConfig { sumsq_block: if k % 2 == 0 { 256 } else { 16384 }, ..cfg };
        let mut rng = HostRng::new(200 + k as u64);
        let init = initial(&mut rng, &ts);
        let grads = random_grads(&mut rng, &ts, 3, 3.0);
        let mut cpu = Runner::new(CpuBackend::<f64>::new(), &cfg, &ts, &init);
        let mut gpu = Runner::new(gpu_backend.take().unwrap(), &cfg, &ts, &init);
        for (s, g) in grads.iter().enumerate() {
            let want = cpu.step(s as u64 + 1, g);
            let got = gpu.step(s as u64 + 1, g);
            assert_eq!(got[1], 0.0);
            assert_close(&format!("{cfg:?} clip step {s}"), &got, &want, 1e-5);
        }
        let (want, got) = (cpu.read_all(), gpu.read_all());
        for (name, w) in &want {
            assert_close(&format!("{:?} {:?} {name}", cfg.method, cfg.bias_correction), &got[name], w, 1e-5);
        }
        gpu_backend = Some(gpu.b);
    }
}

/// With `max_norm` below the global norm, the gradient the moments see has norm `max_norm`:
/// after one step from zero moments, `m = (1 − β1) · g_eff`.
#[test]
fn clipping_bounds_the_global_norm() {
    let ts = tensors(&SIZES);
    let mut rng = HostRng::new(300);
    let mut init = initial(&mut rng, &ts);
    for (n, len) in &ts {
        init.insert(m_name(n), vec![0.0; *len]);
    }
    let grads = random_grads(&mut rng, &ts, 1, 2.0);
    let norm: f64 = grads[0].iter().flatten().map(|x| x * x).sum::<f64>().sqrt();
    let max_norm = 10.0f32;
    assert!(norm > 10.0 * max_norm as f64);
    let cfg = config(Method::Adamax, BiasCorrection::Official, max_norm);
    let check = |clip: Vec<f64>, st: State, what: &str| {
        assert!((clip[2] - norm).abs() <= 1e-5 * norm, "{what}: norm {} vs {norm}", clip[2]);
        assert!(clip[0] < 1.0);
        let b1 = cfg.beta1 as f64;
        let eff: f64 =
            ts.iter().flat_map(|(n, _)| st[&m_name(n)].iter().map(|m| (m / (1.0 - b1)).powi(2))).sum::<f64>().sqrt();
        let rel = (eff - max_norm as f64).abs() / max_norm as f64;
        assert!(rel <= 1e-5, "{what}: effective gradient norm {eff} vs max_norm {max_norm} (rel {rel:.2e})");
    };
    let mut cpu = Runner::new(CpuBackend::<f64>::new(), &cfg, &ts, &init);
    let clip = cpu.step(1, &grads[0]);
    check(clip, cpu.read_all(), "cpu");
    let mut g = Runner::new(gpu(), &cfg, &ts, &init);
    let clip = g.step(1, &grads[0]);
    check(clip, g.read_all(), "gpu");
    // a norm below the threshold is left alone
    let cfg = config(Method::Adamax, BiasCorrection::Official, (2.0 * norm) as f32);
    let mut g = Runner::new(gpu(), &cfg, &ts, &init);
    assert_eq!(g.step(1, &grads[0])[0], 1.0);
}

fn bits(s: &State) -> BTreeMap<String, Vec<u64>> {
    s.iter().map(|(k, v)| (k.clone(), v.iter().map(|x| x.to_bits()).collect())).collect()
}

/// A NaN or an infinity in one tensor's gradient sets the flag and leaves every parameter,
/// moment and average bit-identical; the next finite step goes through.
fn non_finite_case<B: Backend>(make: impl Fn() -> B, what: &str) {
    let ts = tensors(&SIZES);
    let mut rng = HostRng::new(400);
    let init = initial(&mut rng, &ts);
    let grads = random_grads(&mut rng, &ts, 2, 1.0);
    for method in [Method::Adam, Method::Adamax] {
        let cfg = OptConfig { sumsq_block: 256, ..config(method, BiasCorrection::Standard, 5.0) };
        let mut r = Runner::new(make(), &cfg, &ts, &init);
        assert_eq!(r.step(1, &grads[0])[1], 0.0);
        let before = r.read_all();
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            for (k, at) in [(2usize, 500usize), (0, 0), (3, 4098)] {
                let mut g = grads[1].clone();
                g[k][at] = bad;
                let clip = r.step(2, &g);
                assert_eq!(clip[1], 1.0, "{what} {method:?}: {bad} in tensor {k} not flagged");
                assert_eq!(bits(&r.read_all()), bits(&before), "{what} {method:?}: {bad} changed the state");
            }
        }
        let clip = r.step(2, &grads[1]);
        assert_eq!(clip[1], 0.0, "{what}: flag stuck");
        let after = r.read_all();
        for (n, _) in &ts {
            assert_ne!(after[n], before[n], "{what}: finite step after a skipped one did nothing");
        }
    }
}

#[test]
fn non_finite_gradient_skips_the_step_cpu() {
    non_finite_case(CpuBackend::<f64>::new, "cpu");
}

#[test]
fn non_finite_gradient_skips_the_step_gpu() {
    non_finite_case(gpu, "gpu");
}

/// Σ (θ − target)² with host gradients `2 (θ − target)`, 200 Adam steps on the GPU. The
/// offsets `target − θ₀` have magnitudes in [0.5, 2]: Adam is scale-free, so a coordinate that
/// starts within ~lr of its target is kicked past it by ~lr and rings for long.
#[test]
fn adam_minimises_a_quadratic_on_gpu() {
    let ts = tensors(&[7, 1000]);
    let mut rng = HostRng::new(500);
    let mut init = State::new();
    let mut targets = Vec::new();
    for (n, len) in &ts {
        let theta = f32r(randn(&mut rng, *len, 1.0));
        let target = theta
            .iter()
            .map(|x| {
                let mag = 0.5 + 1.5 * rng.uniform();
                if rng.uniform() < 0.5 {
                    x - mag
                } else {
                    x + mag
                }
            })
            .collect();
        targets.push(f32r(target));
        for name in [grad_name(n), m_name(n), v_name(n)] {
            init.insert(name, vec![0.0; *len]);
        }
        init.insert(ema_name(n), theta.clone());
        init.insert(n.clone(), theta);
    }
    let cfg = OptConfig {
        method: Method::Adam,
        bias_correction: BiasCorrection::Standard,
        lr: 0.05,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        warmup_steps: 10,
        max_norm: 0.0,
        ema_decay: Some(0.99),
        ..Default::default()
    };
    let mut r = Runner::new(gpu(), &cfg, &ts, &init);
    let names: Vec<String> = ts.iter().map(|(n, _)| n.clone()).collect();
    let mut theta: Vec<Vec<f64>> = ts.iter().map(|(n, _)| init[n].clone()).collect();
    let dist = |theta: &[Vec<f64>]| {
        theta.iter().zip(&targets).flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y).abs())).fold(0.0, f64::max)
    };
    let start = dist(&theta);
    for t in 1..=200u64 {
        let g: Vec<Vec<f64>> =
            theta.iter().zip(&targets).map(|(a, b)| a.iter().zip(b).map(|(x, y)| 2.0 * (x - y)).collect()).collect();
        assert_eq!(r.step(t, &g)[1], 0.0);
        let st = r.read(&names);
        theta = names.iter().map(|n| st[n].clone()).collect();
    }
    let end = dist(&theta);
    assert!(end <= 1e-3, "max |θ − target| = {end:.3e} after 200 steps (from {start:.3})");
}
